// Istio's verdict on a Gateway API HTTPRoute. `istioctl validate` has no checks for Gateway API kinds
// (it accepts an HTTPRoute with unknown fields or a lookahead regex), and the CRD's schema and CEL rules
// are already enforced by the test world's API server. What Istio itself thinks of a route is what
// istiod writes into its status: per parent, the conditions Accepted and ResolvedRefs, for the
// generation it translated (observedGeneration). That is the check for the HTTPRoutes Serin writes.
import type { KubernetesObject } from "@kubernetes/client-node";

/** istiod's controllerName in HTTPRoute parent statuses. */
export const ISTIO_GATEWAY_CONTROLLER = "istio.io/gateway-controller";

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

interface ParentStatus {
  controllerName?: string;
  parentRef?: { kind?: string; name?: string; namespace?: string; port?: number };
  conditions?: Condition[];
}

export type RouteVerdict =
  /** istiod has not reported on this generation yet */
  { state: "pending" } | { state: "accepted" } | { state: "rejected"; messages: string[] };

/** What istiod reported about `generation` of the route, from its status. */
export function istiodVerdict(route: KubernetesObject, generation: number): RouteVerdict {
  const parents = ((route as { status?: { parents?: ParentStatus[] } }).status?.parents ?? []).filter(
    (p) => p.controllerName === ISTIO_GATEWAY_CONTROLLER,
  );
  if (parents.length === 0) return { state: "pending" };
  const messages: string[] = [];
  for (const parent of parents) {
    const conditions = parent.conditions ?? [];
    // A status about an older generation says nothing about this one.
    if (conditions.some((c) => (c.observedGeneration ?? 0) < generation)) return { state: "pending" };
    const ref = parent.parentRef ?? {};
    for (const type of ["Accepted", "ResolvedRefs"]) {
      const c = conditions.find((x) => x.type === type);
      if (c?.status === "True") continue;
      messages.push(
        `parent ${ref.kind ?? "Gateway"} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name ?? "?"}${ref.port ? `:${ref.port}` : ""}: ${type}=${c?.status ?? "missing"} (${c?.reason ?? "no reason"}) ${c?.message ?? ""}`.trim(),
      );
    }
  }
  return messages.length === 0 ? { state: "accepted" } : { state: "rejected", messages };
}
