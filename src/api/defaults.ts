// Flagger's defaults, applied as a pure view over the stored spec. The stored Canary is never
// rewritten: users see exactly what they applied, and the controller reads this effective view.
import type {
  CanaryAlert,
  CanaryAnalysis,
  CanaryMetric,
  CanarySpec,
  JudgeMode,
  NoDataPolicy,
  SessionAffinity,
} from "./canary.js";
import { tryParseDuration } from "./duration.js";
import type { HttpMatch } from "./istio.js";

export const DEFAULTS = {
  analysisInterval: "60s",
  /** Flagger clamps shorter intervals up to this; Serin's validation rejects them instead. */
  minAnalysisInterval: "10s",
  threshold: 1,
  maxWeight: 100,
  progressDeadlineSeconds: 600,
  metricInterval: "1m",
  webhookTimeout: "10s",
  readyThreshold: 100,
  gateways: ["mesh"] as readonly string[],
  portName: "http",
  sessionAffinityMaxAge: 86_400,
  judgeFalseAlarmRate: 0.01,
  judgeMinRequests: 10,
  judgeFalsePromotionRate: 0.05,
} as const;

/** request-success-rate and request-duration are answered by Serin's built-in Istio queries. */
export const BUILTIN_METRICS = ["request-success-rate", "request-duration"] as const;
export type BuiltinMetricName = (typeof BUILTIN_METRICS)[number];
export const isBuiltinMetric = (name: string): name is BuiltinMetricName =>
  (BUILTIN_METRICS as readonly string[]).includes(name);

/** Flagger's strategy choice: match + iterations = A/B testing, iterations alone = blue/green, else canary. */
export type Strategy = "canary" | "ab-testing" | "blue-green";

export interface EffectiveMetric {
  name: string;
  /** where the value comes from */
  source:
    | { kind: "builtin"; builtin: BuiltinMetricName }
    | { kind: "template"; templateRef: { name: string; namespace?: string } }
    | { kind: "query"; query: string };
  interval: string;
  intervalMs: number;
  /** thresholdRange, or the deprecated `threshold` converted the way Flagger reads it (min for success rate, max otherwise). */
  thresholdRange: { min?: number; max?: number };
  templateVariables: Record<string, string>;
  /** as written; undefined means the judge's default (fail, or hold with the sequential judge) */
  noData: NoDataPolicy | undefined;
}

/** The evidence judge. `mode` undefined means the controller's --judge default (see withJudgeDefault). */
export interface EffectiveJudge {
  mode: JudgeMode | undefined;
  falseAlarmRate: number;
  falsePromotionRate: number;
  lookInterval: string;
  lookIntervalMs: number;
  minRequests: number;
}

export interface EffectiveWebhook {
  name: string;
  /** "" in the spec means rollout, as in Flagger */
  type: Exclude<NonNullable<NonNullable<CanaryAnalysis["webhooks"]>[number]["type"]>, "">;
  url: string;
  timeout: string;
  timeoutMs: number;
  retries: number;
  muteAlert: boolean;
  disableTLS: boolean;
  metadata: Record<string, string>;
}

export interface EffectiveAnalysis {
  strategy: Strategy;
  interval: string;
  intervalMs: number;
  /** failed checks that trigger rollback: max(threshold, 1) */
  threshold: number;
  /** the last canary weight before promotion (stepWeights: min(100, last step)) */
  maxWeight: number;
  stepWeight: number | undefined;
  stepWeights: number[];
  /** canary weights of the progressive steps in Flagger's order (canary strategy; empty otherwise) */
  canaryWeights: number[];
  /** undefined: route everything back to the primary in one go */
  stepWeightPromotion: number | undefined;
  iterations: number;
  mirror: boolean;
  mirrorWeight: number | undefined;
  primaryReadyThreshold: number;
  canaryReadyThreshold: number;
  match: HttpMatch[];
  metrics: EffectiveMetric[];
  webhooks: EffectiveWebhook[];
  alerts: CanaryAlert[];
  sessionAffinity: (SessionAffinity & { maxAge: number }) | undefined;
  judge: EffectiveJudge;
}

export interface EffectiveSpec {
  /** the stored spec, untouched, for everything that has no default (headers, corsPolicy, trafficPolicy, ...) */
  source: CanarySpec;
  targetRef: CanarySpec["targetRef"];
  provider: string;
  progressDeadlineSeconds: number;
  skipAnalysis: boolean;
  suspend: boolean;
  revertOnDeletion: boolean;
  names: {
    /** Service and VirtualService name: service.name or targetRef.name */
    apex: string;
    primaryService: string;
    canaryService: string;
    /** the Deployment Serin creates from the target */
    primaryWorkload: string;
    /** the user's Deployment, which runs the canary */
    canaryWorkload: string;
  };
  service: CanarySpec["service"] & {
    name: string;
    portName: string;
    targetPort: number | string;
    gateways: string[];
    hosts: string[];
    portDiscovery: boolean;
  };
  analysis: EffectiveAnalysis;
}

