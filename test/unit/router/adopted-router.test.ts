// routerFor with spec.service.routeRef: the provider's supporting objects, no generated route, and
// "patch-weights" on the user's object; nothing of it is removed on revertOnDeletion, 100/0 on deletion.
import { describe, expect, it } from "vitest";
import { buildDestinationRules } from "../../../src/router/istio-destination-rules.js";
import { routerFor } from "../../../src/router/router.js";
import { adoptingCanary, userHttpRoute, userVirtualService } from "./adopted-fixtures.js";

const split = { primaryWeight: 80, canaryWeight: 20 };

describe("the adopting router", () => {
  it("istio: the DestinationRules as before, then the weights of the user's VirtualService; no VirtualService", () => {
    const canary = adoptingCanary();
    const router = routerFor(canary);
    expect(router.provider).toBe("istio");
    const rules = buildDestinationRules(canary);
    expect(router.desired(canary, split)).toEqual([
      { write: "owned", object: rules.primary },
      { write: "owned", object: rules.canary },
      {
        write: "patch-weights",
        ref: { apiVersion: "networking.istio.io/v1beta1", kind: "VirtualService", name: "catalog-routes" },
        routes: ["catalog-canary"],
        weights: split,
      },
    ]);
    expect(router.routeRef(canary)).toEqual({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      name: "catalog-routes",
    });
    expect(router.getRoutes(userVirtualService(), canary)).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrored: false,
    });
  });

  it("never removes the user's object, gives its routes back at 100/0, and lists the route it generated before", () => {
    const canary = adoptingCanary(["catalog-canary", "other"]);
    const router = routerFor(canary);
    expect(router.finalize(canary)).toEqual([]);
    expect(router.giveBack(canary)).toEqual([
      {
        write: "patch-weights",
        ref: { apiVersion: "networking.istio.io/v1beta1", kind: "VirtualService", name: "catalog-routes" },
        routes: ["catalog-canary", "other"],
        weights: { primaryWeight: 100, canaryWeight: 0 },
      },
    ]);
    // Removed by the shell when this Canary controls it: it would claim the host beside the user's route.
    expect(router.generated(canary).map((r) => `${r.kind}/${r.name}`)).toContain("VirtualService/catalog");
  });

  it("gatewayapi: nothing generated at all, the HTTPRoute at the provider's API version", () => {
    const canary = adoptingCanary(["catalog-canary"], "HTTPRoute");
    const router = routerFor(canary);
    expect(router.provider).toBe("gatewayapi:v1");
    expect(router.desired(canary, split)).toEqual([
      {
        write: "patch-weights",
        ref: { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", name: "catalog-routes" },
        routes: ["catalog-canary"],
        weights: split,
      },
    ]);
    expect(router.getRoutes(userHttpRoute(), canary)).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrored: false,
    });
    const v1beta1 = adoptingCanary(["catalog-canary"], "HTTPRoute");
    v1beta1.spec.provider = "gatewayapi:v1beta1";
    expect(routerFor(v1beta1).routeRef(v1beta1).apiVersion).toBe("gateway.networking.k8s.io/v1beta1");
  });

  it("GetRoutes says what is wrong with the route instead of a split", () => {
    const canary = adoptingCanary(["missing"]);
    expect(routerFor(canary).getRoutes(userVirtualService(), canary)).toEqual({
      error: expect.stringMatching(/^spec\.service\.routeRef\.routes\[0\] "missing" not found/),
    });
  });
});
