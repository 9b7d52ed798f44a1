// What the canary and the primary served since the run's traffic start: requests, 5xx and (with a
// latency threshold) requests slower than it. One or two queries on the raw counters (istio-queries.ts
// requestsSince); the numbers feed the harm count, the sequential judge and its promotion gate.
import type { Served, ServedCounts } from "../core/world.js";
import { bucketsSince, requestsSince, type SinceScope } from "./istio-queries.js";
import type { PrometheusClient, VectorSample } from "./prometheus-client.js";

export interface ServedScope {
  namespace: string;
  canary: string;
  primary: string;
  /** the run's traffic start */
  since: Date;
  /** a request-duration threshold: requests above the last histogram bucket at or below it are slow */
  slowerThanMs?: number;
  /** evaluate at this time (Prometheus' `time=`) instead of Prometheus' now (replay); the controller leaves it unset */
  evaluateAt?: Date;
}

export type ServedAnswer = { ok: true; served: ServedCounts } | { ok: false; error: string };

const isServerError = (code: string | undefined): boolean => code?.startsWith("5") === true;

function countRequests(samples: VectorSample[], workload: string): Served {
  let requests = 0;
  let errors = 0;
  for (const s of samples) {
    if (s.labels.destination_workload !== workload || !Number.isFinite(s.value)) continue;
    requests += s.value;
    if (isServerError(s.labels.response_code)) errors += s.value;
  }
  return { requests, errors };
}

const boundsOf = (samples: VectorSample[], workload: string): number[] =>
  samples
    .filter((s) => s.labels.destination_workload === workload)
    .map((s) => Number(s.labels.le))
    .filter((le) => Number.isFinite(le));

/**
 * The largest bucket boundary at or below the threshold: every request above it may be slower than the
 * threshold, so the slow count never understates (a promotion on "fewer than 1% slow" is then safe).
 */
export function slowBoundary(samples: VectorSample[], thresholdMs: number): number | undefined {
  const bounds = samples
    .map((s) => Number(s.labels.le))
    .filter((le) => Number.isFinite(le) && le <= thresholdMs)
    .sort((a, b) => b - a);
  return bounds[0];
}

function countSlow(samples: VectorSample[], workload: string, boundary: number): number {
  let all = 0;
  let fast = 0;
  for (const s of samples) {
    if (s.labels.destination_workload !== workload || !Number.isFinite(s.value)) continue;
    if (s.labels.le === "+Inf") all += s.value;
    else if (Number(s.labels.le) === boundary) fast += s.value;
  }
  return Math.max(0, all - fast);
}

/**
 * Slow counts for both workloads against the canary's boundary, or none when the primary's histogram
 * has no such bucket (other bucket layouts): comparing unlike counts would invent a regression.
 */
function slowCounts(
  samples: VectorSample[],
  scope: ServedScope,
  thresholdMs: number,
): { boundary: number; canary: number; primary: number } | undefined {
  const canaryBounds = samples.filter((s) => s.labels.destination_workload === scope.canary);
  const boundary = slowBoundary(canaryBounds, thresholdMs);
  if (boundary === undefined) return undefined;
  const primaryHas = boundsOf(samples, scope.primary);
  if (primaryHas.length > 0 && !primaryHas.includes(boundary)) return undefined;
  return {
    boundary,
    canary: countSlow(samples, scope.canary, boundary),
    primary: countSlow(samples, scope.primary, boundary),
  };
}

export async function readServed(
  client: PrometheusClient,
  scope: ServedScope,
  now: Date,
  signal?: AbortSignal,
): Promise<ServedAnswer> {
  const since: SinceScope = {
    namespace: scope.namespace,
    workloads: [scope.canary, scope.primary],
    since: scope.since,
  };
  const threshold = scope.slowerThanMs;
  const options = { signal, ...(scope.evaluateAt !== undefined ? { time: scope.evaluateAt } : {}) };
  const [requests, buckets] = await Promise.all([
    client.queryVector(requestsSince(since), options),
    threshold !== undefined ? client.queryVector(bucketsSince(since), options) : Promise.resolve(undefined),
  ]);
  if (!requests.ok) return requests;
  const served: ServedCounts = {
    at: now,
    canary: countRequests(requests.samples, scope.canary),
    primary: countRequests(requests.samples, scope.primary),
  };
  const slow =
    buckets?.ok && threshold !== undefined ? slowCounts(buckets.samples, scope, threshold) : undefined;
  if (slow) {
    served.slowerThanMs = slow.boundary;
    served.canary.slow = slow.canary;
    served.primary.slow = slow.primary;
  }
  return { ok: true, served };
}
