// The Canary API (serin.dev/v1beta1): the single source of truth for the CRD schema, the inferred
// TypeScript types and structural validation. Fields mirror Flagger's flagger.app/v1beta1 Canary one for one,
// so a Flagger user only changes apiVersion. The schema describes what the apiserver stores (the input);
// defaults are applied by withDefaults() in defaults.ts, never written back into the object.
import { z } from "zod";
import { GO_DURATION_PATTERN } from "./duration.js";
import {
  CorsPolicySchema,
  HeadersSchema,
  HttpMatchSchema,
  HttpRetrySchema,
  HttpRewriteSchema,
  MirrorFilterSchema,
  ParentReferenceSchema,
  TrafficPolicySchema,
} from "./istio.js";
import { COUNT_LIMITS } from "./limits.js";
import { localRef, NamespacedNameRefSchema, ObjectMetaSchema } from "./meta.js";

export { type HttpMatch, HttpMatchSchema, type StringMatch, StringMatchSchema } from "./istio.js";

/** A Go duration such as "30s" or "1m30s"; the pattern is RE2 so the CRD can carry it. */
export const DurationString = z.string().regex(new RegExp(GO_DURATION_PATTERN), {
  error: 'must be a Go duration such as "30s", "1m", "1m30s", "500ms" or "1h"',
});

const stringMap = z.record(z.string(), z.string());
const percent = z.int().min(0).max(100);

/** Labels and annotations added to a generated Service (apex, primary or canary). */
const CustomMetadataSchema = z.strictObject({
  labels: stringMap.optional(),
  annotations: stringMap.optional(),
});

/** Route kinds a Canary can adopt, each with the provider that writes it (validate-route-ref.ts). */
export const ADOPTED_ROUTE_KINDS = ["VirtualService", "HTTPRoute"] as const;

/**
 * A route object the user owns (GitOps mode, docs/routing.md): Serin writes only the weights of the two
 * destinations (`<svc>-primary`, `<svc>-canary`) of the named routes, never creates or deletes the object,
 * and sets them back to 100/0 when the Canary is deleted.
 */
export const ServiceRouteRefSchema = z.strictObject({
  kind: z
    .enum(ADOPTED_ROUTE_KINDS)
    .describe("VirtualService (provider istio) or HTTPRoute (provider gatewayapi:v1 / gatewayapi:v1beta1)"),
  name: z.string().min(1).describe("name of your route object, in the Canary's namespace"),
  routes: z
    .array(z.string().min(1))
    .min(1)
    .max(COUNT_LIMITS.listItems)
    .describe(
      "names of the routes whose weights Serin sets (VirtualService http[].name, HTTPRoute rules[].name); each sends to exactly <svc>-primary and <svc>-canary",
    ),
});

