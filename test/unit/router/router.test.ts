import { describe, expect, it } from "vitest";
import { buildDestinationRules } from "../../../src/router/istio-destination-rules.js";
import { buildVirtualService } from "../../../src/router/istio-virtual-service.js";
import { type DesiredRoutingObject, otherRouters, routerFor } from "../../../src/router/router.js";
import { catalogCanary, podinfoCanary } from "./fixtures.js";

/** The objects of "owned" pieces (every piece of a router that generates its route). */
const owned = (desired: readonly DesiredRoutingObject[]) =>
  desired.flatMap((d) => (d.write === "owned" ? [d.object] : []));

describe("routerFor (Flagger's router factory, by spec.provider)", () => {
  it("routes with Istio by default and for provider istio", () => {
    expect(routerFor(catalogCanary()).provider).toBe("istio");
    expect(routerFor(catalogCanary({ spec: { provider: "istio" } })).provider).toBe("istio");
  });

  it("routes with an HTTPRoute for gatewayapi:v1 and gatewayapi:v1beta1, at that API version", () => {
    for (const [provider, apiVersion] of [
      ["gatewayapi:v1", "gateway.networking.k8s.io/v1"],
      ["gatewayapi:v1beta1", "gateway.networking.k8s.io/v1beta1"],
    ] as const) {
      const canary = podinfoCanary({ spec: { provider } });
      const router = routerFor(canary);
      expect(router.provider).toBe(provider);
      const objects = owned(router.desired(canary, { primaryWeight: 90, canaryWeight: 10 }));
      expect(objects.map((o) => [o.apiVersion, o.kind, o.metadata.name])).toEqual([
        [apiVersion, "HTTPRoute", "podinfo"],
      ]);
      expect(router.routeRef(canary)).toEqual({ apiVersion, kind: "HTTPRoute", name: "podinfo" });
      expect(router.finalize(canary)).toEqual([{ apiVersion, kind: "HTTPRoute", name: "podinfo" }]);
      const live = objects[0];
      if (!live) throw new Error("no HTTPRoute");
      expect(router.getRoutes(live, canary)).toEqual({
        primaryWeight: 90,
        canaryWeight: 10,
        mirrored: false,
      });
    }
  });

  it("the Istio router writes exactly the DestinationRules and VirtualService it wrote before routers existed", () => {
    const canary = catalogCanary();
    const split = { primaryWeight: 70, canaryWeight: 30, mirror: false };
    const rules = buildDestinationRules(canary);
    const desired = routerFor(canary).desired(canary, split);
    expect(desired.map((d) => d.write)).toEqual(["owned", "owned", "owned"]);
    expect(owned(desired)).toEqual([rules.primary, rules.canary, buildVirtualService(canary, split)]);
    const vs = owned(desired)[2];
    if (!vs) throw new Error("no VirtualService");
    expect(routerFor(canary).getRoutes(vs, canary)).toEqual({
      primaryWeight: 70,
      canaryWeight: 30,
      mirrored: false,
    });
    expect(
      routerFor(canary)
        .generated(canary)
        .map((r) => `${r.kind}/${r.name}`),
    ).toEqual([
      "VirtualService/catalog",
      "DestinationRule/catalog-primary",
      "DestinationRule/catalog-canary",
    ]);
  });

  it("a provider change leaves the other router's objects to be removed, not a version change", () => {
    const istio = routerFor(catalogCanary());
    const v1 = routerFor(podinfoCanary({ spec: { provider: "gatewayapi:v1" } }));
    const v1beta1 = routerFor(podinfoCanary({ spec: { provider: "gatewayapi:v1beta1" } }));
    expect(otherRouters(istio).map((r) => r.provider)).toEqual(["gatewayapi:v1"]);
    expect(otherRouters(v1).map((r) => r.provider)).toEqual(["istio"]);
    expect(otherRouters(v1beta1).map((r) => r.provider)).toEqual(["istio"]);
  });
});
