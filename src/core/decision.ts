import type { CanaryStatus, EvidenceState } from "../api/canary.js";
import type { GateHook } from "./world.js";

/**
 * Notifications a decision asks for. Changes to the world are not actions: the shell derives them
 * from the recorded status (routes, scale, the primary's template), so a crash never skips one.
 */
export type EdgeAction =
  /** notify the post-rollout hooks (their answers change nothing) */
  { kind: "post-rollout" };

export interface CanaryEvent {
  type: "Normal" | "Warning";
  /** CamelCase, as Kubernetes events expect: Synced, Progressing, Promoted, RolledBack, ... */
  reason: string;
  message: string;
}

export interface Decision {
  /** the next status; the world (routes, scale) is then made to match it */
  status: CanaryStatus;
  actions: EdgeAction[];
  events: CanaryEvent[];
  /** why: the human-readable sentence that goes to the condition, the log and (for changes) an Event */
  reason: string;
  /** when to look again even if nothing changes in the cluster; undefined: only on change */
  requeueAfterMs: number | undefined;
  /** the step is due and needs metric results: run the checks and decide again with them */
  needsAnalysis: boolean;
  /** webhook types to call before deciding again (gates: approvals, load tests, manual rollback) */
  needsHooks: GateHook[];
  /** the run's served counts are needed (harm, the sequential judge): read them and decide again */
  needsServed: boolean;
  /** the requests per side since the current step are needed (traffic split check): read them, decide again */
  needsSplit?: boolean;
  /** the judge's state after this look, for the shell to keep until the next status write carries it */
  evidence?: EvidenceState;
}