export const CanaryServiceSchema = z.strictObject({
  name: z.string().optional().describe("name of the generated apex Service; defaults to targetRef.name"),
  port: z.int32().min(1).max(65535).describe("port of the generated Services"),
  portName: z.string().optional().describe("port name of the generated Services; defaults to http"),
  targetPort: z
    .union([z.int32().min(1).max(65535), z.string().min(1)])
    .optional()
    .describe("container port number or name; defaults to port"),
  appProtocol: z.string().optional(),
  trafficDistribution: z.enum(["PreferClose", "PreferSameZone", "PreferSameNode"]).optional(),
  portDiscovery: z.boolean().optional().describe("add all container ports of the target to the Services"),
  headless: z.boolean().optional().describe("generate headless Services"),
  timeout: DurationString.optional().describe("HTTP/gRPC request timeout on the generated route"),
  backendTimeout: DurationString.optional().describe("Gateway API only"),
  gateways: z
    .array(z.string())
    .optional()
    .describe("Istio gateways of the VirtualService; defaults to [mesh]"),
  gatewayRefs: z.array(ParentReferenceSchema).max(32).optional().describe("Gateway API only"),
  hosts: z
    .array(z.string())
    .optional()
    .describe("hosts of the VirtualService, in addition to the service name"),
  delegation: z.boolean().optional().describe("generate a delegate VirtualService (no hosts, no gateways)"),
  trafficPolicy: TrafficPolicySchema.optional().describe("copied to the primary and canary DestinationRules"),
  match: z.array(HttpMatchSchema).optional().describe("match conditions of the generated route"),
  rewrite: HttpRewriteSchema.optional(),
  retries: HttpRetrySchema.optional(),
  headers: HeadersSchema.optional(),
  corsPolicy: CorsPolicySchema.optional(),
  mirror: z
    .array(MirrorFilterSchema)
    .optional()
    .describe("Gateway API request mirroring (not used with Istio)"),
  meshName: z.string().optional().describe("App Mesh only"),
  backends: z.array(z.string()).optional().describe("App Mesh only"),
  routeRef: ServiceRouteRefSchema.optional().describe(
    "adopt a route you own instead of generating one: Serin changes only the named routes' weights",
  ),
  apex: CustomMetadataSchema.optional(),
  primary: CustomMetadataSchema.optional(),
  canary: CustomMetadataSchema.optional(),
  unmanagedMetadata: z
    .strictObject({ labels: z.array(z.string()).optional(), annotations: z.array(z.string()).optional() })
    .optional()
    .describe("metadata keys on generated objects that the controller must not overwrite"),
});

export const ThresholdRangeSchema = z.strictObject({
  min: z.number().optional().describe("lowest accepted value"),
  max: z.number().optional().describe("highest accepted value"),
});

/** What a check without evidence counts as: fail (Flagger), hold the step (neither passed nor failed), or pass. */
export const NO_DATA_POLICIES = ["fail", "hold", "pass"] as const;
export type NoDataPolicy = (typeof NO_DATA_POLICIES)[number];

export const JUDGE_MODES = ["threshold", "sequential"] as const;
export type JudgeMode = (typeof JUDGE_MODES)[number];

/**
 * Serin's evidence judge (not in Flagger). `threshold` is Flagger's rule; `sequential` adds anytime-valid
 * tests of the canary against the primary, looked at every lookInterval while the canary has traffic.
 */
export const JudgeSchema = z.strictObject({
  mode: z
    .enum(JUDGE_MODES)
    .optional()
    .describe("threshold (Flagger's rule) or sequential; defaults to the controller's --judge flag"),
  falseAlarmRate: z
    .number()
    .min(0.0001)
    .max(0.2)
    .optional()
    .describe("chance that a canary as good as the primary is rolled back by the tests; defaults to 0.01"),
  falsePromotionRate: z
    .number()
    .min(0.0001)
    .max(0.5)
    .optional()
    .describe(
      "chance of promoting a canary whose 5xx share or slow share is above what the thresholds allow; defaults to 0.05",
    ),
  lookInterval: DurationString.optional().describe(
    "how often the tests look while the canary has traffic; defaults to interval / 5, from 1s to 5s",
  ),
  minRequests: z
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe("canary requests a built-in check needs before it is judged; defaults to 10"),
});

export const CanaryMetricSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .describe("request-success-rate, request-duration, or any name with templateRef/query"),
  interval: DurationString.optional().describe("query window; defaults to 1m"),
  threshold: z.number().optional().describe("deprecated: use thresholdRange.max"),
  thresholdRange: ThresholdRangeSchema.optional(),
  query: z.string().optional().describe("deprecated: inline Prometheus query, use templateRef"),
  templateRef: NamespacedNameRefSchema.optional().describe("MetricTemplate holding the query"),
  templateVariables: stringMap.optional().describe("variables substituted into the template query"),
  noData: z
    .enum(NO_DATA_POLICIES)
    .optional()
    .describe(
      "Serin: a check without values (or, with the sequential judge, with fewer than judge.minRequests canary requests): fail (Flagger's rule), hold the step, or pass; defaults to fail, hold with the sequential judge",
    ),
});

