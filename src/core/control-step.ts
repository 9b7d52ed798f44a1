// Runtime control (docs/control.md): a pause, resume, abort, promote or retry request, consumed once
// (recorded in status.control) or ignored with the reason why; a run it steers moves as any other.
import type { CanaryPhase, CanaryStatus, ControlRecord, RunRecord } from "../api/canary.js";
import { endHold } from "./analysis-step.js";
import {
  ANALYSIS_PHASES,
  type Ctx,
  decision,
  isNewRevision,
  normal,
  unpaused,
  WAIT_REQUEUE_MS,
  warning,
} from "./context.js";
import { whoAndWhy } from "./control.js";
import type { CanaryEvent, Decision } from "./decision.js";
import { newRun } from "./evidence/run.js";
import { note, step } from "./status.js";
import { promote, promotionExtra, rollback, startRun } from "./transitions.js";
import type { ControlRequest } from "./world.js";

/** Phases a control request can steer: a run that has not passed analysis yet. */
const STEERABLE_PHASES: readonly CanaryPhase[] = ["Waiting", "Progressing", "WaitingPromotion"];

function controlRecord(ctx: Ctx, req: ControlRequest, result: string): ControlRecord {
  return {
    id: req.id,
    action: req.action,
    ...(req.by !== undefined ? { by: req.by } : {}),
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    at: ctx.now.toISOString(),
    result,
  };
}

/** The decision with the request recorded as consumed, and its own Event in place of the usual ones. */
function consumed(ctx: Ctx, req: ControlRequest, d: Decision, event: CanaryEvent, result = "done"): Decision {
  return {
    ...d,
    status: { ...d.status, control: controlRecord(ctx, req, result) },
    events: [event],
    requeueAfterMs: d.requeueAfterMs ?? WAIT_REQUEUE_MS,
  };
}

