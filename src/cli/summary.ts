// What `kubectl serin get` shows of a Canary, as data: the table, the detail view and `-o json` all render
// this one summary. Computed from the Canary object alone (spec with Flagger's defaults, and status). Pure.
import type { Canary, CheckRecord } from "../api/canary.js";
import { type EffectiveMetric, type EffectiveSpec, withDefaults } from "../api/defaults.js";

export interface MetricSummary {
  name: string;
  verdict: "passed" | "failed" | "held";
  /** "%" for request-success-rate, "ms" for request-duration, "" for other metrics */
  unit: string;
  canary?: number;
  primary?: number;
  min?: number;
  max?: number;
  canaryRequests?: number;
  primaryRequests?: number;
  window?: string;
  message?: string;
}

export interface CheckSummary {
  time: string;
  canaryWeight: number;
  verdict: "passed" | "failed" | "held";
  hold?: string;
  metrics: MetricSummary[];
}

export interface HarmSummary {
  requests: number;
  failed: number;
  slow?: number;
  slowerThanMs?: number;
}

export interface CanarySummary {
  name: string;
  namespace: string;
  phase: string;
  strategy: string;
  canaryWeight: number;
  maxWeight: number;
  /** A/B testing and blue/green: iterations done of the total */
  iterations?: { done: number; total: number };
  failedChecks: number;
  threshold: number;
  /** seconds until the controller's next step is due (negative: overdue); only while a run is under way */
  nextStepInSeconds?: number;
  revision?: string;
  image?: string;
  trafficSince?: string;
  lastCheck?: CheckSummary;
  harm?: HarmSummary;
  /** the Promoted condition's message: the reason of the last step */
  message?: string;
  /** the Ready condition when it is not True (an invalid spec, a blocked Canary) */
  notReady?: { reason: string; message: string };
  suspended: boolean;
  /** status.paused: a runtime pause holds the weight (issue 9's control requests) */
  paused: boolean;
}

/** Phases whose next step is paced by analysis.interval. */
const PACED_PHASES = ["Progressing", "WaitingPromotion", "Promoting"];

const UNITS: Record<string, string> = { "request-success-rate": "%", "request-duration": "ms" };

export function effectiveSpec(canary: Canary): EffectiveSpec | undefined {
  try {
    return withDefaults(canary.spec);
  } catch {
    return undefined; // a spec this CLI cannot read (a newer API): show status only
  }
}

export function metricSummary(
  m: CheckRecord["metrics"][number],
  spec: EffectiveSpec | undefined,
): MetricSummary {
  const metric: EffectiveMetric | undefined = spec?.analysis.metrics.find((x) => x.name === m.name);
  const range = metric?.thresholdRange ?? {};
  return {
    name: m.name,
    verdict: m.verdict,
    unit: UNITS[m.name] ?? "",
    ...(m.canary !== undefined ? { canary: m.canary } : {}),
    ...(m.primary !== undefined ? { primary: m.primary } : {}),
    ...(range.min !== undefined ? { min: range.min } : {}),
    ...(range.max !== undefined ? { max: range.max } : {}),
    ...(m.canaryRequests !== undefined ? { canaryRequests: m.canaryRequests } : {}),
    ...(m.primaryRequests !== undefined ? { primaryRequests: m.primaryRequests } : {}),
    ...(m.window !== undefined ? { window: m.window } : {}),
    ...(m.message !== undefined ? { message: m.message } : {}),
  };
}

export function checkSummary(check: CheckRecord, spec: EffectiveSpec | undefined): CheckSummary {
  return {
    time: check.time,
    canaryWeight: check.canaryWeight,
    verdict: check.verdict,
    ...(check.hold ? { hold: check.hold } : {}),
    metrics: check.metrics.map((m) => metricSummary(m, spec)),
  };
}

export function summarize(canary: Canary, now: Date): CanarySummary {
  const spec = effectiveSpec(canary);
  const status = canary.status ?? {};
  const phase = status.phase || "Initializing";
  const run = status.run;
  const analysis = spec?.analysis;
  const strategy = analysis?.strategy ?? "canary";
  const lastCheck = run?.checks?.at(-1);
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const promoted = status.conditions?.find((c) => c.type === "Promoted");
  const last = status.lastTransitionTime ? Date.parse(status.lastTransitionTime) : Number.NaN;
  const paced = PACED_PHASES.includes(phase) && analysis !== undefined && !Number.isNaN(last);
  const interval = analysis?.intervalMs ?? 0;
  return {
    name: canary.metadata.name ?? "",
    namespace: canary.metadata.namespace ?? "",
    phase,
    strategy,
    canaryWeight: status.canaryWeight ?? 0,
    maxWeight: strategy === "canary" ? (analysis?.maxWeight ?? 100) : 100,
    ...(strategy !== "canary" && analysis
      ? { iterations: { done: status.iterations ?? 0, total: analysis.iterations } }
      : {}),
    failedChecks: status.failedChecks ?? 0,
    threshold: analysis?.threshold ?? 1,
    ...(paced ? { nextStepInSeconds: Math.round((last + interval - now.getTime()) / 1000) } : {}),
    ...(run?.revision ? { revision: run.revision } : {}),
    ...(run?.image ? { image: run.image } : {}),
    ...(run?.trafficSince ? { trafficSince: run.trafficSince } : {}),
    ...(lastCheck ? { lastCheck: checkSummary(lastCheck, spec) } : {}),
    ...(run?.canary
      ? {
          harm: {
            requests: run.canary.requests,
            failed: run.canary.errors,
            ...(run.canary.slow !== undefined ? { slow: run.canary.slow } : {}),
            ...(run.slowerThanMs !== undefined ? { slowerThanMs: run.slowerThanMs } : {}),
          },
        }
      : {}),
    ...(promoted?.message ? { message: promoted.message } : {}),
    ...(ready && ready.status !== "True"
      ? { notReady: { reason: ready.reason, message: ready.message ?? "" } }
      : {}),
    suspended: canary.spec.suspend === true,
    paused: status.paused === true,
  };
}