const durationOr = (text: string | undefined, fallback: string): { text: string; ms: number } => {
  const ms = text === undefined ? undefined : tryParseDuration(text);
  if (text !== undefined && ms !== undefined) return { text, ms };
  return { text: fallback, ms: tryParseDuration(fallback) ?? 0 };
};

function effectiveMetric(m: CanaryMetric): EffectiveMetric {
  const interval = durationOr(m.interval, DEFAULTS.metricInterval);
  const source: EffectiveMetric["source"] = m.templateRef
    ? { kind: "template", templateRef: m.templateRef }
    : m.query
      ? { kind: "query", query: m.query }
      : isBuiltinMetric(m.name)
        ? { kind: "builtin", builtin: m.name }
        : { kind: "query", query: "" }; // rejected by validation; kept total for callers that skip it
  let thresholdRange: EffectiveMetric["thresholdRange"] = { ...m.thresholdRange };
  if (m.thresholdRange === undefined && m.threshold !== undefined) {
    // Flagger's deprecated single threshold: a floor for success rate, a ceiling for everything else.
    thresholdRange = m.name === "request-success-rate" ? { min: m.threshold } : { max: m.threshold };
  }
  return {
    name: m.name,
    source,
    interval: interval.text,
    intervalMs: interval.ms,
    thresholdRange,
    templateVariables: { ...m.templateVariables },
    noData: m.noData,
  };
}

/**
 * The canary weights of a canary release, in order, as Flagger walks them: stepWeights as listed, or
 * stepWeight, 2*stepWeight, ... until the weight reaches maxWeight. Like Flagger, the last step may pass
 * maxWeight (maxWeight 50, stepWeight 20 -> 20, 40, 60), capped at 100.
 */
function canaryWeights(a: CanaryAnalysis, maxWeight: number): number[] {
  if (a.stepWeights && a.stepWeights.length > 0 && !a.stepWeight) {
    return a.stepWeights.map((w) => Math.min(w, 100));
  }
  const step = a.stepWeight ?? 0;
  if (step <= 0) return [];
  const out: number[] = [];
  for (let w = step; ; w += step) {
    out.push(Math.min(w, 100));
    if (w >= maxWeight || w >= 100) break;
  }
  return out;
}

/** Looks come at least five times per interval, and no more often than a second (Prometheus' pace). */
function defaultLookMs(intervalMs: number): number {
  return Math.min(Math.max(Math.floor(intervalMs / 5 / 1000) * 1000, 1_000), MAX_DEFAULT_LOOK_MS);
}
const MAX_DEFAULT_LOOK_MS = 5_000;

function effectiveJudge(a: CanaryAnalysis, intervalMs: number): EffectiveJudge {
  const given = a.judge?.lookInterval === undefined ? undefined : tryParseDuration(a.judge.lookInterval);
  const lookMs = given ?? defaultLookMs(intervalMs);
  return {
    mode: a.judge?.mode,
    falseAlarmRate: a.judge?.falseAlarmRate ?? DEFAULTS.judgeFalseAlarmRate,
    falsePromotionRate: a.judge?.falsePromotionRate ?? DEFAULTS.judgeFalsePromotionRate,
    lookInterval: a.judge?.lookInterval ?? `${lookMs / 1000}s`,
    lookIntervalMs: lookMs,
    minRequests: a.judge?.minRequests ?? DEFAULTS.judgeMinRequests,
  };
}

/** The spec with an unset judge mode taken from the controller's --judge flag. */
export function withJudgeDefault(spec: EffectiveSpec, mode: JudgeMode): EffectiveSpec {
  if (spec.analysis.judge.mode !== undefined) return spec;
  return { ...spec, analysis: { ...spec.analysis, judge: { ...spec.analysis.judge, mode } } };
}

/**
 * Settings of the sequential judge on a Canary that leaves the mode to the controller, when the
 * controller's --judge is threshold: said in Ready's message, so nothing is silently ignored.
 */
export function ignoredJudgeSettings(spec: EffectiveSpec): string | undefined {
  const judge = (spec.source.analysis ?? spec.source.canaryAnalysis)?.judge;
  if (judge === undefined || judge.mode !== undefined || sequentialJudge(spec)) return undefined;
  const set = (["falseAlarmRate", "falsePromotionRate", "lookInterval", "minRequests"] as const).filter(
    (k) => judge[k] !== undefined,
  );
  if (set.length === 0) return undefined;
  return `analysis.judge.${set.join(", ")} ${set.length > 1 ? "have" : "has"} no effect: this controller's --judge is threshold and analysis.judge.mode is unset; set mode: sequential to use them`;
}