export const WEBHOOK_TYPES = [
  "",
  "confirm-rollout",
  "pre-rollout",
  "rollout",
  "confirm-promotion",
  "post-rollout",
  "event",
  "rollback",
  "confirm-traffic-increase",
] as const;

export const CanaryWebhookSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum(WEBHOOK_TYPES).optional().describe("when the hook runs; empty means rollout"),
  url: z.string().min(1).describe("absolute http(s) URL"),
  muteAlert: z.boolean().optional(),
  timeout: DurationString.optional().describe("defaults to 10s"),
  retries: z.int().min(0).max(COUNT_LIMITS.webhookRetries).optional().describe("retries after a failed call"),
  disableTLS: z.boolean().optional(),
  metadata: stringMap.optional().describe("sent in the webhook payload"),
});

export const CanaryAlertSchema = z.strictObject({
  name: z.string().min(1),
  severity: z.enum(["", "info", "warn", "error"]).optional().describe("defaults to info"),
  providerRef: NamespacedNameRefSchema.describe("AlertProvider to send to"),
});

export const SessionAffinitySchema = z.strictObject({
  cookieName: z.string().min(1).describe("cookie that pins a user to the canary"),
  primaryCookieName: z.string().optional().describe("cookie that pins a user to the primary"),
  maxAge: z
    .int()
    .min(1)
    .max(COUNT_LIMITS.cookieMaxAgeSeconds)
    .optional()
    .describe("cookie lifetime in seconds; defaults to 86400"),
  domain: z.string().optional(),
  path: z.string().optional(),
  httpOnly: z.boolean().optional(),
  secure: z.boolean().optional(),
  partitioned: z.boolean().optional(),
  sameSite: z.enum(["Strict", "Lax", "None"]).optional(),
});

export const CanaryAnalysisSchema = z.strictObject({
  interval: DurationString.optional().describe("time between analysis steps; defaults to 60s, minimum 10s"),
  iterations: z
    .int()
    .min(1)
    .max(COUNT_LIMITS.iterations)
    .optional()
    .describe("number of checks for A/B testing and blue/green"),
  threshold: z
    .int()
    .min(1)
    .max(COUNT_LIMITS.threshold)
    .optional()
    .describe("failed checks before rollback; defaults to 1"),
  maxWeight: percent.min(1).optional().describe("highest canary weight before promotion; defaults to 100"),
  stepWeight: percent.min(1).optional().describe("canary weight increment per step"),
  stepWeights: z.array(percent.min(1)).optional().describe("explicit canary weights, strictly increasing"),
  stepWeightPromotion: percent.min(1).optional().describe("primary weight increment per promotion step"),
  mirror: z
    .boolean()
    .optional()
    .describe("mirror traffic to the canary (during blue/green, or as the first step of a canary release)"),
  mirrorWeight: percent.optional().describe("percentage of traffic mirrored"),
  primaryReadyThreshold: percent
    .optional()
    .describe("percent of primary pods that must be ready; defaults to 100"),
  canaryReadyThreshold: percent
    .optional()
    .describe("percent of canary pods that must be ready; defaults to 100"),
  match: z
    .array(HttpMatchSchema)
    .optional()
    .describe("A/B testing: requests matching these go to the canary"),
  metrics: z.array(CanaryMetricSchema).max(COUNT_LIMITS.listItems).optional(),
  webhooks: z.array(CanaryWebhookSchema).max(COUNT_LIMITS.listItems).optional(),
  alerts: z.array(CanaryAlertSchema).max(COUNT_LIMITS.listItems).optional(),
  sessionAffinity: SessionAffinitySchema.optional(),
  judge: JudgeSchema.optional().describe("Serin: how checks are judged (see docs/judge.md)"),
});