/** A request that cannot apply here: recorded (so it is not read again) and told, nothing else changes. */
export function ignore(ctx: Ctx, req: ControlRequest, why: string): Decision {
  const reason = `${req.action} request ${whoAndWhy(req)} ignored: ${why}`;
  return decision({
    status: { ...ctx.status, control: controlRecord(ctx, req, `ignored: ${why}`) },
    reason,
    events: [warning("RequestIgnored", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

export function control(ctx: Ctx, req: ControlRequest): Decision {
  switch (req.action) {
    case "abort":
      return abortRequest(ctx, req);
    case "promote":
      return promoteRequest(ctx, req);
    case "retry":
      return retryRequest(ctx, req);
    case "pause":
      return pauseRequest(ctx, req);
    case "resume":
      return resumeRequest(ctx, req);
    default:
      return ignore(ctx, req, `unknown action "${req.action}": use promote, abort, retry, pause or resume`);
  }
}

/** Why a request that steers a run does nothing in this phase. */
function noRun(ctx: Ctx): string {
  const phase = ctx.status.phase ?? "";
  if (phase === "Promoting" || phase === "Finalising")
    return `the run passed analysis and ${ctx.spec.names.primaryWorkload} is being promoted (phase ${phase})`;
  return `no run in progress (phase ${phase})`;
}

function abortRequest(ctx: Ctx, req: ControlRequest): Decision {
  const { status, world } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  if (!STEERABLE_PHASES.includes(status.phase ?? "")) return ignore(ctx, req, noRun(ctx));
  // Aborted while waiting for approval: the revision is rejected (not new any more) until retried.
  const extra: Partial<CanaryStatus> =
    status.phase === "Waiting"
      ? { lastAppliedSpec: target.revision, trackedConfigs: target.trackedConfigs, run: newRun(target) }
      : {};
  const d = rollback(ctx, `aborted ${whoAndWhy(req)}`, extra);
  return consumed(ctx, req, d, warning("Aborted", d.reason));
}

function promoteRequest(ctx: Ctx, req: ControlRequest): Decision {
  const { status, spec, world, ref } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  const phase = status.phase ?? "";
  if (phase === "Waiting") {
    if (!isNewRevision(status, target.revision)) return ignore(ctx, req, "nothing waits for approval");
    // Opens the confirm-rollout gate once: the run itself is analysed as any other.
    const d = startRun(
      ctx,
      `Rollout of ${ctx.id} approved ${whoAndWhy(req)}: scaling up ${spec.targetRef.name}.${ref.namespace}`,
      false,
    );
    return consumed(ctx, req, d, normal("RolloutApproved", d.reason));
  }
  if (!ANALYSIS_PHASES.includes(phase)) return ignore(ctx, req, noRun(ctx));
  const last = status.run?.checks?.at(-1);
  const lastPassed =
    spec.skipAnalysis || (last?.verdict === "passed" && status.run?.revision === status.lastAppliedSpec);
  // Waiting for promotion approval after a passed check: approve now (the confirm-promotion gate opens once).
  if (phase === "WaitingPromotion" && lastPassed && !status.paused) {
    const d = promote(
      endHold({ ...ctx, approved: true }),
      `Promotion of ${ctx.id} approved ${whoAndWhy(req)}`,
      promotionExtra(spec),
    );
    return consumed(ctx, req, d, normal("PromotedByRequest", d.reason));
  }
  // Otherwise the next check that passes promotes, skipping the remaining steps.
  const run: RunRecord =
    status.run !== undefined && status.run.revision === status.lastAppliedSpec
      ? status.run
      : { revision: status.lastAppliedSpec ?? target.revision };
  const promoteRequested = {
    id: req.id,
    ...(req.by !== undefined ? { by: req.by } : {}),
    ...(req.reason !== undefined ? { reason: req.reason } : {}),
    at: ctx.now.toISOString(),
  };
  const when = status.paused ? "the first check that passes after resume" : "the next check that passes";
  const pending = `promotes at ${when}, skipping the remaining steps`;
  const reason = `Promotion of ${ctx.id} requested ${whoAndWhy(req)}: ${pending}`;
  const d = decision({
    status: note({ ...status, run: { ...run, promoteRequested } }, reason, ctx.now),
    reason,
  });
  return consumed(ctx, req, d, normal("PromotionRequested", reason), `pending: ${pending}`);
}

function retryRequest(ctx: Ctx, req: ControlRequest): Decision {
  const { status, spec, world, ref } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  if (status.phase !== "Failed")
    return ignore(ctx, req, `only a failed run can be retried (phase ${status.phase ?? ""})`);
  if (target.revision !== status.lastAppliedSpec)
    return ignore(
      ctx,
      req,
      isNewRevision(status, target.revision)
        ? "the target runs a new revision: its run starts on its own"
        : "the target runs the promoted revision again: there is nothing to retry",
    );
  if (target.revision === status.lastPromotedSpec)
    return ignore(ctx, req, `${spec.names.primaryWorkload} already runs this revision`);
  // The same revision (lastAppliedSpec), analysed again from weight 0; the pod template is not touched.
  const d = startRun(
    ctx,
    `Retrying the analysis of ${ctx.id} ${whoAndWhy(req)}: scaling up ${spec.targetRef.name}.${ref.namespace}`,
    false,
  );
  return consumed(ctx, req, d, normal("Retried", d.reason));
}

function pauseRequest(ctx: Ctx, req: ControlRequest): Decision {
  const { status, now } = ctx;
  if (!STEERABLE_PHASES.includes(status.phase ?? "")) return ignore(ctx, req, noRun(ctx));
  if (status.paused) return ignore(ctx, req, "already paused");
  const weight = status.canaryWeight ?? 0;
  const reason = `Paused ${ctx.id} at weight ${weight} ${whoAndWhy(req)}: checks go on and failures still roll back, the weight holds until resume`;
  const d = decision({ status: note({ ...status, paused: true }, reason, now), reason });
  return consumed(ctx, req, d, normal("Paused", reason));
}

function resumeRequest(ctx: Ctx, req: ControlRequest): Decision {
  const { status, spec, now } = ctx;
  if (!status.paused) return ignore(ctx, req, "not paused");
  const phase = status.phase ?? "";
  const reason = `Resumed ${ctx.id} at weight ${status.canaryWeight ?? 0} ${whoAndWhy(req)}: the run continues, the next check an interval (${spec.analysis.intervalMs / 1000}s) from now`;
  // Stamped: the next check is an interval after resume, on what the canary serves from now.
  const next = STEERABLE_PHASES.includes(phase)
    ? step(unpaused(status), { phase: phase as CanaryPhase }, reason, now)
    : note(unpaused(status), reason, now);
  const d = decision({ status: next, reason });
  return consumed(ctx, req, d, normal("Resumed", reason));
}
