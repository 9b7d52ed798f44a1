// The writes that move a run between phases: a run starts, rolls back, is promoted (after the
// confirm-promotion gate), rolls the promotion out on the primary, and is finalised.
import type { CanaryStatus } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import {
  analysisDueAt,
  askHooks,
  type Ctx,
  decision,
  type Gate,
  gate,
  normal,
  postRollout,
  unpaused,
  WAIT_REQUEUE_MS,
  warning,
} from "./context.js";
import type { Decision } from "./decision.js";
import { harmSentence, newRun } from "./evidence/run.js";
import { withRunEnded } from "./history.js";
import { note, step } from "./status.js";

export function startRun(ctx: Ctx, reason: string, restart: boolean): Decision {
  const { status, world, now } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  const next = step(
    status,
    {
      phase: "Progressing",
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: target.revision,
      trackedConfigs: target.trackedConfigs,
      run: newRun(target),
    },
    reason,
    now,
  );
  return decision({
    // A run cut short by a newer revision is history too ("Superseded").
    status: restart ? withRunEnded(status, next, { reason, now, outcome: "Superseded" }) : next,
    reason,
    events: [restart ? warning("RevisionChanged", reason) : normal("Synced", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

export function rollback(ctx: Ctx, why: string, extra: Partial<CanaryStatus> = {}): Decision {
  const { status, now, id } = ctx;
  const harm = harmSentence(extra.run ?? status.run);
  const reason = `Rolling back ${id}: ${why}${harm ? `; ${harm} before the rollback` : ""}`;
  const next = step(
    unpaused(status),
    { ...extra, phase: "Failed", canaryWeight: 0 },
    `Canary analysis failed: ${why}`,
    now,
  );
  return decision({
    // The run's line in the history goes in the same write as its end (src/core/history.ts).
    status: withRunEnded(status, next, { reason: why, now }),
    reason,
    actions: postRollout(ctx),
    events: [warning("RolledBack", reason)],
  });
}

export function promote(ctx: Ctx, why: string, extra: Partial<CanaryStatus> = {}): Decision {
  const { status, spec, now, ref } = ctx;
  const confirm: Gate = ctx.approved ? { state: "open" } : gate(ctx, "confirm-promotion");
  if (confirm.state === "ask")
    return askHooks(ctx, ["confirm-promotion"], "asking confirm-promotion webhooks");
  if (confirm.state === "closed") {
    // Traffic stays where it is and the checks go on (a failure still rolls back) until approved.
    const reason = `${why}; waiting for promotion approval: ${confirm.message}`;
    const waiting = status.phase === "WaitingPromotion";
    return decision({
      // Stamped every time: the next check (and the next ask) is one interval later.
      status: step(status, { phase: "WaitingPromotion" }, reason, now),
      reason,
      events: waiting
        ? []
        : [
            normal(
              "WaitingPromotion",
              `Halt ${ctx.id} advancement waiting for promotion approval: ${confirm.message}`,
            ),
          ],
      requeueAfterMs: spec.analysis.intervalMs,
    });
  }
  // The shell copies the template while the phase is Promoting (see converge.ts), after recording it.
  const reason = `${why}: copying ${spec.targetRef.name}.${ref.namespace} template spec to ${spec.names.primaryWorkload}.${ref.namespace}`;
  return decision({
    status: step(status, { ...extra, phase: "Promoting" }, reason, now),
    reason,
    events: [normal("Promoting", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

/** Blue/green switches all traffic to the tested canary while the primary rolls out (as advance()). */
export const promotionExtra = (spec: EffectiveSpec): Partial<CanaryStatus> =>
  spec.analysis.strategy === "blue-green" ? { canaryWeight: 100 } : {};

export function promoting(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const primary = world.primary;
  if (primary === undefined) throw new Error("unreachable: checked by decide()");
  // The cache may not show our template change yet: a primary still on the old revision is not "done".
  const promotedSeen = primary.revision === undefined || primary.revision === status.lastAppliedSpec;
  // The tested template can only be copied from the target while the target still holds it.
  if (
    !promotedSeen &&
    ctx.world.target !== undefined &&
    ctx.world.target.revision !== status.lastAppliedSpec
  ) {
    return startRun(ctx, `New revision detected before ${id} was promoted! Restarting analysis`, true);
  }
  if (!promotedSeen || !primary.readiness.ready) {
    const why = promotedSeen ? primary.readiness.message : "the promoted template has not reached it yet";
    const reason = `waiting for ${spec.names.primaryWorkload} to roll out the promoted template: ${why}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  const weight = status.canaryWeight ?? 0;
  const promotionStep = spec.analysis.stepWeightPromotion;
  if (
    promotionStep !== undefined &&
    promotionStep > 0 &&
    weight - promotionStep > 0 &&
    spec.analysis.strategy === "canary"
  ) {
    if (now.getTime() < analysisDueAt(ctx)) {
      const dueAt = analysisDueAt(ctx);
      return decision({
        status,
        reason: `next promotion step of ${id}`,
        requeueAfterMs: dueAt - now.getTime(),
      });
    }
    const next = weight - promotionStep;
    const reason = `Advance ${id} primary weight ${100 - next}`;
    return decision({
      status: step(status, { phase: "Promoting", canaryWeight: next }, reason, now),
      reason,
      events: [normal("Promoting", reason)],
      requeueAfterMs: spec.analysis.intervalMs,
    });
  }
  const reason = `Routing all traffic to primary ${spec.names.primaryWorkload}`;
  return decision({
    status: step(
      status,
      { phase: "Finalising", canaryWeight: 0, lastPromotedSpec: status.lastAppliedSpec },
      reason,
      now,
    ),
    reason,
    events: [normal("Promoting", reason)],
    requeueAfterMs: 0,
  });
}

export function finalise(ctx: Ctx): Decision {
  const { spec, status, now, id, ref } = ctx;
  const harm = harmSentence(status.run);
  const reason = `Promotion completed! Scaling down ${spec.targetRef.name}.${ref.namespace}${harm ? `; ${harm}` : ""}`;
  const next = step(
    unpaused(status),
    { phase: "Succeeded", canaryWeight: 0, failedChecks: 0 },
    `Canary analysis of ${id} completed successfully, promotion finished`,
    now,
  );
  return decision({
    status: withRunEnded(status, next, { reason, now }),
    reason,
    actions: postRollout(ctx),
    events: [normal("Succeeded", reason)],
  });
}
