// provider "istio": the generated VirtualService <svc> and DestinationRules <svc>-primary and
// <svc>-canary, exactly as before routers had an interface (istio-virtual-service.ts,
// istio-destination-rules.ts); this file only puts them behind router.ts.
import type { Canary } from "../api/canary.js";
import { buildDestinationRules, ISTIO_NETWORKING_API_VERSION } from "./istio-destination-rules.js";
import type { VirtualServiceSpec } from "./istio-types.js";
import { buildVirtualService, readWeights } from "./istio-virtual-service.js";
import type { DesiredRoutingObject, Router, RoutingRef } from "./router.js";
import { serviceNames } from "./services.js";

function virtualServiceRef(canary: Pick<Canary, "spec">): RoutingRef {
  return {
    apiVersion: ISTIO_NETWORKING_API_VERSION,
    kind: "VirtualService",
    name: serviceNames(canary).apex,
  };
}

export const istioRouter: Router = {
  provider: "istio",
  desired(canary, split): DesiredRoutingObject[] {
    const rules = buildDestinationRules(canary);
    // DestinationRules first: the VirtualService's destinations should have their policy from the start.
    return [rules.primary, rules.canary, buildVirtualService(canary, split)].map((object) => ({
      write: "owned",
      object,
    }));
  },
  routeRef: virtualServiceRef,
  getRoutes(live, canary) {
    return readWeights({ spec: live.spec as VirtualServiceSpec }, canary);
  },
  // A generated route is removed (finalize), not given back: it was never anybody else's.
  giveBack: () => [],
  finalize(canary) {
    // The DestinationRules stay until garbage collection: without the VirtualService nothing routes by them.
    return [virtualServiceRef(canary)];
  },
  generated(canary) {
    const names = serviceNames(canary);
    const rule = (name: string): RoutingRef => ({
      apiVersion: ISTIO_NETWORKING_API_VERSION,
      kind: "DestinationRule",
      name,
    });
    return [virtualServiceRef(canary), rule(names.primary), rule(names.canary)];
  },
};