export const CanarySpecSchema = z.strictObject({
  // A free string, as in Flagger's CRD: an unsupported value is an InvalidSpec naming the accepted ones
  // (api/providers.ts), not an apiserver rejection a GitOps tool would retry forever.
  provider: z
    .string()
    .optional()
    .describe("traffic provider: istio (default), gatewayapi:v1 or gatewayapi:v1beta1"),
  metricsServer: z.string().optional().describe("Prometheus URL overriding the controller flag"),
  targetRef: localRef(["Deployment", "DaemonSet", "Service"], "workload to release"),
  autoscalerRef: localRef(["HorizontalPodAutoscaler", "ScaledObject"], "autoscaler of the target")
    .extend({
      primaryScalerQueries: stringMap.optional(),
      primaryScalerReplicas: z
        .strictObject({ minReplicas: z.int32().min(1).optional(), maxReplicas: z.int32().min(1).optional() })
        .optional(),
    })
    .optional(),
  ingressRef: localRef(["Ingress"], "NGINX ingress").optional(),
  routeRef: localRef(["ApisixRoute"], "APISIX route").optional(),
  upstreamRef: localRef(["Upstream"], "Gloo upstream")
    .extend({ namespace: z.string().optional() })
    .optional(),
  service: CanaryServiceSchema,
  analysis: CanaryAnalysisSchema.optional(),
  canaryAnalysis: CanaryAnalysisSchema.optional().describe("deprecated: use analysis"),
  progressDeadlineSeconds: z
    .int32()
    .min(1)
    .max(COUNT_LIMITS.progressDeadlineSeconds)
    .optional()
    .describe("defaults to 600"),
  skipAnalysis: z.boolean().optional().describe("promote without analysis"),
  revertOnDeletion: z
    .boolean()
    .optional()
    .describe("restore the target and route when the Canary is deleted"),
  suspend: z.boolean().optional().describe("pause all canary runs"),
});

export const CANARY_PHASES = [
  "",
  "Initializing",
  "Initialized",
  "Waiting",
  "Progressing",
  "WaitingPromotion",
  "Promoting",
  "Finalising",
  "Succeeded",
  "Failed",
  "Terminating",
  "Terminated",
] as const;
export const CanaryPhaseSchema = z.enum(CANARY_PHASES);

const Timestamp = z.string().meta({ format: "date-time" });

export const CanaryConditionSchema = z.looseObject({
  type: z.string().describe("Promoted"),
  status: z.enum(["True", "False", "Unknown"]),
  lastUpdateTime: Timestamp.optional(),
  lastTransitionTime: Timestamp.optional(),
  reason: z.string(),
  message: z.string().optional(),
});

/** Written only by the controller. Loose so a newer controller's fields survive an older one. */
/**
 * One decision worth telling people about, kept in status until its Events, alerts and hooks are sent:
 * written with the decision itself, so a crash between the status write and the Events loses nothing.
 */
export const DecisionRecordSchema = z.strictObject({
  seq: z.int().min(1),
  time: Timestamp,
  phase: z.string(),
  canaryWeight: z.int(),
  reason: z.string(),
  events: z.array(
    z.strictObject({ type: z.enum(["Normal", "Warning"]), reason: z.string(), message: z.string() }),
  ),
  /** post-rollout webhooks to notify of the run's end */
  postRollout: z.boolean().optional(),
});
export type DecisionRecord = z.infer<typeof DecisionRecordSchema>;

/** Requests a workload served since the run's traffic start, and how many failed (5xx) or were slow. */
const ServedSchema = z.strictObject({
  requests: z.number().min(0),
  errors: z.number().min(0),
  slow: z.number().min(0).optional().describe("requests slower than slowerThanMs"),
});

