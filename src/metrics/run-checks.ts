import type { RunRecord } from "../api/canary.js";
import type { EffectiveMetric, EffectiveSpec } from "../api/defaults.js";
import type { MetricTemplate } from "../api/metric-template.js";
import type { MetricResult } from "../core/world.js";
import { ABORTED } from "../net/error-detail.js";
import { redact } from "../net/redact.js";
import { type PrometheusClientCache, sharedPrometheusClients } from "./client-cache.js";
import {
  durationByWorkload,
  type PairScope,
  requestsByWorkloadAndCode,
  successRateByWorkload,
} from "./istio-queries.js";
import type { PrometheusClient, QueryAnswer, QueryOptions, VectorAnswer } from "./prometheus-client.js";
import { templateConnection } from "./provider-auth.js";
import type { SecretReader } from "./secret-data.js";
import { renderQuery } from "./template.js";
import { checkWindow } from "./windows.js";

export interface CheckContext {
  name: string;
  namespace: string;
  spec: EffectiveSpec;
  /** the controller's --metrics-server client, for built-in checks and templates without an address */
  defaultPrometheus: PrometheusClient;
  /** MetricTemplates from the informer cache */
  findTemplate(namespace: string, name: string): MetricTemplate | undefined;
  /** reads a template's `spec.provider.secretRef` Secret (in the template's namespace), decoded */
  readSecret?: SecretReader;
  /** aborts every query (shutdown, lost leadership): the results become errors saying "aborted" */
  signal?: AbortSignal;
  /** clients for templates with their own address; defaults to one cache shared by the process */
  clients?: PrometheusClientCache;
  /** the run under test: windows start no earlier than its traffic start */
  run?: RunRecord;
  now?: Date;
  /**
   * evaluate every query at this time (Prometheus' `time=`) instead of Prometheus' now: `kubectl serin
   * replay` re-runs a past check; the controller leaves it unset
   */
  evaluateAt?: Date;
}

/** The options of every query of a check: its abort signal and, when replaying, its evaluation time. */
const queryOptions = (ctx: CheckContext): QueryOptions => ({
  signal: ctx.signal,
  ...(ctx.evaluateAt !== undefined ? { time: ctx.evaluateAt } : {}),
});

function unitOf(metric: EffectiveMetric): MetricResult["unit"] {
  if (metric.source.kind !== "builtin") return "";
  return metric.source.builtin === "request-success-rate" ? "%" : "ms";
}

/** The client a template's query goes to: its own address and credentials, or the default Prometheus. */
async function templateClient(
  template: MetricTemplate,
  id: string,
  templateNamespace: string,
  ctx: CheckContext,
): Promise<{ ok: true; client: PrometheusClient } | { ok: false; error: string }> {
  const provider = template.spec.provider;
  const address = provider.address;
  if (!address) {
    // Credentials, headers and TLS settings belong to the server the template names; sending them to
    // the controller's default Prometheus would hand one team's credentials to another server.
    if (provider.secretRef || provider.headers || provider.insecureSkipVerify)
      return {
        ok: false,
        error: `MetricTemplate ${id}: secretRef, headers and insecureSkipVerify need spec.provider.address`,
      };
    return { ok: true, client: ctx.defaultPrometheus };
  }
  const connection = await templateConnection(template, templateNamespace, ctx.readSecret);
  if (!connection.ok) return connection;
  const cache = ctx.clients ?? sharedPrometheusClients;
  return { ok: true, client: cache.get({ address, ...connection.connection }) };
}

/** The window of a metric in this run: its interval, cut at the run's traffic start. */
function windowFor(metric: EffectiveMetric, ctx: CheckContext): string {
  return checkWindow(metric.intervalMs, ctx.run, ctx.now ?? new Date()).text;
}

async function answerFor(metric: EffectiveMetric, ctx: CheckContext): Promise<QueryAnswer> {
  // Templates get the cut window as {{ interval }}, so their checks see only this revision too.
  const scope = {
    namespace: ctx.namespace,
    target: ctx.spec.targetRef.name,
    interval: windowFor(metric, ctx),
  };
  const query = queryOptions(ctx);
  switch (metric.source.kind) {
    case "builtin":
      throw new Error("built-in metrics are answered by builtinResult");
    case "query":
      return ctx.defaultPrometheus.query(metric.source.query, query);
    case "template": {
      const ref = metric.source.templateRef;
      const templateNamespace = ref.namespace ?? ctx.namespace;
      const id = `${ref.name}.${templateNamespace}`;
      const template = ctx.findTemplate(templateNamespace, ref.name);
      if (template === undefined) {
        return { ok: false, error: `MetricTemplate ${id} not found: create it or fix templateRef` };
      }
      if (template.spec.provider.type !== "prometheus") {
        return {
          ok: false,
          error: `MetricTemplate ${id}: provider ${template.spec.provider.type} is not supported; use prometheus`,
        };
      }
      const rendered = renderQuery(template.spec.query, {
        ...scope,
        name: ctx.name,
        service: ctx.spec.names.apex,
        ingress: "",
        variables: metric.templateVariables,
      });
      if (!rendered.ok) return { ok: false, error: `MetricTemplate ${id}: ${rendered.error}` };
      const client = await templateClient(template, id, templateNamespace, ctx);
      if (!client.ok) return client;
      return client.client.query(rendered.query, query);
    }
  }
}

