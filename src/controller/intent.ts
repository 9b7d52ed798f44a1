// The status a reconcile records: the decision's status (or the old one, when something stood in the
// way), the Ready condition, and a decision-log record for everything worth an Event. Pure.
import type { CanaryStatus } from "../api/canary.js";
import type { CanaryEvent, Decision } from "../core/decision.js";
import { recordDecision } from "../core/decision-log.js";
import { READY, withCondition } from "../core/status.js";

/** Something that stopped this reconcile short of deciding, or of making the world match. */
export interface Obstacle {
  /** Ready's reason: Blocked (the user must act), Rejected (the API refused a write), InvalidSpec */
  reason: "Blocked" | "Rejected" | "InvalidSpec";
  message: string;
}

export interface IntentInput {
  before: CanaryStatus;
  decision: Decision | undefined;
  obstacle: Obstacle | undefined;
  notes: readonly string[];
  generation: number | undefined;
  /** the highest decision-log seq already sent (the reporter may know more than status does) */
  reportedSeq: number | undefined;
  now: Date;
}

export function composeIntent(input: IntentInput): CanaryStatus {
  const { before, decision, obstacle, notes, now } = input;
  // An obstacle keeps the status we had: no step is taken that the world cannot follow.
  const base = obstacle === undefined && decision !== undefined ? decision.status : before;
  const readyBefore = before.conditions?.find((c) => c.type === READY);
  // Notes ride along in the message, so the next reconcile sees them told and tells them no more
  // (otherwise every reconcile would record them again: a status write loop on our own watch events).
  const ready = obstacle
    ? {
        type: READY,
        status: "False" as const,
        reason: obstacle.reason,
        message: [obstacle.message, ...notes].join("; "),
      }
    : {
        type: READY,
        status: "True" as const,
        reason: "Reconciled",
        message: notes.join("; ") || "spec is valid; routes and workloads reconciled",
      };
  const events: CanaryEvent[] = obstacle === undefined ? [...(decision?.events ?? [])] : [];
  const toldBefore =
    readyBefore?.status === "False" && readyBefore.message?.includes(obstacle?.message ?? "");
  if (obstacle && !toldBefore)
    events.push({ type: "Warning", reason: obstacle.reason, message: obstacle.message });
  for (const n of notes) {
    if (!readyBefore?.message?.includes(n)) events.push({ type: "Normal", reason: "Synced", message: n });
  }
  const reportedSeq = Math.max(before.reportedSeq ?? 0, input.reportedSeq ?? 0);
  const next: CanaryStatus = {
    ...base,
    ...(reportedSeq > 0 ? { reportedSeq } : {}),
    ...(input.generation !== undefined ? { observedGeneration: input.generation } : {}),
    conditions: withCondition(base.conditions, ready, now),
  };
  return recordDecision(
    next,
    {
      reason: obstacle?.message ?? decision?.reason ?? "",
      events,
      postRollout:
        obstacle === undefined && (decision?.actions.some((a) => a.kind === "post-rollout") ?? false),
    },
    now,
  );
}
