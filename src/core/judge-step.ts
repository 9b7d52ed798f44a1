// The sequential judge's part of a run under analysis (docs/judge.md): its looks between checks, what a
// check knows of the run's holds and incidents, and the promotion gate on evidence. Pure, like decide().
import type { CanaryStatus, EvidenceState, RunRecord } from "../api/canary.js";
import { type EffectiveSpec, latencyThresholdMs, sequentialJudge } from "../api/defaults.js";
import { ANALYSIS_PHASES, type Ctx, MIN_INCIDENT_HOLD_MS } from "./context.js";
import type { Decision } from "./decision.js";
import type { CheckHistory, CheckOutcome } from "./evidence/check.js";
import { latestState, look } from "./evidence/look.js";
import { promotionEvidence } from "./evidence/promotion.js";
import { withServed } from "./evidence/run.js";
import { type Served, type ServedCounts, servedCounts } from "./world.js";

/** While the sequential judge watches a run, nothing waits longer than its look interval. */
export function withLooks(ctx: Ctx, d: Decision): Decision {
  if (!ANALYSIS_PHASES.includes(d.status.phase ?? "") || !watched(ctx.spec, d.status)) return d;
  if (d.requeueAfterMs === undefined) return d;
  return { ...d, requeueAfterMs: Math.min(d.requeueAfterMs, ctx.spec.analysis.judge.lookIntervalMs) };
}

/** The sequential judge looks at this run: it is on and the canary has had a step with traffic. */
function watched(spec: EffectiveSpec, status: CanaryStatus): boolean {
  return sequentialJudge(spec) && status.run?.trafficSince !== undefined;
}

export type Seen =
  | { kind: "quiet" }
  | { kind: "ask" }
  | { kind: "looked"; state: EvidenceState }
  | { kind: "regression"; reason: string; run: RunRecord };

/** One look of the sequential judge, when it is on and a look is due (at every check, and between). */
export function lookAt(ctx: Ctx, checkDue: boolean): Seen {
  const { spec, status, world, now } = ctx;
  const run = status.run;
  if (!watched(spec, status) || run?.trafficSince === undefined) return { kind: "quiet" };
  const state = latestState(run, world.evidence);
  if (world.served === undefined) {
    const lookDue =
      checkDue ||
      state === undefined ||
      now.getTime() - Date.parse(state.asOf) >= spec.analysis.judge.lookIntervalMs;
    return lookDue ? { kind: "ask" } : state ? { kind: "looked", state } : { kind: "quiet" };
  }
  const served = servedCounts(world.served);
  if (served === undefined) return state ? { kind: "looked", state } : { kind: "quiet" };
  const result = look(
    state,
    served,
    spec.analysis.judge.falseAlarmRate,
    new Date(run.trafficSince),
    latencyThresholdMs(spec) !== undefined,
  );
  if (result.regression === undefined) return { kind: "looked", state: result.state };
  return {
    kind: "regression",
    reason: result.regression,
    run: withServed({ ...run, evidence: result.state }, served),
  };
}

/** What a check needs to know of the run: how long it has waited for evidence, when an incident was. */
export function checkHistory(ctx: Ctx, run: RunRecord): CheckHistory {
  const now = ctx.now.getTime();
  const deadline = ctx.spec.progressDeadlineSeconds * 1000;
  const passed = (time: string | undefined, limit: number) => {
    const t = time ? Date.parse(time) : Number.NaN;
    return !Number.isNaN(t) && now - t > limit;
  };
  const incident = run.lastIncidentAt ? Date.parse(run.lastIncidentAt) : Number.NaN;
  return {
    now,
    evidenceDeadlinePassed: passed(run.holdingSince, deadline),
    // Incidents outlast rollouts: a short progress deadline must not turn one into the canary's fault.
    incidentDeadlinePassed: passed(run.incidentSince, Math.max(deadline, MIN_INCIDENT_HOLD_MS)),
    ...(Number.isNaN(incident) ? {} : { lastIncidentAt: incident }),
  };
}

/** Would advancing from here promote (no further weight, or the last iteration)? */
function promotesNext(spec: EffectiveSpec, weight: number, iterations: number): boolean {
  const a = spec.analysis;
  // advance() promotes once every iteration is done, from the check after the last one.
  return a.strategy === "canary"
    ? a.canaryWeights.find((w) => w > weight) === undefined
    : iterations >= a.iterations;
}

/**
 * Under the sequential judge a passed check that would promote also needs evidence that the canary is
 * within the thresholds over its whole run (promotion.ts); until then the run holds at its last step,
 * for at most progressDeadlineSeconds, after which the thresholds decide alone.
 */
export function promotionGate(
  ctx: Ctx,
  outcome: CheckOutcome,
  history: CheckHistory,
  served: ServedCounts | undefined,
  weight: number,
  iterations: number,
): CheckOutcome {
  const { spec } = ctx;
  if (outcome.verdict !== "passed" || !sequentialJudge(spec) || !promotesNext(spec, weight, iterations))
    return outcome;
  const run = ctx.status.run;
  const evidence = promotionEvidence(
    spec,
    served ? countsAfter(served.canary, run?.promotionCountsFrom) : undefined,
    spec.analysis.judge.falsePromotionRate,
    served?.slowerThanMs,
  );
  if (evidence.ok)
    return evidence.summary ? { ...outcome, summary: `${outcome.summary}; ${evidence.summary}` } : outcome;
  if (history.evidenceDeadlinePassed)
    return {
      ...outcome,
      summary: `${outcome.summary}; ${evidence.summary}, promoting on the thresholds after progressDeadlineSeconds ${spec.progressDeadlineSeconds}s`,
    };
  return { verdict: "held", hold: "promotion", summary: evidence.summary, metrics: outcome.metrics };
}

/** What the canary served after `from` (counts only grow; a lower reading is nothing new). */
function countsAfter(now: Served, from: Served | undefined): Served {
  if (from === undefined) return now;
  const after = (a: number, b: number) => Math.max(0, a - b);
  return {
    requests: after(now.requests, from.requests),
    errors: after(now.errors, from.errors),
    ...(now.slow !== undefined ? { slow: after(now.slow, from.slow ?? 0) } : {}),
  };
}
