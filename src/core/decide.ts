// The decision core: from (Canary, observed world) to (next status, actions, events, reason).
// Pure and synchronous, so every phase transition is unit-tested without a cluster. The shell
// (src/controller) observes the world, calls decide(), performs the actions, makes routes and
// scale match the next status, and writes it. Phases and event texts follow Flagger's.
// This file dispatches by phase and holds the steps outside a run (initialize, idle, a missing
// target or primary); a run's steps are in analysis-step.ts, transitions.ts and control-step.ts.
import type { CanaryPhase, CanaryStatus } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { analyse } from "./analysis-step.js";
import {
  ANALYSIS_PHASES,
  askHooks,
  type CanaryRef,
  type Ctx,
  decision,
  gate,
  isNewRevision,
  normal,
  pausedSentence,
  unpaused,
  WAIT_REQUEUE_MS,
  warning,
} from "./context.js";
import { control, ignore } from "./control-step.js";
import type { Decision } from "./decision.js";
import { withLooks } from "./judge-step.js";
import { note, step } from "./status.js";
import { finalise, promoting, rollback, startRun } from "./transitions.js";
import type { ObservedWorld } from "./world.js";

// Every name this module exported before the split stays importable from here.
export type { CanaryRef } from "./context.js";
export { MIN_INCIDENT_HOLD_MS, WAIT_REQUEUE_MS } from "./context.js";

const IDLE_PHASES: readonly CanaryPhase[] = ["Initialized", "Succeeded", "Failed", "Waiting"];

/** Phases in which the target serves (or is about to serve) traffic as the canary. */
const RUN_PHASES: readonly CanaryPhase[] = ["Waiting", "Progressing", "WaitingPromotion", "Promoting"];

const promotedMessage = (status: CanaryStatus): string | undefined =>
  status.conditions?.find((c) => c.type === "Promoted")?.message;

export function decide(
  ref: CanaryRef,
  spec: EffectiveSpec,
  status: CanaryStatus,
  world: ObservedWorld,
): Decision {
  const ctx: Ctx = {
    ref,
    spec,
    status,
    stored: status,
    world,
    now: world.now,
    id: `${ref.name}.${ref.namespace}`,
  };
  const phase = status.phase ?? "";

  if (world.target === undefined) return targetMissing(ctx);
  // A control request is consumed once: its id in status.control makes a double or stale one a no-op.
  const request =
    world.request !== undefined && world.request.id !== status.control?.id ? world.request : undefined;
  if (spec.suspend) {
    if (request)
      return ignore(ctx, request, "spec.suspend is true: Serin leaves this Canary alone until it is false");
    const reason = "spec.suspend is true: analysis paused, routes and scale left as they are";
    return decision({ status: note(status, reason, ctx.now), reason });
  }
  if (phase === "" || phase === "Initializing")
    return request
      ? ignore(ctx, request, "the Canary is initializing: there is no run to steer")
      : initialize(ctx);
  // A request waits (unread) while the primary is restored: it steers a run that holds until then.
  if (world.primary === undefined) return primaryMissing(ctx);
  if (request) return control(ctx, request);
  if (IDLE_PHASES.includes(phase)) return idle(ctx);
  if (ANALYSIS_PHASES.includes(phase)) return withLooks(ctx, analyse(ctx));
  if (phase === "Promoting") return promoting(ctx);
  if (phase === "Finalising") return finalise(ctx);
  const reason = `phase ${phase}: nothing to do`;
  return decision({ status, reason });
}

/**
 * The target is gone. Mid-run, its share of traffic would go nowhere: the run ends now with all traffic
 * on the primary. A promotion already copied to the primary finishes (it passed analysis); one not yet
 * copied cannot be, since the tested template went with the target.
 */
function targetMissing(ctx: Ctx): Decision {
  const { spec, status, world, ref, now } = ctx;
  const phase = status.phase ?? "";
  const gone = `target Deployment ${spec.targetRef.name}.${ref.namespace} not found`;
  const promotionCopied = world.primary !== undefined && world.primary.revision === status.lastAppliedSpec;
  if (phase === "Finalising" || (phase === "Promoting" && promotionCopied)) {
    return phase === "Finalising"
      ? finalise(ctx)
      : promoting({ ...ctx, status: { ...status, canaryWeight: 0 } });
  }
  if (RUN_PHASES.includes(phase)) {
    return rollback(ctx, `${gone} during the run: all traffic is back on ${spec.names.primaryWorkload}`);
  }
  const reason = `${gone}: create it or fix spec.targetRef.name`;
  return decision({
    status: note(status, reason, now),
    reason,
    // Said once, not at every resync: the condition keeps saying it.
    events: promotedMessage(status) === reason ? [] : [warning("TargetNotFound", reason)],
  });
}