/** One metric of one check: the canary's value against the primary's, with the requests behind each. */
export const MetricCheckSchema = z.strictObject({
  name: z.string(),
  verdict: z.enum(["passed", "failed", "held"]),
  canary: z.number().optional(),
  primary: z.number().optional(),
  canaryRequests: z.number().optional(),
  primaryRequests: z.number().optional(),
  /** the Prometheus range the values were read over, e.g. "37s" */
  window: z.string().optional(),
  message: z.string().optional(),
});
export type MetricCheck = z.infer<typeof MetricCheckSchema>;

export const CheckRecordSchema = z.strictObject({
  time: Timestamp,
  canaryWeight: z.int(),
  verdict: z.enum(["passed", "failed", "held"]),
  hold: z.enum(["evidence", "incident", "promotion"]).optional().describe("why a held check held"),
  metrics: z.array(MetricCheckSchema),
});
export type CheckRecord = z.infer<typeof CheckRecordSchema>;

/** The sequential judge's running state: counts at its last look and log e-values per alternative. */
export const EvidenceStateSchema = z.strictObject({
  asOf: Timestamp,
  canary: ServedSchema,
  primary: ServedSchema,
  errorsLogE: z.array(z.number()),
  slowLogE: z.array(z.number()).optional(),
});
export type EvidenceState = z.infer<typeof EvidenceStateSchema>;

/** The run in progress, or the last one: what it served, what its checks saw, what the judge knows. */
export const RunRecordSchema = z.strictObject({
  revision: z.string().describe("lastAppliedSpec of the run"),
  image: z.string().optional().describe("the canary's first container image"),
  trafficSince: Timestamp.optional().describe(
    "when the revision first got traffic; every window starts here or later",
  ),
  windowFrom: Timestamp.optional().describe("checks waiting for evidence read from here"),
  holdingSince: Timestamp.optional().describe("first check of the current hold"),
  lastIncidentAt: Timestamp.optional().describe("the latest check held for a shared incident"),
  incidentSince: Timestamp.optional().describe("first check of the current shared-incident hold"),
  promotionCountsFrom: ServedSchema.optional().describe(
    "the canary's counts at the last shared-incident check: promotion evidence counts only what came after",
  ),
  slowerThanMs: z.number().optional().describe("the latency threshold that makes a request slow"),
  canary: ServedSchema.optional().describe("what the canary served since trafficSince (the harm count)"),
  primary: ServedSchema.optional().describe("what the primary served over the same time"),
  servedAsOf: Timestamp.optional(),
  evidence: EvidenceStateSchema.optional(),
  checks: z.array(CheckRecordSchema).optional().describe("the latest checks of the run (bounded)"),
  promoteRequested: z
    .strictObject({ id: z.string(), by: z.string().optional(), reason: z.string().optional(), at: Timestamp })
    .optional()
    .describe("a promote request waiting for the next passed check (Serin; docs/control.md)"),
});
export type RunRecord = z.infer<typeof RunRecordSchema>;

// ---- Run history (Serin; issue 9): kept in status, bounded, appended when a run ends ----

/** How a past run ended: promoted, rolled back, or replaced by a newer revision before it ended. */
export const RUN_OUTCOMES = ["Succeeded", "Failed", "Superseded"] as const;

