// The level-triggered half of the core: what routes and scale should look like for a status.
// The shell makes the cluster match this on every reconcile, so drift (someone edits the
// VirtualService, scales the canary) is corrected, and a restart resumes where status says.
import type { CanaryPhase, CanaryStatus } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";

export interface DesiredRouting {
  primaryWeight: number;
  canaryWeight: number;
  /** mirror a copy of primary traffic to the canary (analysis.mirror during the analysis) */
  mirror: boolean;
}

/** "up": run the canary with the primary's replica count; "zero": scaled down; "leave": not ours to touch yet. */
export type DesiredCanaryScale = "up" | "zero" | "leave";

// Waiting (for confirm-rollout) is before the run: the canary is not scaled up and gets no traffic.
const RUNNING: readonly CanaryPhase[] = ["Progressing", "WaitingPromotion", "Promoting"];

/**
 * Routing objects exist once the primary is ready: before that, the apex still reaches the target. From
 * Initialized on always; while Initializing as soon as the primary is ready (all traffic to it), so that
 * Initialized is only recorded once the routes are really in place — a VirtualService someone else owns
 * keeps the Canary Initializing and Blocked, not Initialized with no routes.
 */
export function routingEnabled(status: CanaryStatus, primaryReady = false): boolean {
  const phase = status.phase ?? "";
  if (phase === "Initializing") return primaryReady;
  return phase !== "";
}

export function desiredRouting(spec: EffectiveSpec, status: CanaryStatus): DesiredRouting {
  const phase = status.phase ?? "";
  const running = RUNNING.includes(phase);
  const canaryWeight = running ? Math.min(100, Math.max(0, status.canaryWeight ?? 0)) : 0;
  // Flagger mirrors for the whole blue/green run, but in a canary release only on the weight-0 first step:
  // once traffic is split, mirroring would copy the canary's own share to it again.
  const strategy = spec.analysis.strategy;
  const mirror =
    running &&
    phase !== "Promoting" &&
    spec.analysis.mirror &&
    (strategy === "blue-green" || (strategy === "canary" && canaryWeight === 0));
  return { primaryWeight: 100 - canaryWeight, canaryWeight, mirror };
}

export function desiredCanaryScale(status: CanaryStatus): DesiredCanaryScale {
  const phase = status.phase ?? "";
  if (phase === "" || phase === "Initializing" || phase === "Terminating" || phase === "Terminated")
    return "leave";
  return RUNNING.includes(phase) ? "up" : "zero";
}
