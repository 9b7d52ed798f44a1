// What every step of the decision core shares: the context of one decision (Ctx), the Decision and
// Event builders, the webhook gates, and the small status helpers more than one step needs.
import type { CanaryPhase, CanaryStatus } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { whoAndWhy } from "./control.js";
import type { CanaryEvent, Decision, EdgeAction } from "./decision.js";
import type { GateHook, ObservedWorld } from "./world.js";

export interface CanaryRef {
  name: string;
  namespace: string;
}

/** A shared incident holds a run for progressDeadlineSeconds, and at least this long. */
export const MIN_INCIDENT_HOLD_MS = 10 * 60_000;

/** How often to look again while waiting for a rollout that the watches should report anyway. */
export const WAIT_REQUEUE_MS = 5_000;

export const ANALYSIS_PHASES: readonly CanaryPhase[] = ["Progressing", "WaitingPromotion"];

export interface Ctx {
  ref: CanaryRef;
  spec: EffectiveSpec;
  status: CanaryStatus;
  /** the status as stored: decisions that ask for inputs return it unchanged (they are decided again) */
  stored: CanaryStatus;
  world: ObservedWorld;
  now: Date;
  id: string;
  /** a control request approved this step: confirm-rollout / confirm-promotion gates are not asked */
  approved?: boolean;
}

export function decision(partial: Partial<Decision> & { status: CanaryStatus; reason: string }): Decision {
  return {
    actions: [],
    events: [],
    requeueAfterMs: undefined,
    needsAnalysis: false,
    needsHooks: [],
    needsServed: false,
    ...partial,
  };
}

const normal = (reason: string, message: string): CanaryEvent => ({ type: "Normal", reason, message });
const warning = (reason: string, message: string): CanaryEvent => ({ type: "Warning", reason, message });

export { normal, warning };

export type Gate = { state: "open" } | { state: "closed"; message: string } | { state: "ask" };

/**
 * A webhook gate: open when no hook of that type is configured or all answered 2xx, "ask" when the
 * shell has not called them yet. For `rollback` hooks "open" means a rollback was requested.
 */
export function gate(ctx: Ctx, type: GateHook): Gate {
  if (!ctx.spec.analysis.webhooks.some((h) => h.type === type))
    return type === "rollback" ? { state: "closed", message: "" } : { state: "open" };
  const answer = ctx.world.hooks?.[type];
  if (answer === undefined) return { state: "ask" };
  return answer.ok ? { state: "open" } : { state: "closed", message: answer.message };
}

/** Notify post-rollout hooks when a run ends, if there are any. */
export function postRollout(ctx: Ctx): EdgeAction[] {
  return ctx.spec.analysis.webhooks.some((h) => h.type === "post-rollout") ? [{ kind: "post-rollout" }] : [];
}

export function askHooks(ctx: Ctx, types: GateHook[], reason: string): Decision {
  return decision({ status: ctx.stored, reason, needsHooks: types });
}

/** A revision is new when it is neither the one last analysed nor the one last promoted (a manual revert is not). */
export function isNewRevision(status: CanaryStatus, revision: string): boolean {
  return revision !== status.lastAppliedSpec && revision !== status.lastPromotedSpec;
}

export function analysisDueAt(ctx: Ctx): number {
  const last = ctx.status.lastTransitionTime ? Date.parse(ctx.status.lastTransitionTime) : 0;
  return (Number.isNaN(last) ? 0 : last) + ctx.spec.analysis.intervalMs;
}

export function unpaused(status: CanaryStatus): CanaryStatus {
  if (status.paused === undefined) return status;
  const { paused: _p, ...rest } = status;
  return rest;
}

/** "Paused by alice: investigating" from the request that paused the run, as status.control keeps it. */
export function pausedSentence(ctx: Ctx): string {
  const c = ctx.status.control;
  return `${ctx.id} is paused${c?.action === "pause" ? ` ${whoAndWhy(c)}` : ""}`;
}