/** Never throws: a bug or an unexpected error in one metric is that metric's failed check. */
async function safeAnswer(metric: EffectiveMetric, ctx: CheckContext): Promise<QueryAnswer> {
  if (ctx.signal?.aborted) return { ok: false, error: `metric check ${ABORTED}` };
  try {
    const answer = await answerFor(metric, ctx);
    return answer.ok ? answer : { ok: false, error: redact(answer.error) };
  } catch (err) {
    return {
      ok: false,
      error: redact(`metric check failed: ${err instanceof Error ? err.message : String(err)}`),
    };
  }
}

const NO_VALUES = "no values found";

/** The query found nothing to measure (as opposed to failing): the metric's no-data policy applies. */
const isNoData = (error: string): boolean => error.startsWith(NO_VALUES);

/** Requests per workload over a window, asked once per window and shared by the built-in metrics. */
type RequestCounts = (scope: PairScope) => Promise<VectorAnswer>;

function sumFor(answer: VectorAnswer, workload: string): number {
  if (!answer.ok) return 0;
  return answer.samples
    .filter((s) => s.labels.destination_workload === workload && Number.isFinite(s.value))
    .reduce((acc, s) => acc + s.value, 0);
}

/**
 * A built-in check: the canary's and the primary's values over the same window (one series each), and
 * the requests behind them. The canary's value is what Flagger's query for the target returns.
 */
async function builtinResult(
  metric: EffectiveMetric & { source: { kind: "builtin" } },
  ctx: CheckContext,
  counts: RequestCounts,
): Promise<MetricResult> {
  const base = { name: metric.name, thresholdRange: metric.thresholdRange, unit: unitOf(metric) };
  const canary = ctx.spec.names.canaryWorkload;
  const primary = ctx.spec.names.primaryWorkload;
  const scope: PairScope = {
    namespace: ctx.namespace,
    workloads: [canary, primary],
    window: windowFor(metric, ctx),
  };
  const promql =
    metric.source.builtin === "request-success-rate"
      ? successRateByWorkload(scope)
      : durationByWorkload(scope);
  const [values, requests] = await Promise.all([
    ctx.defaultPrometheus.queryVector(promql, queryOptions(ctx)),
    counts(scope),
  ]);
  if (!values.ok) return { ...base, error: values.error };
  const workloadValue = (workload: string) => {
    const v = values.samples.find((s) => s.labels.destination_workload === workload)?.value;
    return v === undefined || Number.isNaN(v) ? undefined : v;
  };
  // No series for a workload with requests means none succeeded: Flagger's ratio has an empty numerator.
  const everyRequestFailed = (workload: string) =>
    metric.source.builtin === "request-success-rate" && requests.ok && sumFor(requests, workload) > 0
      ? 0
      : undefined;
  const value = workloadValue(canary) ?? everyRequestFailed(canary);
  const primaryValue = workloadValue(primary) ?? everyRequestFailed(primary);
  // A failed count query leaves the counts out (never "0 requests"): the check is then judged on its value.
  const sizes = {
    ...(requests.ok
      ? { canaryRequests: sumFor(requests, canary), primaryRequests: sumFor(requests, primary) }
      : {}),
    window: scope.window,
    ...(primaryValue !== undefined ? { primaryValue } : {}),
  };
  if (value === undefined)
    return {
      ...base,
      ...sizes,
      error: `${NO_VALUES} (no canary requests in ${scope.window}?)`,
      noData: true,
    };
  return { ...base, ...sizes, value };
}

function requestCounter(ctx: CheckContext): RequestCounts {
  const asked = new Map<string, Promise<VectorAnswer>>();
  return (scope) => {
    let answer = asked.get(scope.window);
    if (answer === undefined) {
      answer = ctx.defaultPrometheus.queryVector(requestsByWorkloadAndCode(scope), queryOptions(ctx));
      asked.set(scope.window, answer);
    }
    return answer;
  };
}

/** Never throws: a bug or an unexpected error in one metric is that metric's failed check. */
async function safeResult(
  metric: EffectiveMetric,
  ctx: CheckContext,
  counts: RequestCounts,
): Promise<MetricResult> {
  const base = { name: metric.name, thresholdRange: metric.thresholdRange, unit: unitOf(metric) };
  if (metric.source.kind === "builtin") {
    if (ctx.signal?.aborted) return { ...base, error: `metric check ${ABORTED}` };
    try {
      const result = await builtinResult({ ...metric, source: metric.source }, ctx, counts);
      return result.error ? { ...result, error: redact(result.error) } : result;
    } catch (err) {
      return {
        ...base,
        error: redact(`metric check failed: ${err instanceof Error ? err.message : String(err)}`),
      };
    }
  }
  const answer = await safeAnswer(metric, ctx);
  if (answer.ok) return { ...base, value: answer.value };
  return { ...base, error: answer.error, ...(isNoData(answer.error) ? { noData: true } : {}) };
}

/** Runs every metric of the analysis concurrently; each failure becomes a result with its reason. */
export async function runMetricChecks(ctx: CheckContext): Promise<MetricResult[]> {
  const counts = requestCounter(ctx);
  return Promise.all(ctx.spec.analysis.metrics.map((metric) => safeResult(metric, ctx, counts)));
}
