import type { CanaryCondition, CanaryPhase, CanaryStatus } from "../api/canary.js";

export const PROMOTED = "Promoted";
export const READY = "Ready";

/** Sets (or replaces) a condition, keeping lastTransitionTime when the status value did not change. */
export function withCondition(
  conditions: readonly CanaryCondition[] | undefined,
  next: { type: string; status: "True" | "False" | "Unknown"; reason: string; message: string },
  now: Date,
): CanaryCondition[] {
  const stamp = now.toISOString();
  const existing = (conditions ?? []).find((c) => c.type === next.type);
  const others = (conditions ?? []).filter((c) => c.type !== next.type);
  const transitioned = existing === undefined || existing.status !== next.status;
  const unchanged =
    existing !== undefined &&
    !transitioned &&
    existing.reason === next.reason &&
    existing.message === next.message;
  if (unchanged) return [...(conditions ?? [])];
  return [
    ...others,
    {
      ...next,
      lastUpdateTime: stamp,
      lastTransitionTime: transitioned ? stamp : (existing?.lastTransitionTime ?? stamp),
    },
  ];
}

/**
 * Flagger's Promoted condition for each phase: the reason is the phase itself (as Flagger writes it),
 * so `kubectl wait --for=condition=Promoted` and dashboards built for Flagger keep working.
 */
export function promotedCondition(phase: CanaryPhase): {
  status: "True" | "False" | "Unknown";
  reason: string;
} {
  switch (phase) {
    case "Initialized":
    case "Succeeded":
      return { status: "True", reason: phase };
    case "Failed":
      return { status: "False", reason: phase };
    case "":
      return { status: "Unknown", reason: "Initializing" };
    default:
      return { status: "Unknown", reason: phase };
  }
}

/** A status step: fields changed, lastTransitionTime stamped, Promoted condition carrying the reason. */
export function step(
  status: CanaryStatus,
  changes: Partial<CanaryStatus> & { phase: CanaryPhase },
  reason: string,
  now: Date,
): CanaryStatus {
  const next: CanaryStatus = { ...status, ...changes, lastTransitionTime: now.toISOString() };
  const promoted = promotedCondition(changes.phase);
  next.conditions = withCondition(next.conditions, { type: PROMOTED, ...promoted, message: reason }, now);
  return next;
}

/** The same status with only the Promoted condition's message refreshed (waits: no transition). */
export function note(status: CanaryStatus, reason: string, now: Date): CanaryStatus {
  const phase = status.phase ?? "";
  const promoted = promotedCondition(phase);
  return {
    ...status,
    conditions: withCondition(status.conditions, { type: PROMOTED, ...promoted, message: reason }, now),
  };
}