/** One past run, written in the same status write as the decision that ended it (src/core/history.ts). */
export const HistoryEntrySchema = z.strictObject({
  run: z.int().min(1).describe("number of the run on this Canary, counting from 1; never reused"),
  revision: z.string().describe("lastAppliedSpec of the run"),
  image: z.string().optional().describe("the canary's first container image"),
  outcome: z.enum(RUN_OUTCOMES),
  startedAt: Timestamp.optional().describe("when the revision first got traffic"),
  endedAt: Timestamp,
  durationSeconds: z.number().min(0).optional(),
  canaryWeight: z.int().describe("the canary's weight when the run ended"),
  failedChecks: z.int().optional(),
  canary: ServedSchema.optional().describe("what the canary served during the run (the harm count)"),
  slowerThanMs: z.number().optional(),
  reason: z.string().describe("why the run ended (shortened to 512 characters)"),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

// ---- end of run history ----

// ---- Runtime control (Serin; issue 9, docs/control.md) ----

/** What a user may ask of a Canary at runtime (annotation serin.dev/action). */
export const CONTROL_ACTIONS = ["promote", "abort", "retry", "pause", "resume"] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];

/** The last control request the controller consumed, and what came of it (src/core/control-step.ts). */
export const ControlRecordSchema = z.strictObject({
  id: z.string().describe("serin.dev/action-id, or derived from the action and the target revision"),
  action: z.string().describe("promote, abort, retry, pause or resume, as requested"),
  by: z.string().optional().describe("serin.dev/action-by: who asked (informational)"),
  reason: z.string().optional().describe("serin.dev/action-reason"),
  at: Timestamp,
  result: z.string().describe('"done", "pending: <what it waits for>" or "ignored: <why>"'),
});
export type ControlRecord = z.infer<typeof ControlRecordSchema>;

// ---- end of runtime control ----

export const CanaryStatusSchema = z.looseObject({
  phase: CanaryPhaseSchema.optional(),
  failedChecks: z.int().optional(),
  canaryWeight: z.int().optional(),
  iterations: z.int().optional(),
  trackedConfigs: stringMap.optional().describe("checksums of the ConfigMaps/Secrets the target uses"),
  lastAppliedSpec: z.string().optional().describe("pod-template hash of the last canary revision seen"),
  lastPromotedSpec: z.string().optional().describe("pod-template hash of the last promoted revision"),
  lastTrackedRevision: z.string().optional(),
  lastTransitionTime: Timestamp.optional(),
  sessionAffinityCookie: z.string().optional(),
  primarySessionAffinityCookie: z.string().optional(),
  previousSessionAffinityCookie: z.string().optional(),
  observedGeneration: z.int().optional().describe("metadata.generation the status was computed from (Serin)"),
  conditions: z.array(CanaryConditionSchema).optional(),
  control: ControlRecordSchema.optional().describe(
    "the last runtime control request consumed (Serin; docs/control.md)",
  ),
  paused: z.boolean().optional().describe("a pause request holds the run's weight until resume (Serin)"),
  decisions: z
    .array(DecisionRecordSchema)
    .optional()
    .describe(
      "the latest decisions that told people something (Serin): drained into Events, alerts and hooks",
    ),
  reportedSeq: z
    .int()
    .optional()
    .describe("seq of the last decision whose Events, alerts and hooks were sent (Serin)"),
  run: RunRecordSchema.optional().describe("the current or last run: harm, checks, evidence (Serin)"),
  history: z
    .array(HistoryEntrySchema)
    .optional()
    .describe("the latest past runs, oldest first (Serin; bounded, see src/core/history.ts)"),
});

export const CanarySchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMetaSchema,
  spec: CanarySpecSchema,
  status: CanaryStatusSchema.optional(),
});

export type Canary = z.infer<typeof CanarySchema>;
export type CanarySpec = z.infer<typeof CanarySpecSchema>;
export type CanaryStatus = z.infer<typeof CanaryStatusSchema>;
export type CanaryAnalysis = z.infer<typeof CanaryAnalysisSchema>;
export type CanaryService = z.infer<typeof CanaryServiceSchema>;
export type ServiceRouteRef = z.infer<typeof ServiceRouteRefSchema>;
export type CanaryMetric = z.infer<typeof CanaryMetricSchema>;
export type CanaryWebhook = z.infer<typeof CanaryWebhookSchema>;
export type CanaryAlert = z.infer<typeof CanaryAlertSchema>;
export type CanaryPhase = z.infer<typeof CanaryPhaseSchema>;
export type CanaryCondition = z.infer<typeof CanaryConditionSchema>;
export type ThresholdRange = z.infer<typeof ThresholdRangeSchema>;
export type SessionAffinity = z.infer<typeof SessionAffinitySchema>;
export type WebhookType = NonNullable<CanaryWebhook["type"]>;
