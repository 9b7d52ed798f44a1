// MetricTemplate (serin.dev/v1beta1): a reusable metric query referenced from
// Canary spec.analysis.metrics[].templateRef. Mirrors Flagger's MetricTemplate field for field.
import { z } from "zod";
import { ObjectMetaSchema } from "./meta.js";

/** Metric backends Flagger knows; Serin queries prometheus only (validation reports the others). */
export const METRIC_PROVIDER_TYPES = [
  "prometheus",
  "influxdb",
  "datadog",
  "externalmetrics",
  "stackdriver",
  "cloudwatch",
  "newrelic",
  "graphite",
  "dynatrace",
  "keptn",
  "splunk",
] as const;

export const MetricTemplateProviderSchema = z.strictObject({
  type: z.enum(METRIC_PROVIDER_TYPES).describe("metrics backend; Serin supports prometheus"),
  address: z.string().optional().describe("API address, e.g. http://prometheus.istio-system:9090"),
  headers: z
    .record(z.string(), z.array(z.string()))
    .optional()
    .describe("HTTP headers added to each query request"),
  secretRef: z
    .strictObject({ name: z.string().min(1) })
    .optional()
    .describe("Secret in the template's namespace with credentials (username/password, token, ...)"),
  region: z.string().optional().describe("cloud region (cloudwatch)"),
  insecureSkipVerify: z.boolean().optional().describe("skip TLS certificate verification of address"),
});

export const MetricTemplateSpecSchema = z.strictObject({
  provider: MetricTemplateProviderSchema,
  query: z
    .string()
    .min(1)
    .describe(
      "query template; {{ namespace }}, {{ target }}, {{ service }}, {{ interval }}, {{ variables.NAME }} are substituted",
    ),
});

const ConditionSchema = z.looseObject({
  type: z.string(),
  status: z.enum(["True", "False", "Unknown"]),
  lastUpdateTime: z.string().meta({ format: "date-time" }).optional(),
  lastTransitionTime: z.string().meta({ format: "date-time" }).optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
});

/** Written by the controller only; loose for forward compatibility. */
export const StatusWithConditionsSchema = z.looseObject({
  conditions: z.array(ConditionSchema).optional(),
});

export const MetricTemplateSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMetaSchema,
  spec: MetricTemplateSpecSchema,
  status: StatusWithConditionsSchema.optional(),
});

export type MetricTemplate = z.infer<typeof MetricTemplateSchema>;
export type MetricTemplateSpec = z.infer<typeof MetricTemplateSpecSchema>;
export type MetricTemplateProvider = z.infer<typeof MetricTemplateProviderSchema>;
