// One step of a run under analysis (Progressing, WaitingPromotion): readiness, the first step, a due check
// and its outcome (advance, hold, failed check), a paused run and a promote request. The sequential judge's
// looks and promotion gate are in judge-step.ts.
import type { EvidenceState, RunRecord } from "../api/canary.js";
import {
  analysisDueAt,
  askHooks,
  type Ctx,
  decision,
  gate,
  normal,
  pausedSentence,
  WAIT_REQUEUE_MS,
  warning,
} from "./context.js";
import { whoAndWhy } from "./control.js";
import type { Decision } from "./decision.js";
import { type CheckOutcome, judgeCheck } from "./evidence/check.js";
import { currentRun, withCheck, withServed } from "./evidence/run.js";
import { checkHistory, lookAt, promotionGate } from "./judge-step.js";
import { splitPlan } from "./split/plan.js";
import { judgeSplit, type SplitVerdict } from "./split/verdict.js";
import { note, step } from "./status.js";
import { promote, promotionExtra, rollback, startRun } from "./transitions.js";
import { type GateHook, servedCounts } from "./world.js";

export function analyse(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const target = world.target;
  if (target === undefined || world.primary === undefined)
    throw new Error("unreachable: checked by decide()");
  if (target.revision !== status.lastAppliedSpec) {
    return startRun(ctx, `New revision detected! Restarting analysis for ${id}`, true);
  }
  const waiting = notReady(ctx);
  if (waiting) return waiting;
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
  // The first step sends traffic to a canary that has had none: there is nothing to measure yet, so it
  // goes as soon as the canary is ready (Flagger waits a whole interval here). Later steps wait, and so
  // does a retry of the first one (a failed pre-rollout hook is retried an interval later, not at once).
  // Waiting for promotion approval asks again once per interval, never in a loop on our own writes.
  const paced = !firstStep || (status.failedChecks ?? 0) > 0 || status.phase === "WaitingPromotion";
  const due = !paced || now.getTime() >= analysisDueAt(ctx);

  // The sequential judge looks between checks too, while the canary has traffic.
  const seen = firstStep ? ({ kind: "quiet" } as const) : lookAt(rctx, due);
  // A decision that asks for inputs leaves status alone: it is decided again, from the same status.
  if (seen.kind === "ask")
    return decision({ status, reason: "reading the run's evidence", needsServed: true });
  if (seen.kind === "regression") return rollback(rctx, seen.reason, { run: seen.run });
  const evidence = seen.kind === "looked" ? seen.state : undefined;
  if (!due) return nextCheck(rctx, evidence);
  if (firstStep) return firstTraffic(rctx, weight, iterations);
  return check(rctx, run, weight, iterations, evidence);
}

/** Canary or primary still rolling out: wait (or roll back a canary past its progress deadline). */
function notReady(ctx: Ctx): Decision | undefined {
  const { spec, status, world, now } = ctx;
  const target = world.target;
  if (target !== undefined && !target.readiness.ready) {
    if (target.readiness.deadlineExceeded) {
      return rollback(
        ctx,
        `canary deployment ${spec.targetRef.name} not ready within progressDeadlineSeconds ${spec.progressDeadlineSeconds}s: ${target.readiness.message}`,
      );
    }
    const reason = `waiting for canary ${spec.targetRef.name} rollout: ${target.readiness.message}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  if (world.primary !== undefined && !world.primary.readiness.ready) {
    const reason = `Halt advancement: ${spec.names.primaryWorkload} not ready: ${world.primary.readiness.message}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  return undefined;
}

/** The run's first step: nothing to measure yet, only the pre-rollout hooks (and a pause) stand before it. */
function firstTraffic(ctx: Ctx, weight: number, iterations: number): Decision {
  // Paused before its first step, the canary gets no traffic until resume.
  if (ctx.status.paused) return pausedHold(ctx);
  const pre = gate(ctx, "pre-rollout");
  if (pre.state === "ask") return askHooks(ctx, ["pre-rollout"], "running pre-rollout webhooks");
  if (pre.state === "closed") return failedCheck(ctx, `pre-rollout webhook failed: ${pre.message}`);
  return advance(ctx, weight, iterations, "");
}

/** A check that is due: the rollback and rollout hooks, the metrics and the judge, then its outcome. */
function check(
  ctx: Ctx,
  run: RunRecord,
  weight: number,
  iterations: number,
  evidence: EvidenceState | undefined,
): Decision {
  const { spec, status, world, now } = ctx;
  const manual = gate(ctx, "rollback");
  const rollout = gate(ctx, "rollout");
  const ask: GateHook[] = [
    ...(manual.state === "ask" ? ["rollback" as const] : []),
    ...(rollout.state === "ask" ? ["rollout" as const] : []),
  ];
  const plan = splitPlan(spec, status);
  if (ask.length > 0 || world.analysis === undefined || world.served === undefined) {
    return decision({
      status,
      reason: "running webhooks and metric checks",
      needsHooks: ask,
      needsAnalysis: world.analysis === undefined,
      needsServed: world.served === undefined,
      // Asked with the checks; a world given checks but no split (replay) is decided without it.
      needsSplit: plan.kind === "verify" && world.split === undefined,
    });
  }
  if (manual.state === "open") return rollback(ctx, "a rollback webhook asked for it");
  const served = servedCounts(world.served);
  const history = checkHistory(ctx, run);
  const judged = judgeCheck(spec, world.analysis, history);
  const split = judgeSplit(plan, world.split, `canary ${spec.names.canaryWorkload}`);
  // A promote request waives the sequential judge's wait for promotion evidence (a person took that
  // decision), never the thresholds: only a passed check promotes.
  const requested = run.promoteRequested;
  const outcome: CheckOutcome = withSplit(
    rollout.state === "closed"
      ? { verdict: "failed", summary: `rollout webhook failed: ${rollout.message}`, metrics: [] }
      : split?.kind === "mismatch"
        ? // The checks measured a canary that did not get its share: the step halts on the split.
          { verdict: "failed", summary: split.reason, metrics: judged.metrics }
        : requested && judged.verdict === "passed"
          ? judged
          : promotionGate(ctx, judged, history, served, weight, iterations),
    split,
  );
  const checked = withCheck(withServed({ ...run, ...(evidence ? { evidence } : {}) }, served), {
    time: now.toISOString(),
    canaryWeight: weight,
    verdict: outcome.verdict,
    ...(outcome.hold ? { hold: outcome.hold } : {}),
    metrics: outcome.metrics,
  });
  const cctx: Ctx = { ...ctx, status: { ...ctx.status, run: checked } };
  if (outcome.verdict === "failed")
    return failedCheck(cctx, outcome.summary, split?.kind === "mismatch" ? "TrafficSplitMismatch" : "Halted");
  if (outcome.verdict === "held") return hold(cctx, outcome);
  if (status.paused) return pausedHold(endHold(cctx), `: ${outcome.summary}`);
  if (requested) return promoteByRequest(endHold(cctx), requested, `: ${outcome.summary}`);
  return advance(cctx, weight, iterations, `: ${outcome.summary}`);
}

/** A passed check says what the split check saw (or why it could not tell); a failed one keeps its reason. */
function withSplit(outcome: CheckOutcome, split: SplitVerdict | undefined): CheckOutcome {
  if (split === undefined || outcome.verdict !== "passed") return outcome;
  return { ...outcome, summary: outcome.summary ? `${outcome.summary}; ${split.reason}` : split.reason };
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
function failedCheck(ctx_: Ctx, summary: string, event = "Halted"): Decision {
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
    events: [warning(event, reason)],
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
