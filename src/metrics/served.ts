// What the canary and the primary served since the run's traffic start: requests, 5xx and (with a
// latency threshold) requests slower than it. One or two queries; the numbers feed the harm count and
// the sequential judge.
import type { ServedCounts } from "../core/world.js";
import { bucketsByWorkload, type PairScope, requestsByWorkloadAndCode } from "./istio-queries.js";
import type { PrometheusClient, VectorSample } from "./prometheus-client.js";

export interface ServedScope {
  namespace: string;
  canary: string;
  primary: string;
  /** the PromQL range since the traffic start, e.g. "95s" */
  window: string;
  /** a request-duration threshold: requests above the histogram bucket at or above it are slow */
  slowerThanMs?: number;
}

export type ServedAnswer = { ok: true; served: ServedCounts } | { ok: false; error: string };

const isServerError = (code: string | undefined): boolean => code?.startsWith("5") === true;

function countRequests(samples: VectorSample[], workload: string): { requests: number; errors: number } {
  let requests = 0;
  let errors = 0;
  for (const s of samples) {
    if (s.labels.destination_workload !== workload || !Number.isFinite(s.value)) continue;
    requests += s.value;
    if (isServerError(s.labels.response_code)) errors += s.value;
  }
  return { requests, errors };
}

/**
 * The smallest bucket boundary at or above the threshold: requests above it are surely slower than the
 * threshold (requests between the two are not counted, so the slow count never overstates).
 */
export function slowBoundary(samples: VectorSample[], thresholdMs: number): number | undefined {
  const bounds = samples
    .map((s) => Number(s.labels.le))
    .filter((le) => Number.isFinite(le) && le >= thresholdMs)
    .sort((a, b) => a - b);
  return bounds[0];
}

function countSlow(samples: VectorSample[], workload: string, boundary: number): number {
  let all = 0;
  let fast = 0;
  for (const s of samples) {
    if (s.labels.destination_workload !== workload || !Number.isFinite(s.value)) continue;
    const le = s.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    if (le === Number.POSITIVE_INFINITY) all += s.value;
    else if (le === boundary) fast += s.value;
  }
  return Math.max(0, all - fast);
}

export async function readServed(
  client: PrometheusClient,
  scope: ServedScope,
  now: Date,
  signal?: AbortSignal,
): Promise<ServedAnswer> {
  const pair: PairScope = {
    namespace: scope.namespace,
    workloads: [scope.canary, scope.primary],
    window: scope.window,
  };
  const wantSlow = scope.slowerThanMs !== undefined;
  const [requests, buckets] = await Promise.all([
    client.queryVector(requestsByWorkloadAndCode(pair), { signal }),
    wantSlow ? client.queryVector(bucketsByWorkload(pair), { signal }) : Promise.resolve(undefined),
  ]);
  if (!requests.ok) return requests;
  const canary = countRequests(requests.samples, scope.canary);
  const primary = countRequests(requests.samples, scope.primary);
  const served: ServedCounts = { at: now, canary, primary };
  if (buckets?.ok && scope.slowerThanMs !== undefined) {
    const boundary = slowBoundary(buckets.samples, scope.slowerThanMs);
    if (boundary !== undefined) {
      served.slowerThanMs = boundary;
      served.canary = { ...canary, slow: countSlow(buckets.samples, scope.canary, boundary) };
      served.primary = { ...primary, slow: countSlow(buckets.samples, scope.primary, boundary) };
    }
  }
  return { ok: true, served };
}
