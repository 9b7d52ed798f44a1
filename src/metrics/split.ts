// What canary and primary served since the current step, for the traffic split check (core/split): one
// query on istio_requests_total as the destination sidecars report it (the built-in checks' reporter), by
// destination workload, from the sources the weighted route applies to.
import type { SplitPlan } from "../core/split/plan.js";
import type { ObservedSplit, SplitUnavailable } from "../core/world.js";
import { requestsAfter } from "./istio-queries.js";
import type { PrometheusClient, VectorSample } from "./prometheus-client.js";

export interface SplitScope {
  namespace: string;
  canary: string;
  primary: string;
  plan: Extract<SplitPlan, { kind: "verify" }>;
}

const sum = (samples: VectorSample[], workload: string): number =>
  samples
    .filter((s) => s.labels.destination_workload === workload && Number.isFinite(s.value))
    .reduce((total, s) => total + Math.max(0, s.value), 0);

function sourceMatchers(plan: SplitScope["plan"]): Record<string, string> {
  const s = plan.sources;
  return {
    ...(s?.app !== undefined ? { source_app: s.app } : {}),
    ...(s?.version !== undefined ? { source_version: s.version } : {}),
    ...(s?.namespace !== undefined ? { source_workload_namespace: s.namespace } : {}),
  };
}

export async function readSplit(
  client: PrometheusClient,
  scope: SplitScope,
  now: Date,
  signal?: AbortSignal,
): Promise<ObservedSplit | SplitUnavailable> {
  const seconds = Math.floor((now.getTime() - scope.plan.from.getTime()) / 1000);
  // Not a second of settled traffic yet: nothing to count (a verdict of too few requests).
  if (seconds < 1) return { at: now, canary: 0, primary: 0 };
  const query = requestsAfter({
    namespace: scope.namespace,
    workloads: [scope.canary, scope.primary],
    seconds,
    sources: sourceMatchers(scope.plan),
  });
  const answer = await client.queryVector(query, { signal });
  if (!answer.ok) return { at: now, error: answer.error };
  return { at: now, canary: sum(answer.samples, scope.canary), primary: sum(answer.samples, scope.primary) };
}
