// The replay's step recorder: which decisions are worth a line (a check, a weight step, a rollback between
// checks), the ReplayStep each one makes, and the ReplayEnd when the replayed run is over. Pure.
import type { CanaryStatus } from "../../api/canary.js";
import type { Decision } from "../../core/decision.js";
import type { ReplayEnd, ReplayStep, StepKind } from "./types.js";

/** Phases past the analysis on the way to promotion: the replayed run succeeded. */
const ENDED_OK = ["Promoting", "Finalising", "Succeeded"];

/** How the replayed run ended with `status`; undefined while it still runs. */
export function finishedOutcome(status: CanaryStatus): "Succeeded" | "Failed" | undefined {
  if (ENDED_OK.includes(status.phase ?? "")) return "Succeeded";
  if (status.phase === "Failed") return "Failed";
  return undefined;
}

/**
 * The highest weight the run reached, after a decision moved it from `before` to `after`: a rollback's
 * weight 0 is not reached, the weight it rolled back from is.
 */
export function weightReached(reached: number, before: CanaryStatus, after: CanaryStatus): number {
  const weight = before.canaryWeight ?? 0;
  if (after.phase === "Failed") return Math.max(reached, weight);
  return Math.max(reached, after.canaryWeight ?? 0, weight);
}

/** What a decision at `stamp` did worth a line: a check, a rollback between checks, or a weight step. */
function stepKind(before: CanaryStatus, after: CanaryStatus, stamp: string): StepKind | undefined {
  if (after.run?.checks?.at(-1)?.time === stamp) return "check";
  if (after.phase === "Failed") return "look";
  if ((after.canaryWeight ?? 0) !== (before.canaryWeight ?? 0)) return "step";
  return undefined;
}

/**
 * The line a decision taken at `at` from `before` makes (compare() fills in the recorded side), or
 * undefined for a decision that changed nothing worth showing (a wait, a look that held).
 */
export function replayedStep(
  before: CanaryStatus,
  d: Decision,
  at: Date,
  offsetSeconds: number,
): ReplayStep | undefined {
  const stamp = at.toISOString();
  const kind = stepKind(before, d.status, stamp);
  if (kind === undefined) return undefined;
  const check = kind === "check" ? d.status.run?.checks?.at(-1) : undefined;
  return {
    kind,
    time: stamp,
    offsetSeconds,
    weight: before.canaryWeight ?? 0,
    nextWeight: d.status.canaryWeight ?? 0,
    ...(check ? { verdict: check.verdict, metrics: check.metrics } : { metrics: [] }),
    reason: d.reason,
    phase: d.status.phase ?? "",
    failedChecks: d.status.failedChecks ?? 0,
    differs: false,
  };
}

/** The replayed run's end at `time`, with the weight it reached and the status it ended with. */
export function replayEnd(
  outcome: ReplayEnd["outcome"],
  time: number,
  offsetSeconds: number,
  canaryWeight: number,
  status: CanaryStatus,
  reason: string,
): ReplayEnd {
  return {
    outcome,
    time: new Date(time).toISOString(),
    offsetSeconds,
    canaryWeight,
    failedChecks: status.failedChecks ?? 0,
    reason,
  };
}