/**
 * The primary was deleted after initialization. The shell re-creates it from the last promoted revision
 * it recorded (never from the target, which may hold the revision under test); until it is back and
 * ready nothing advances, and the run then continues where it was.
 */
function primaryMissing(ctx: Ctx): Decision {
  const { spec, status, ref, now } = ctx;
  const reason = `primary Deployment ${spec.names.primaryWorkload}.${ref.namespace} is missing: restoring it on the last promoted revision ${status.lastPromotedSpec ?? "(unknown)"}; the run holds until it is ready`;
  return decision({
    status: note(status, reason, now),
    reason,
    events: promotedMessage(status) === reason ? [] : [warning("PrimaryMissing", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

function initialize(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  if (world.primary === undefined) {
    const reason = `creating ${spec.names.primaryWorkload} from ${spec.targetRef.name}`;
    return decision({
      status: step(
        status,
        { phase: "Initializing", canaryWeight: 0, failedChecks: 0, iterations: 0 },
        reason,
        now,
      ),
      reason,
      events: status.phase === "Initializing" ? [] : [normal("Synced", `Initializing ${id}: ${reason}`)],
      requeueAfterMs: WAIT_REQUEUE_MS,
    });
  }
  if (!world.primary.readiness.ready) {
    const reason = `waiting for ${spec.names.primaryWorkload} to be ready: ${world.primary.readiness.message}`;
    const base =
      status.phase === "Initializing" ? status : step(status, { phase: "Initializing" }, reason, now);
    return decision({
      status: note(base, reason, now),
      reason,
      events:
        world.primary.readiness.deadlineExceeded && promotedMessage(status) !== reason
          ? [warning("PrimaryNotReady", reason)]
          : [],
      requeueAfterMs: WAIT_REQUEUE_MS,
    });
  }
  const reason = `Initialization done! ${id}`;
  // The primary runs what it was created from; if the target changed since, that change is a new
  // revision to analyse, not something to call promoted.
  const baseline = world.primary.revision ?? target.revision;
  return decision({
    status: step(
      status,
      {
        phase: "Initialized",
        canaryWeight: 0,
        failedChecks: 0,
        iterations: 0,
        lastAppliedSpec: baseline,
        lastPromotedSpec: baseline,
        trackedConfigs: target.trackedConfigs,
      },
      reason,
      now,
    ),
    reason,
    events: [normal("Synced", reason)],
  });
}

function idle(ctx: Ctx): Decision {
  const { status, world, ref, spec } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  if (isNewRevision(status, target.revision)) {
    if (status.paused && status.phase === "Waiting") {
      const reason = `${pausedSentence(ctx)}: the rollout of the new revision waits for resume`;
      return decision({
        status: note(status, reason, ctx.now),
        reason,
        requeueAfterMs: spec.analysis.intervalMs,
      });
    }
    const confirm = gate(ctx, "confirm-rollout");
    if (confirm.state === "ask") return askHooks(ctx, ["confirm-rollout"], "asking confirm-rollout webhooks");
    if (confirm.state === "closed") {
      const reason = `Halt ${ctx.id} advancement waiting for approval: ${confirm.message}`;
      const waiting = status.phase === "Waiting";
      return decision({
        status: waiting ? note(status, reason, ctx.now) : step(status, { phase: "Waiting" }, reason, ctx.now),
        reason,
        events: waiting ? [] : [normal("Waiting", reason)],
        requeueAfterMs: spec.analysis.intervalMs,
      });
    }
    return startRun(ctx, `New revision detected! Scaling up ${spec.targetRef.name}.${ref.namespace}`, false);
  }
  if (status.phase === "Waiting") {
    // The revision that waited for approval was reverted: nothing to roll out any more.
    const reason = `revision reverted while waiting for approval: ${spec.names.primaryWorkload} serves all traffic`;
    return decision({
      status: step(
        unpaused(status),
        { phase: status.lastPromotedSpec ? "Succeeded" : "Initialized" },
        reason,
        ctx.now,
      ),
      reason,
    });
  }
  const reason =
    status.phase === "Failed"
      ? (status.conditions?.find((c) => c.type === "Promoted")?.message ?? "last run failed")
      : `${status.phase}: primary serves all traffic`;
  return decision({ status, reason });
}
