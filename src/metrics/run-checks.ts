import type { EffectiveMetric, EffectiveSpec } from "../api/defaults.js";
import type { MetricTemplate } from "../api/metric-template.js";
import type { MetricResult } from "../core/world.js";
import { requestDurationQuery, requestSuccessRateQuery } from "./istio-queries.js";
import { PrometheusClient, type QueryAnswer } from "./prometheus-client.js";
import { renderQuery } from "./template.js";

export interface CheckContext {
  name: string;
  namespace: string;
  spec: EffectiveSpec;
  /** the controller's --metrics-server client, for built-in checks and templates without an address */
  defaultPrometheus: PrometheusClient;
  /** MetricTemplates from the informer cache */
  findTemplate(namespace: string, name: string): MetricTemplate | undefined;
}

function unitOf(metric: EffectiveMetric): MetricResult["unit"] {
  if (metric.source.kind !== "builtin") return "";
  return metric.source.builtin === "request-success-rate" ? "%" : "ms";
}

async function answerFor(metric: EffectiveMetric, ctx: CheckContext): Promise<QueryAnswer> {
  const scope = { namespace: ctx.namespace, target: ctx.spec.targetRef.name, interval: metric.interval };
  switch (metric.source.kind) {
    case "builtin":
      return ctx.defaultPrometheus.query(
        metric.source.builtin === "request-success-rate"
          ? requestSuccessRateQuery(scope)
          : requestDurationQuery(scope),
      );
    case "query":
      return ctx.defaultPrometheus.query(metric.source.query);
    case "template": {
      const ref = metric.source.templateRef;
      const templateNamespace = ref.namespace ?? ctx.namespace;
      const template = ctx.findTemplate(templateNamespace, ref.name);
      if (template === undefined) {
        return {
          ok: false,
          error: `MetricTemplate ${ref.name}.${templateNamespace} not found: create it or fix templateRef`,
        };
      }
      if (template.spec.provider.type !== "prometheus") {
        return {
          ok: false,
          error: `MetricTemplate ${ref.name}.${templateNamespace}: provider ${template.spec.provider.type} is not supported; use prometheus`,
        };
      }
      const rendered = renderQuery(template.spec.query, {
        ...scope,
        name: ctx.name,
        service: ctx.spec.names.apex,
        ingress: "",
        variables: metric.templateVariables,
      });
      if (!rendered.ok)
        return { ok: false, error: `MetricTemplate ${ref.name}.${templateNamespace}: ${rendered.error}` };
      const address = template.spec.provider.address;
      const client = address ? new PrometheusClient({ address }) : ctx.defaultPrometheus;
      return client.query(rendered.query);
    }
  }
}

/** Runs every metric of the analysis concurrently; each failure becomes a result with its reason. */
export async function runMetricChecks(ctx: CheckContext): Promise<MetricResult[]> {
  return Promise.all(
    ctx.spec.analysis.metrics.map(async (metric) => {
      const answer = await answerFor(metric, ctx);
      const base = { name: metric.name, thresholdRange: metric.thresholdRange, unit: unitOf(metric) };
      return answer.ok ? { ...base, value: answer.value } : { ...base, error: answer.error };
    }),
  );
}