/** The built-in request-duration check's ceiling (ms): what makes a request slow, if the spec has one. */
export function latencyThresholdMs(spec: EffectiveSpec): number | undefined {
  return spec.analysis.metrics.find(
    (m) => m.source.kind === "builtin" && m.source.builtin === "request-duration",
  )?.thresholdRange.max;
}

/** True when the sequential judge decides this Canary's runs. */
export const sequentialJudge = (spec: EffectiveSpec): boolean => spec.analysis.judge.mode === "sequential";

/** A metric's no-data policy, with the default that depends on the judge. */
export function noDataPolicy(spec: EffectiveSpec, metric: EffectiveMetric): NoDataPolicy {
  return metric.noData ?? (sequentialJudge(spec) ? "hold" : "fail");
}

/** Pure: the spec with Flagger's defaults applied. Never throws; values validation rejects fall back to defaults. */
export function withDefaults(spec: CanarySpec): EffectiveSpec {
  const a: CanaryAnalysis = spec.analysis ?? spec.canaryAnalysis ?? {};
  const iterations = a.iterations ?? 0;
  const match = a.match ?? [];
  const strategy: Strategy = iterations > 0 ? (match.length > 0 ? "ab-testing" : "blue-green") : "canary";
  const stepWeights = a.stepWeights ?? [];
  const lastStep = stepWeights[stepWeights.length - 1];
  const maxWeight =
    lastStep !== undefined && !a.stepWeight ? Math.min(100, lastStep) : (a.maxWeight ?? DEFAULTS.maxWeight);
  const interval = durationOr(a.interval, DEFAULTS.analysisInterval);
  // "" counts as unset, as in Flagger and in the router's serviceNames(): one rule for the apex name.
  const apex = spec.service.name || spec.targetRef.name;

  const analysis: EffectiveAnalysis = {
    strategy,
    interval: interval.text,
    intervalMs: interval.ms,
    threshold: Math.max(a.threshold ?? DEFAULTS.threshold, 1),
    maxWeight,
    stepWeight: a.stepWeight,
    stepWeights: [...stepWeights],
    canaryWeights: strategy === "canary" ? canaryWeights(a, maxWeight) : [],
    stepWeightPromotion: a.stepWeightPromotion,
    iterations,
    mirror: a.mirror ?? false,
    mirrorWeight: a.mirrorWeight,
    primaryReadyThreshold: a.primaryReadyThreshold ?? DEFAULTS.readyThreshold,
    canaryReadyThreshold: a.canaryReadyThreshold ?? DEFAULTS.readyThreshold,
    match: [...match],
    metrics: (a.metrics ?? []).map(effectiveMetric),
    webhooks: (a.webhooks ?? []).map((w) => {
      const timeout = durationOr(w.timeout, DEFAULTS.webhookTimeout);
      return {
        name: w.name,
        type: w.type === undefined || w.type === "" ? "rollout" : w.type,
        url: w.url,
        timeout: timeout.text,
        timeoutMs: timeout.ms,
        retries: w.retries ?? 0,
        muteAlert: w.muteAlert ?? false,
        disableTLS: w.disableTLS ?? false,
        metadata: { ...w.metadata },
      };
    }),
    alerts: [...(a.alerts ?? [])],
    sessionAffinity: a.sessionAffinity
      ? { ...a.sessionAffinity, maxAge: a.sessionAffinity.maxAge ?? DEFAULTS.sessionAffinityMaxAge }
      : undefined,
    judge: effectiveJudge(a, interval.ms),
  };

  return {
    source: spec,
    targetRef: spec.targetRef,
    provider: spec.provider ?? "istio",
    progressDeadlineSeconds: spec.progressDeadlineSeconds ?? DEFAULTS.progressDeadlineSeconds,
    skipAnalysis: spec.skipAnalysis ?? false,
    suspend: spec.suspend ?? false,
    revertOnDeletion: spec.revertOnDeletion ?? false,
    names: {
      apex,
      primaryService: `${apex}-primary`,
      canaryService: `${apex}-canary`,
      primaryWorkload: `${spec.targetRef.name}-primary`,
      canaryWorkload: spec.targetRef.name,
    },
    service: {
      ...spec.service,
      name: apex,
      portName: spec.service.portName ?? DEFAULTS.portName,
      targetPort: spec.service.targetPort ?? spec.service.port,
      gateways:
        spec.service.gateways && spec.service.gateways.length > 0
          ? [...spec.service.gateways]
          : [...DEFAULTS.gateways],
      hosts: [...(spec.service.hosts ?? [])],
      portDiscovery: spec.service.portDiscovery ?? false,
    },
    analysis,
  };
}
