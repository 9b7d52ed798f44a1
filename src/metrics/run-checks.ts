import type { EffectiveMetric, EffectiveSpec } from "../api/defaults.js";
import type { MetricTemplate } from "../api/metric-template.js";
import type { MetricResult } from "../core/world.js";
import { ABORTED } from "../net/error-detail.js";
import { redact } from "../net/redact.js";
import { type PrometheusClientCache, sharedPrometheusClients } from "./client-cache.js";
import { requestDurationQuery, requestSuccessRateQuery } from "./istio-queries.js";
import type { PrometheusClient, QueryAnswer } from "./prometheus-client.js";
import { templateConnection } from "./provider-auth.js";
import type { SecretReader } from "./secret-data.js";
import { renderQuery } from "./template.js";

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
}

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

async function answerFor(metric: EffectiveMetric, ctx: CheckContext): Promise<QueryAnswer> {
  const scope = { namespace: ctx.namespace, target: ctx.spec.targetRef.name, interval: metric.interval };
  const query = { signal: ctx.signal };
  switch (metric.source.kind) {
    case "builtin":
      return ctx.defaultPrometheus.query(
        metric.source.builtin === "request-success-rate"
          ? requestSuccessRateQuery(scope)
          : requestDurationQuery(scope),
        query,
      );
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

/** Runs every metric of the analysis concurrently; each failure becomes a result with its reason. */
export async function runMetricChecks(ctx: CheckContext): Promise<MetricResult[]> {
  return Promise.all(
    ctx.spec.analysis.metrics.map(async (metric) => {
      const answer = await safeAnswer(metric, ctx);
      const base = { name: metric.name, thresholdRange: metric.thresholdRange, unit: unitOf(metric) };
      return answer.ok ? { ...base, value: answer.value } : { ...base, error: answer.error };
    }),
  );
}
