// One Deployment, one Canary: two Canaries on the same target would fight over its replicas and its
// primary forever. The Canary created first keeps it; any other is refused, naming the first.
interface TargetedCanary {
  metadata?: { name?: string; creationTimestamp?: string | Date };
  spec?: { targetRef?: { name?: string } };
}

function created(obj: TargetedCanary): number {
  const stamp = obj.metadata?.creationTimestamp;
  const ms = stamp === undefined ? Number.NaN : new Date(stamp).getTime();
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** True when `a` came first: older creationTimestamp, then name as a tie-break everyone agrees on. */
function before(a: TargetedCanary, b: TargetedCanary): boolean {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb;
  return (a.metadata?.name ?? "") < (b.metadata?.name ?? "");
}

/** The Canary that holds `canary`'s target before it, if any (same namespace, same targetRef.name). */
export function targetHeldBy(
  canary: TargetedCanary,
  sameNamespace: readonly TargetedCanary[],
): TargetedCanary | undefined {
  const target = canary.spec?.targetRef?.name;
  if (target === undefined) return undefined;
  let holder: TargetedCanary | undefined;
  for (const other of sameNamespace) {
    if (other.metadata?.name === canary.metadata?.name) continue;
    // One being deleted still holds it: its revert (revertOnDeletion) may still be using the target.
    if (other.spec?.targetRef?.name !== target) continue;
    if (!before(other, canary)) continue;
    if (holder === undefined || before(other, holder)) holder = other;
  }
  return holder;
}
