// One step of a run under analysis (Progressing, WaitingPromotion): the looks of the sequential judge,
// the check and its outcome (advance, hold, failed check), and the promotion gate on evidence.
import type { CanaryStatus, EvidenceState, RunRecord } from "../api/canary.js";
import { type EffectiveSpec, latencyThresholdMs, sequentialJudge } from "../api/defaults.js";
import {
  ANALYSIS_PHASES,
  analysisDueAt,
  askHooks,
  type Ctx,
  decision,
  gate,
  MIN_INCIDENT_HOLD_MS,
  normal,
  pausedSentence,
  WAIT_REQUEUE_MS,
  warning,
} from "./context.js";
import { whoAndWhy } from "./control.js";
import type { Decision } from "./decision.js";
import { type CheckHistory, type CheckOutcome, judgeCheck } from "./evidence/check.js";
import { latestState, look } from "./evidence/look.js";
import { promotionEvidence } from "./evidence/promotion.js";
import { currentRun, withCheck, withServed } from "./evidence/run.js";
import { note, step } from "./status.js";
import { promote, promotionExtra, rollback, startRun } from "./transitions.js";
import { type GateHook, type Served, type ServedCounts, servedCounts } from "./world.js";

export function analyse(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const target = world.target;
  const primary = world.primary;
  if (target === undefined || primary === undefined) throw new Error("unreachable: checked by decide()");
  if (target.revision !== status.lastAppliedSpec) {
    return startRun(ctx, `New revision detected! Restarting analysis for ${id}`, true);
  }
  if (!target.readiness.ready) {
    if (target.readiness.deadlineExceeded) {
      return rollback(
        ctx,
        `canary deployment ${spec.targetRef.name} not ready within progressDeadlineSeconds ${spec.progressDeadlineSeconds}s: ${target.readiness.message}`,
      );
    }
    const reason = `waiting for canary ${spec.targetRef.name} rollout: ${target.readiness.message}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  if (!primary.readiness.ready) {
    const reason = `Halt advancement: ${spec.names.primaryWorkload} not ready: ${primary.readiness.message}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  if (spec.skipAnalysis) {
    if (status.phase === "WaitingPromotion" && now.getTime() < analysisDueAt(ctx)) return nextCheck(ctx);
    if (status.paused) return pausedHold(ctx);
    if (status.run?.promoteRequested) return promoteByRequest(ctx, status.run.promoteRequested, "");
    return promote(ctx, "spec.skipAnalysis is true");
  }

  const weight = status.canaryWeight ?? 0;
  const iterations = status.iterations ?? 0;
  // With analysis.mirror the canary gets mirrored traffic from the start of the run (blue/green, or the
  // weight-0 first step of a canary release), so that first step is measured like any other.
  const firstStep =
    !spec.analysis.mirror && (spec.analysis.strategy === "canary" ? weight === 0 : iterations === 0);
  // Every window of this run starts when the revision first gets traffic, never earlier.
  const run = currentRun(status, target, now);
  const rctx: Ctx = run === status.run ? ctx : { ...ctx, status: { ...status, run } };
  const dueAt = analysisDueAt(ctx);
  // The first step sends traffic to a canary that has had none: there is nothing to measure yet, so it
  // goes as soon as the canary is ready (Flagger waits a whole interval here). Later steps wait, and so
  // does a retry of the first one (a failed pre-rollout hook is retried an interval later, not at once).
  // Waiting for promotion approval asks again once per interval, never in a loop on our own writes.
  const paced = !firstStep || (status.failedChecks ?? 0) > 0 || status.phase === "WaitingPromotion";
  const due = !paced || now.getTime() >= dueAt;

  // The sequential judge looks between checks too, while the canary has traffic.
  const seen = firstStep ? ({ kind: "quiet" } as const) : lookAt(rctx, due);
  // A decision that asks for inputs leaves status alone: it is decided again, from the same status.
  if (seen.kind === "ask")
    return decision({ status, reason: "reading the run's evidence", needsServed: true });
  if (seen.kind === "regression") return rollback(rctx, seen.reason, { run: seen.run });
  const evidence = seen.kind === "looked" ? seen.state : undefined;
  if (!due) return nextCheck(rctx, evidence);

  if (firstStep) {
    // Paused before its first step, the canary gets no traffic until resume.
    if (status.paused) return pausedHold(ctx);
    const pre = gate(rctx, "pre-rollout");
    if (pre.state === "ask") return askHooks(rctx, ["pre-rollout"], "running pre-rollout webhooks");
    if (pre.state === "closed") return failedCheck(rctx, `pre-rollout webhook failed: ${pre.message}`);
    return advance(rctx, weight, iterations, "");
  }
  const manual = gate(rctx, "rollback");
  const rollout = gate(rctx, "rollout");
  const ask: GateHook[] = [
    ...(manual.state === "ask" ? ["rollback" as const] : []),
    ...(rollout.state === "ask" ? ["rollout" as const] : []),
  ];
  if (ask.length > 0 || world.analysis === undefined || world.served === undefined) {
    return decision({
      status,
      reason: "running webhooks and metric checks",
      needsHooks: ask,
      needsAnalysis: world.analysis === undefined,
      needsServed: world.served === undefined,
    });
  }
  if (manual.state === "open") return rollback(rctx, "a rollback webhook asked for it");
  const served = servedCounts(world.served);
  const history = checkHistory(rctx, run);
  const judged = judgeCheck(spec, world.analysis, history);
  // A promote request waives the sequential judge's wait for promotion evidence (a person took that
  // decision), never the thresholds: only a passed check promotes.
  const requested = run.promoteRequested;
  const outcome: CheckOutcome =
    rollout.state === "closed"
      ? { verdict: "failed", summary: `rollout webhook failed: ${rollout.message}`, metrics: [] }
      : requested && judged.verdict === "passed"
        ? judged
        : promotionGate(rctx, judged, history, served, weight, iterations);
  const checked = withCheck(withServed({ ...run, ...(evidence ? { evidence } : {}) }, served), {
    time: now.toISOString(),
    canaryWeight: weight,
    verdict: outcome.verdict,
    ...(outcome.hold ? { hold: outcome.hold } : {}),
    metrics: outcome.metrics,
  });
  const cctx: Ctx = { ...rctx, status: { ...rctx.status, run: checked } };
  if (outcome.verdict === "failed") return failedCheck(cctx, outcome.summary);
  if (outcome.verdict === "held") return hold(cctx, outcome);
  if (status.paused) return pausedHold(endHold(cctx), `: ${outcome.summary}`);
  if (requested) return promoteByRequest(endHold(cctx), requested, `: ${outcome.summary}`);
  return advance(cctx, weight, iterations, `: ${outcome.summary}`);
}

function nextCheck(ctx: Ctx, evidence?: EvidenceState): Decision {
  const dueAt = analysisDueAt(ctx);
  const untilDue = Math.max(0, dueAt - ctx.now.getTime());
  // withLooks() brings the wake-up forward to the next look while the judge watches the run.
  return decision({
    status: ctx.status,
    reason: `next check of ${ctx.id} at ${new Date(dueAt).toISOString()}`,
    requeueAfterMs: untilDue,
    ...(evidence ? { evidence } : {}),
  });
}

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

type Seen =
  | { kind: "quiet" }
  | { kind: "ask" }
  | { kind: "looked"; state: EvidenceState }
  | { kind: "regression"; reason: string; run: RunRecord };

/** One look of the sequential judge, when it is on and a look is due (at every check, and between). */
function lookAt(ctx: Ctx, checkDue: boolean): Seen {
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
function checkHistory(ctx: Ctx, run: RunRecord): CheckHistory {
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
function promotionGate(
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

/**
 * A check that is neither passed nor failed: too little evidence, or the primary failing too. The
 * weight holds and the next check comes an interval later. Waiting for evidence that lasts longer than
 * progressDeadlineSeconds ends: the checks are then judged on what there is (checkHistory).
 */
function hold(ctx: Ctx, outcome: CheckOutcome): Decision {
  const { spec, status, now, id } = ctx;
  const run = status.run ?? { revision: status.lastAppliedSpec ?? "" };
  const previous = run.checks?.[run.checks.length - 2];
  const { windowFrom: _widened, holdingSince: _since, ...rest } = run;
  const stamp = now.toISOString();
  const held: RunRecord =
    outcome.hold === "incident"
      ? // An incident's window is the metric's own (widening would keep the incident in every check), and
        // its time does not count toward the wait for evidence; its own deadline runs from its first check.
        {
          ...rest,
          lastIncidentAt: stamp,
          incidentSince: run.incidentSince ?? stamp,
          // Promotion evidence starts after the incident: its errors are the primary's too.
          ...(run.canary ? { promotionCountsFrom: run.canary } : {}),
        }
      : outcome.hold === "promotion"
        ? // Waiting to show a promotion safe keeps each check on the metric's own window: a late
          // degradation must not be averaged away over the whole run.
          { ...rest, holdingSince: run.holdingSince ?? stamp }
        : // Waiting for evidence reads from the traffic start, so the next check sees more requests.
          {
            ...run,
            holdingSince: run.holdingSince ?? stamp,
            ...(run.trafficSince ? { windowFrom: run.trafficSince } : {}),
          };
  const weight = status.canaryWeight ?? 0;
  const reason = `Halt ${id} advancement at weight ${weight}: ${outcome.summary}`;
  const phase = status.phase === "WaitingPromotion" ? "WaitingPromotion" : "Progressing";
  // Told once per hold, and again when its cause changes (waiting for evidence, then an incident).
  const first = previous?.verdict !== "held" || previous.hold !== outcome.hold;
  return decision({
    status: step(status, { phase, run: held }, reason, now),
    reason,
    events: first
      ? [
          outcome.hold === "incident"
            ? warning("SharedIncident", reason)
            : normal("WaitingForEvidence", reason),
        ]
      : [],
    requeueAfterMs: spec.analysis.intervalMs,
  });
}

/** One more failed check; at the threshold, the rollback. The phase is kept (WaitingPromotion stays). */
function failedCheck(ctx_: Ctx, summary: string): Decision {
  // A wait for evidence is not reset by a failed check (past its deadline, checks without evidence fail),
  // but its widened window goes: judged on what there is, a check reads the metric's own window, where an
  // early outlier ages out instead of failing every check to the end of the run.
  const ctx = narrowed(ctx_);
  const { spec, status, now, id } = ctx;
  const failed = (status.failedChecks ?? 0) + 1;
  const why = `${summary} (failed checks ${failed}/${spec.analysis.threshold})`;
  if (failed >= spec.analysis.threshold) {
    return rollback(ctx, why, { failedChecks: failed });
  }
  const reason = `Halt ${id} advancement: ${why}`;
  const phase = status.phase === "WaitingPromotion" ? "WaitingPromotion" : "Progressing";
  return decision({
    status: step(status, { phase, failedChecks: failed }, reason, now),
    reason,
    events: [warning("Halted", reason)],
    requeueAfterMs: spec.analysis.intervalMs,
  });
}

function narrowed(ctx: Ctx): Ctx {
  const run = ctx.status.run;
  if (run?.windowFrom === undefined) return ctx;
  const { windowFrom: _w, ...rest } = run;
  return { ...ctx, status: { ...ctx.status, run: rest } };
}

/** A passed check ends a hold: windows go back to the metric's interval. */
export function endHold(ctx: Ctx): Ctx {
  const run = ctx.status.run;
  if (
    run === undefined ||
    (run.holdingSince === undefined && run.windowFrom === undefined && run.incidentSince === undefined)
  )
    return ctx;
  const { holdingSince: _h, windowFrom: _w, incidentSince: _i, ...rest } = run;
  return { ...ctx, status: { ...ctx.status, run: rest } };
}

function advance(ctx_: Ctx, weight: number, iterations: number, checks: string): Decision {
  const ctx = endHold(ctx_);
  const { spec, status, now, id } = ctx;
  const a = spec.analysis;
  if (a.strategy === "canary") {
    const next = a.canaryWeights.find((w) => w > weight);
    if (next === undefined)
      return promote(ctx, `Canary analysis of ${id} passed at weight ${weight}${checks}`);
    const confirm = gate(ctx, "confirm-traffic-increase");
    if (confirm.state === "ask")
      return askHooks(ctx, ["confirm-traffic-increase"], "asking confirm-traffic-increase webhooks");
    if (confirm.state === "closed") {
      const reason = `Halt ${id} at weight ${weight}: waiting for approval to increase traffic to ${next}: ${confirm.message}`;
      // At weight 0 the step is not interval-paced, so the time is not stamped: we ask again after an
      // interval (requeue), not on the watch event of our own status write.
      return decision({
        status:
          weight === 0 ? note(status, reason, now) : step(status, { phase: "Progressing" }, reason, now),
        reason,
        requeueAfterMs: a.intervalMs,
      });
    }
    const reason = `Advance ${id} canary weight ${next}${checks}`;
    return decision({
      status: step(status, { phase: "Progressing", canaryWeight: next }, reason, now),
      reason,
      events: [normal("Progressing", reason)],
      requeueAfterMs: a.intervalMs,
    });
  }
  if (iterations < a.iterations) {
    const reason = `Advance ${id} canary iteration ${iterations + 1}/${a.iterations}${checks}`;
    // A/B testing sends the matched traffic to the canary for the whole run; blue/green sends none.
    const canaryWeight = a.strategy === "ab-testing" ? 100 : 0;
    return decision({
      status: step(status, { phase: "Progressing", iterations: iterations + 1, canaryWeight }, reason, now),
      reason,
      events: [normal("Progressing", reason)],
      requeueAfterMs: a.intervalMs,
    });
  }
  // Blue/green switches all traffic to the tested canary while the primary rolls out the new version.
  const extra = a.strategy === "blue-green" ? { canaryWeight: 100 } : {};
  return promote(ctx, `Canary analysis of ${id} completed ${a.iterations} iterations${checks}`, extra);
}

// ---- Runtime control inside a check (docs/control.md): a paused run, a pending promote request ----

/**
 * A paused run holds its weight. A passed check is recorded and the next one is an interval later; a
 * failed check still counts toward the rollback, and the sequential judge may still roll back.
 */
function pausedHold(ctx: Ctx, checks?: string): Decision {
  const { status, spec, now } = ctx;
  const weight = status.canaryWeight ?? 0;
  const reason = `Halt advancement at weight ${weight}: ${pausedSentence(ctx)}${checks ?? ""}; resume to continue`;
  const phase = status.phase === "WaitingPromotion" ? "WaitingPromotion" : "Progressing";
  return decision({
    status: checks === undefined ? note(status, reason, now) : step(status, { phase }, reason, now),
    reason,
    requeueAfterMs: spec.analysis.intervalMs,
  });
}

/** A promote request met a passed check: promote now, whatever steps remain (gates approved by it). */
function promoteByRequest(
  ctx: Ctx,
  req: NonNullable<RunRecord["promoteRequested"]>,
  checks: string,
): Decision {
  const weight = ctx.status.canaryWeight ?? 0;
  const d = promote(
    { ...ctx, approved: true },
    `Promoting ${ctx.id} on request ${whoAndWhy(req)}, skipping the remaining steps${checks ? `: check at weight ${weight} passed${checks}` : ""}`,
    promotionExtra(ctx.spec),
  );
  const control = ctx.status.control;
  const status =
    control?.id === req.id && control.action === "promote"
      ? { ...d.status, control: { ...control, result: "done" } }
      : d.status;
  return { ...d, status, events: [normal("PromotedByRequest", d.reason)] };
}
