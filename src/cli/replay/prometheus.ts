// The replay's metric answers from a real Prometheus: the controller's own check and served-count code
// (src/metrics/run-checks.ts, served.ts), every query evaluated at the replay's virtual time (`time=`).
// The CLI talks to Prometheus directly, from the user's machine (an in-cluster one: kubectl port-forward).
import type { RunRecord } from "../../api/canary.js";
import { type EffectiveSpec, latencyThresholdMs } from "../../api/defaults.js";
import type { MetricTemplate } from "../../api/metric-template.js";
import type { MetricResult, ServedCounts, ServedUnavailable } from "../../core/world.js";
import { PrometheusClientCache } from "../../metrics/client-cache.js";
import { PrometheusClient } from "../../metrics/prometheus-client.js";
import { runMetricChecks } from "../../metrics/run-checks.js";
import type { SecretReader } from "../../metrics/secret-data.js";
import { readServed } from "../../metrics/served.js";
import { CliError } from "../errors.js";
import type { MetricAnswers } from "./types.js";

/** The environment variable naming Prometheus when --prometheus is not given. */
export const PROMETHEUS_ENV = "SERIN_PROMETHEUS_URL";

/**
 * Where Prometheus is, and what said so (for messages): --prometheus, else $SERIN_PROMETHEUS_URL, else
 * the Canary's spec.metricsServer. None of them: an error saying how to give one.
 */
export function prometheusAddress(
  flag: string | undefined,
  env: string | undefined,
  metricsServer: string | undefined,
): { address: string; how: string } {
  const address = flag ?? env ?? metricsServer;
  if (address === undefined || address === "")
    throw new CliError(
      `no Prometheus to ask: pass --prometheus URL (or set ${PROMETHEUS_ENV}); the replay reads the series Prometheus recorded during the run, from this machine: for an in-cluster Prometheus, kubectl -n istio-system port-forward svc/prometheus 9090 and --prometheus http://127.0.0.1:9090`,
    );
  const how = flag !== undefined ? "--prometheus" : env ? PROMETHEUS_ENV : "the Canary's spec.metricsServer";
  return { address, how };
}

/** Prometheus could not be asked: the replay stops (a half-answered replay would mislead). */
export class PrometheusUnreachable extends CliError {}

const UNREACHABLE = /unreachable|timeout: no answer|is not a valid URL|is not an http\(s\) URL/;

export interface PrometheusAnswersOptions {
  address: string;
  namespace: string;
  name: string;
  /** MetricTemplates the spec names, read beforehand (keyed "namespace/name") */
  templates: ReadonlyMap<string, MetricTemplate>;
  readSecret?: SecretReader;
  timeoutMs?: number;
}

export function prometheusAnswers(o: PrometheusAnswersOptions): {
  answers: MetricAnswers;
  client: PrometheusClient;
} {
  const client = new PrometheusClient({ address: o.address, timeoutMs: o.timeoutMs ?? 10_000 });
  const clients = new PrometheusClientCache();
  const answers: MetricAnswers = {
    analyse: (spec, run, now) => analyseAt(o, client, clients, spec, run, now),
    served: (spec, since, now) => servedAt(o, client, spec, since, now),
  };
  return { answers, client };
}

/** The answer is that Prometheus could not be asked: the replay stops. */
function stop(what: string, error: string): never {
  throw new PrometheusUnreachable(`${what}: ${error}`);
}

/** The controller's metric checks of `spec`, every query evaluated at `now`. */
async function analyseAt(
  o: PrometheusAnswersOptions,
  client: PrometheusClient,
  clients: PrometheusClientCache,
  spec: EffectiveSpec,
  run: RunRecord | undefined,
  now: Date,
): Promise<MetricResult[]> {
  const results = await runMetricChecks({
    name: o.name,
    namespace: o.namespace,
    spec,
    defaultPrometheus: client,
    run,
    now,
    evaluateAt: now,
    findTemplate: (ns, n) => o.templates.get(`${ns}/${n}`),
    ...(o.readSecret ? { readSecret: o.readSecret } : {}),
    clients,
  });
  for (const r of results)
    if (r.error !== undefined && UNREACHABLE.test(r.error))
      stop(`metric ${r.name} at ${now.toISOString()}`, r.error);
  return results;
}

/** What canary and primary served from `since` to `now`, as Prometheus had it at `now`. */
async function servedAt(
  o: PrometheusAnswersOptions,
  client: PrometheusClient,
  spec: EffectiveSpec,
  since: Date,
  now: Date,
): Promise<ServedCounts | ServedUnavailable> {
  const latency = latencyThresholdMs(spec);
  const answer = await readServed(
    client,
    {
      namespace: o.namespace,
      canary: spec.names.canaryWorkload,
      primary: spec.names.primaryWorkload,
      since,
      evaluateAt: now,
      ...(latency !== undefined ? { slowerThanMs: latency } : {}),
    },
    now,
  );
  if (!answer.ok && UNREACHABLE.test(answer.error))
    stop(`served counts at ${now.toISOString()}`, answer.error);
  return answer.ok ? answer.served : { at: now, error: answer.error };
}

/** Asks Prometheus a trivial query: an unreachable one is said before anything is replayed. */
export async function checkReachable(client: PrometheusClient, how: string): Promise<void> {
  const answer = await client.query("1");
  if (!answer.ok)
    throw new PrometheusUnreachable(
      `cannot query Prometheus at ${client.address} (${how}): ${answer.error}; pass --prometheus URL (or set ${PROMETHEUS_ENV}); for an in-cluster Prometheus: kubectl -n istio-system port-forward svc/prometheus 9090 and --prometheus http://127.0.0.1:9090`,
    );
}

/**
 * Whether Prometheus holds Istio's request series for the run's workloads over the run: without them
 * every check reads "no values" (the data is past retention, or this is another Prometheus).
 */
export async function hasRunData(
  client: PrometheusClient,
  spec: EffectiveSpec,
  namespace: string,
  from: Date,
  to: Date,
): Promise<boolean> {
  const seconds = Math.max(1, Math.ceil((to.getTime() - from.getTime()) / 1000));
  const names = [spec.names.canaryWorkload, spec.names.primaryWorkload]
    .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&"))
    .join("|");
  const answer = await client.queryVector(
    `count(count_over_time(istio_requests_total{destination_workload_namespace="${namespace}",destination_workload=~"${names}"}[${seconds}s]))`,
    { time: to },
  );
  return answer.ok && answer.samples.some((s) => Number.isFinite(s.value) && s.value > 0);
}
