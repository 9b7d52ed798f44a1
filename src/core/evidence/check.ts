// The verdict of one check: every metric against its thresholds, read beside the primary's value over
// the same window, with the no-data policy for checks that have nothing (or too little) to judge. Pure.
import type { MetricCheck } from "../../api/canary.js";
import {
  type EffectiveMetric,
  type EffectiveSpec,
  noDataPolicy,
  sequentialJudge,
} from "../../api/defaults.js";
import { formatValue, judgeMetric } from "../checks.js";
import type { MetricResult } from "../world.js";
import { formatCount } from "./format.js";

export type Verdict = "passed" | "failed" | "held";

/** Why a check held: too little evidence, the primary failing as well, or a promotion not yet shown safe. */
export type HoldKind = "evidence" | "incident" | "promotion";

export interface CheckOutcome {
  verdict: Verdict;
  hold?: HoldKind;
  /** the failed metrics when failed, the held ones when held, every metric when passed */
  summary: string;
  metrics: MetricCheck[];
}

/** "(primary 99.95%; 212 vs 1,904 requests over 37s)" for built-in checks; "" for the others. */
export function context(r: MetricResult): string {
  if (r.canaryRequests === undefined) return "";
  const counts = `${formatCount(r.canaryRequests)} vs ${formatCount(r.primaryRequests ?? 0)} requests`;
  const window = r.window ? ` over ${r.window}` : "";
  const primary = r.primaryValue === undefined ? "-" : formatValue(r.primaryValue, r.unit);
  return ` (primary ${primary}; ${counts}${window})`;
}

const inRange = (value: number, range: MetricResult["thresholdRange"]): boolean =>
  (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);

interface MetricOutcome {
  verdict: Verdict;
  hold?: HoldKind;
  summary: string;
}

/** What the check knows about the run beyond this check's numbers. */
export interface CheckHistory {
  now: number;
  /** waiting for evidence has lasted longer than progressDeadlineSeconds: judge with what there is */
  evidenceDeadlinePassed: boolean;
  /** ms since epoch of the latest check held for a shared incident */
  lastIncidentAt?: number;
  /** a shared incident has held the run longer than progressDeadlineSeconds: the thresholds decide */
  incidentDeadlinePassed?: boolean;
}

const NO_HISTORY: CheckHistory = { now: 0, evidenceDeadlinePassed: false };

function judgeOne(
  spec: EffectiveSpec,
  metric: EffectiveMetric | undefined,
  r: MetricResult,
  history: CheckHistory,
): MetricOutcome {
  const sequential = sequentialJudge(spec);
  const builtin = r.canaryRequests !== undefined;
  const minRequests = spec.analysis.judge.minRequests;
  // Past the deadline a small sample is judged as it is, by the thresholds (Flagger's rule).
  const tooFew =
    sequential && builtin && !history.evidenceDeadlinePassed && (r.canaryRequests ?? 0) < minRequests;
  if (r.noData || (tooFew && r.value !== undefined)) {
    const why = r.noData
      ? `${r.name}: ${r.error ?? "no values found"}`
      : `${r.name}: ${formatCount(r.canaryRequests ?? 0)} of ${minRequests} canary requests needed`;
    const policy = metric ? noDataPolicy(spec, metric) : "fail";
    if (policy === "hold" && !history.evidenceDeadlinePassed)
      return { verdict: "held", hold: "evidence", summary: `waiting for evidence: ${why}` };
    if (policy === "pass") return { verdict: "passed", summary: `${why} (noData: pass)` };
    const late = history.evidenceDeadlinePassed
      ? ` after waiting progressDeadlineSeconds ${spec.progressDeadlineSeconds}s for evidence`
      : "";
    return { verdict: "failed", summary: `${why}${context(r)}${late}` };
  }
  const own = judgeMetric(r);
  const summary = `${own.summary}${context(r)}`;
  if (r.value === undefined) return { verdict: "failed", summary };
  // With the sequential judge the primary is the baseline: when it fails the same threshold over the same
  // window, what hurts both is not the release's doing. Hold: neither blame the canary nor advance.
  // Bounded: a canary that breaks what both depend on (a shared pool) must not hold the run forever.
  const incidents = sequential && history.incidentDeadlinePassed !== true;
  const primaryFails =
    incidents && r.primaryValue !== undefined && !inRange(r.primaryValue, r.thresholdRange);
  if (primaryFails)
    return {
      verdict: "held",
      hold: "incident",
      summary: `${summary}: the primary fails it too (a shared incident), holding`,
    };
  // A window that still holds a shared incident's end: the primary's bigger sample recovers above the
  // threshold before the canary's does. Held for one metric interval after the incident, no longer.
  const incidentInWindow =
    incidents &&
    history.lastIncidentAt !== undefined &&
    history.now - history.lastIncidentAt <= (metric?.intervalMs ?? 0);
  if (!own.passed && incidentInWindow)
    return {
      verdict: "held",
      hold: "incident",
      summary: `${summary}: a shared incident is still in the window, holding`,
    };
  return { verdict: own.passed ? "passed" : "failed", summary };
}

export function judgeCheck(
  spec: EffectiveSpec,
  results: readonly MetricResult[],
  history: CheckHistory = NO_HISTORY,
): CheckOutcome {
  if (results.length === 0) return { verdict: "passed", summary: "no metrics configured", metrics: [] };
  const outcomes = results.map((r) => {
    const metric = spec.analysis.metrics.find((m) => m.name === r.name);
    return { r, o: judgeOne(spec, metric, r, history) };
  });
  const metrics: MetricCheck[] = outcomes.map(({ r, o }) => ({
    name: r.name,
    verdict: o.verdict,
    ...(finite(r.value) ? { canary: round(r.value) } : {}),
    ...(finite(r.primaryValue) ? { primary: round(r.primaryValue) } : {}),
    ...(r.canaryRequests !== undefined ? { canaryRequests: Math.round(r.canaryRequests) } : {}),
    ...(r.primaryRequests !== undefined ? { primaryRequests: Math.round(r.primaryRequests) } : {}),
    ...(r.window ? { window: r.window } : {}),
    ...(o.verdict !== "passed" ? { message: o.summary } : {}),
  }));
  const failed = outcomes.filter(({ o }) => o.verdict === "failed");
  const held = outcomes.filter(({ o }) => o.verdict === "held");
  const join = (list: typeof outcomes) => list.map(({ o }) => o.summary).join(", ");
  if (failed.length > 0) return { verdict: "failed", summary: join(failed), metrics };
  if (held.length > 0) {
    const hold = held.some(({ o }) => o.hold === "incident") ? "incident" : "evidence";
    return { verdict: "held", hold, summary: join(held), metrics };
  }
  return { verdict: "passed", summary: join(outcomes), metrics };
}

/** Status is JSON: an infinite p99 (every request in the +Inf bucket) is left out, not written as null. */
const finite = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value);

const round = (value: number): number => Math.round(value * 1000) / 1000;
