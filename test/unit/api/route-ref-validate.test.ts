// spec.service.routeRef (a route the user owns): its kind must be the provider's, its route names usable,
// and every field that would shape a generated route is refused with its name (Serin writes only weights).
import { describe, expect, it } from "vitest";
import { type Canary, problemsOf } from "./helpers.js";

/** The catalog example adopting the user's VirtualService: the route-shaping fields go to the route. */
function adopting(c: Canary, kind: "VirtualService" | "HTTPRoute" = "VirtualService"): void {
  delete c.spec.service.gateways;
  delete c.spec.service.hosts;
  delete c.spec.analysis.match;
  c.spec.service.routeRef = { kind, name: "catalog-routes", routes: ["catalog-canary"] };
  if (kind === "HTTPRoute") c.spec.provider = "gatewayapi:v1";
}

describe("spec.service.routeRef", () => {
  it("is accepted with the provider's kind", () => {
    expect(problemsOf((c) => adopting(c))).toEqual([]);
    expect(problemsOf((c) => adopting(c, "HTTPRoute"))).toEqual([]);
  });

  it("a VirtualService with gatewayapi, or an HTTPRoute with istio, names the kind and the fix", () => {
    const vs = problemsOf((c) => {
      adopting(c);
      c.spec.provider = "gatewayapi:v1";
    });
    expect(vs.map((p) => p.field)).toEqual(["spec.service.routeRef.kind"]);
    expect(vs[0]?.message).toBe(
      "spec.service.routeRef.kind VirtualService is Istio's, and this Canary routes with the Gateway API (spec.provider gatewayapi:v1)",
    );
    expect(vs[0]?.fix).toContain("spec.provider: istio");
    const route = problemsOf((c) => {
      adopting(c, "HTTPRoute");
      delete c.spec.provider;
    });
    expect(route.map((p) => p.field)).toEqual(["spec.service.routeRef.kind"]);
    expect(route[0]?.fix).toContain("spec.provider: gatewayapi:v1");
  });

  it("needs at least one route, each named once; an HTTPRoute rule name must be one the CRD allows", () => {
    expect(
      problemsOf((c) => {
        adopting(c);
        (c.spec.service.routeRef as { routes: string[] }).routes = [];
      }).map((p) => p.field),
    ).toEqual(["spec.service.routeRef.routes"]);
    const twice = problemsOf((c) => {
      adopting(c);
      (c.spec.service.routeRef as { routes: string[] }).routes = ["a", "b", "a"];
    });
    expect(twice).toEqual([
      {
        field: "spec.service.routeRef.routes[2]",
        message: 'spec.service.routeRef.routes[2] ("a") repeats routes[0]',
        fix: "list each route once",
      },
    ]);
    const upper = problemsOf((c) => {
      adopting(c, "HTTPRoute");
      (c.spec.service.routeRef as { routes: string[] }).routes = ["Canary_Route"];
    });
    expect(upper.map((p) => p.field)).toEqual(["spec.service.routeRef.routes[0]"]);
    expect(upper[0]?.message).toContain("can never name an HTTPRoute rule");
  });

  it("the example's Istio fields are refused with routeRef: they would shape a route Serin does not generate", () => {
    const p = problemsOf((c) => {
      c.spec.service.routeRef = {
        kind: "VirtualService",
        name: "catalog-routes",
        routes: ["catalog-canary"],
      };
    });
    expect(p.map((x) => x.field)).toEqual([
      "spec.service.gateways",
      "spec.service.hosts",
      "spec.analysis.match",
    ]);
    expect(p[0]?.message).toBe(
      "spec.service.gateways configures the route Serin would generate, and with spec.service.routeRef Serin generates no route: it changes only the weights of your route's named routes",
    );
    expect(p[0]?.fix).toBe(
      "remove spec.service.gateways (write what it says into your route instead), or remove spec.service.routeRef to let Serin generate the route",
    );
    expect(p[2]?.message).toContain("A/B testing");
  });

  it.each([
    ["spec.service.timeout", (c: Canary): unknown => (c.spec.service.timeout = "5s")],
    ["spec.service.retries", (c: Canary): unknown => (c.spec.service.retries = { attempts: 2 })],
    ["spec.service.match", (c: Canary): unknown => (c.spec.service.match = [{ uri: { prefix: "/" } }])],
    ["spec.service.appProtocol", (c: Canary): unknown => (c.spec.service.appProtocol = "tcp")],
    ["spec.analysis.mirror", (c: Canary): unknown => (c.spec.analysis.mirror = true)],
    [
      "spec.analysis.sessionAffinity",
      (c: Canary): unknown => (c.spec.analysis.sessionAffinity = { cookieName: "c" }),
    ],
  ])("%s is refused with routeRef", (field, edit) => {
    const p = problemsOf((c) => {
      adopting(c);
      edit(c);
    });
    expect(p.map((x) => x.field)).toContain(field);
    expect(p.find((x) => x.field === field)?.message).toContain("Serin generates no route");
  });

  it("a field the provider already refuses is told once", () => {
    const p = problemsOf((c) => {
      adopting(c, "HTTPRoute");
      c.spec.service.gateways = ["mesh"];
    });
    expect(p.filter((x) => x.field === "spec.service.gateways")).toHaveLength(1);
  });

  it("kind must be VirtualService or HTTPRoute, and name must be set (the schema)", () => {
    const p = problemsOf((c) => {
      adopting(c);
      c.spec.service.routeRef = { kind: "Ingress", name: "", routes: ["a"] };
    });
    expect(p.map((x) => x.field).sort()).toEqual([
      "spec.service.routeRef.kind",
      "spec.service.routeRef.name",
    ]);
  });
});
