// The decision log: what a decision tells people (Events, alerts, post-rollout hooks) is recorded in
// the same status write as the decision, and sent afterwards by the reporter, which then advances
// status.reportedSeq. A controller killed between the two writes finds the record still unsent and
// sends it: at-least-once, with Events made idempotent by their names (see reporter.ts).
import type { CanaryStatus, DecisionRecord } from "../api/canary.js";
import type { CanaryEvent } from "./decision.js";

/** How many records status keeps: enough for the current run's story, small enough for etcd. */
export const DECISION_LOG_SIZE = 20;

export interface DecisionNews {
  reason: string;
  events: readonly CanaryEvent[];
  postRollout: boolean;
}

/** The status with one more record, when the decision has anything to tell; otherwise unchanged. */
export function recordDecision(status: CanaryStatus, news: DecisionNews, now: Date): CanaryStatus {
  if (news.events.length === 0 && !news.postRollout) return status;
  const log = status.decisions ?? [];
  const seq = Math.max(status.reportedSeq ?? 0, ...log.map((d) => d.seq)) + 1;
  const record: DecisionRecord = {
    seq,
    time: now.toISOString(),
    phase: status.phase ?? "",
    canaryWeight: status.canaryWeight ?? 0,
    reason: news.reason,
    events: news.events.map((e) => ({ ...e })),
    ...(news.postRollout ? { postRollout: true } : {}),
  };
  return { ...status, decisions: [...log, record].slice(-DECISION_LOG_SIZE) };
}

/** Records not yet sent, oldest first. */
export function unreported(status: CanaryStatus): DecisionRecord[] {
  const sent = status.reportedSeq ?? 0;
  return (status.decisions ?? []).filter((d) => d.seq > sent).sort((a, b) => a.seq - b.seq);
}
