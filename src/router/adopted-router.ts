// spec.service.routeRef: the provider's router adopting a route the user owns (GitOps mode) instead of
// generating one. It asks for the provider's router's objects but its route object (Istio: the two
// DestinationRules; the Gateway API: nothing), and for `patch-weights` on the
// user's VirtualService or HTTPRoute: only the named routes' two weights change. The object is never
// created or deleted (finalize removes nothing), and giveBack sets it to primary 100 / canary 0 when the
// Canary is deleted. The generated route this Canary may have written before routeRef was set is in
// `generated`, so the shell removes it (two routes for one host would both claim its traffic).
import type { Canary } from "../api/canary.js";
import { type AdoptedTarget, locateRoutes } from "./adopted-route-locate.js";
import { adoptedWeights } from "./adopted-route-patch.js";
import { GATEWAY_API_V1, GATEWAY_API_V1BETA1 } from "./gateway-api-http-route.js";
import { ISTIO_NETWORKING_API_VERSION } from "./istio-destination-rules.js";
import type { DesiredRoutingObject, Router, RouteWeights } from "./router.js";

/** The adopted object and routes of a Canary with spec.service.routeRef (undefined without it). */
export function adoptedTarget(canary: Pick<Canary, "spec">): AdoptedTarget | undefined {
  const ref = canary.spec.service.routeRef;
  if (ref === undefined) return undefined;
  const provider = canary.spec.provider;
  const apiVersion =
    ref.kind === "VirtualService"
      ? ISTIO_NETWORKING_API_VERSION
      : provider === "gatewayapi:v1beta1"
        ? GATEWAY_API_V1BETA1
        : GATEWAY_API_V1;
  return { ref: { apiVersion, kind: ref.kind, name: ref.name }, routes: ref.routes };
}

function requireTarget(canary: Pick<Canary, "spec">): AdoptedTarget {
  const target = adoptedTarget(canary);
  if (target === undefined) throw new Error("adoptedRouter used for a Canary without spec.service.routeRef");
  return target;
}

const patchWeights = (canary: Canary, weights: RouteWeights): DesiredRoutingObject => {
  const { ref, routes } = requireTarget(canary);
  return { write: "patch-weights", ref, routes, weights };
};

/** `base` (the provider's own router) adopting the Canary's spec.service.routeRef. */
export function adoptedRouter(base: Router): Router {
  return {
    provider: base.provider,
    desired(canary, split) {
      // Everything the provider's router generates but its route (Istio: the DestinationRules), then
      // the weights. Mirroring and session cookies are refused with routeRef (validate-route-ref.ts).
      const route = base.routeRef(canary);
      const supporting = base
        .desired(canary, split)
        .filter(
          (p) => p.write !== "owned" || p.object.kind !== route.kind || p.object.metadata.name !== route.name,
        );
      const weights = { primaryWeight: split.primaryWeight, canaryWeight: split.canaryWeight };
      return [...supporting, patchWeights(canary, weights)];
    },
    routeRef: (canary) => requireTarget(canary).ref,
    getRoutes(live, canary) {
      const located = locateRoutes({ metadata: {}, spec: live.spec }, requireTarget(canary), canary);
      return located.ok ? adoptedWeights(located.routes) : { error: located.conflicts.join("; ") };
    },
    // The user's object stays: revertOnDeletion removes only what Serin generated.
    finalize: () => [],
    giveBack: (canary) => [patchWeights(canary, { primaryWeight: 100, canaryWeight: 0 })],
    generated: (canary) => base.generated(canary),
  };
}
