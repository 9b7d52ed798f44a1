/**
 * The target cannot be turned into what Serin must create (no selector label, a derived name or label
 * Kubernetes would refuse): only its owner can fix it, so the reconciler reports it as Blocked instead
 * of retrying a write the apiserver will answer with 422 every time.
 */
export class WorkloadError extends Error {
  override name = "WorkloadError";
}
