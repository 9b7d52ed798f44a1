// The one write to an adopted route: a JSON patch of exactly the named routes' weights, fenced by tests on
// what the weights depend on. Applied here as RFC 6902 says, the user's object differs only there.
import { describe, expect, it } from "vitest";
import { type Located, locateRoutes } from "../../../src/router/adopted-route-locate.js";
import { adoptedWeights, weightPatch } from "../../../src/router/adopted-route-patch.js";
import { adoptedTarget } from "../../../src/router/adopted-router.js";
import type { RoutingObject } from "../../../src/router/router.js";
import { adoptingCanary, applyJsonPatch, userHttpRoute, userVirtualService } from "./adopted-fixtures.js";

function located(live: RoutingObject, kind?: "HTTPRoute"): Extract<Located, { ok: true }>["routes"] {
  const canary = adoptingCanary(["catalog-canary"], kind);
  const target = adoptedTarget(canary);
  if (target === undefined) throw new Error("no routeRef");
  const result = locateRoutes(live, target, canary);
  if (!result.ok) throw new Error(result.conflicts.join("; "));
  return result.routes;
}

describe("weightPatch", () => {
  it("tests the route's name and both destinations, then sets the weights", () => {
    const ops = weightPatch(located(userVirtualService()), { primaryWeight: 70, canaryWeight: 30 });
    expect(ops).toEqual([
      { op: "test", path: "/spec/http/1/name", value: "catalog-canary" },
      { op: "test", path: "/spec/http/1/route/0/destination/host", value: "catalog-primary" },
      {
        op: "test",
        path: "/spec/http/1/route/1/destination/host",
        value: "catalog-canary.istioinaction.svc.cluster.local",
      },
      { op: "add", path: "/spec/http/1/route/0/weight", value: 70 },
      { op: "add", path: "/spec/http/1/route/1/weight", value: 30 },
    ]);
  });

  it("changes nothing else of the user's object, and gives it back byte for byte at 100/0", () => {
    const original = userVirtualService();
    const split = applyJsonPatch(
      original,
      weightPatch(located(original), { primaryWeight: 60, canaryWeight: 40 }) ?? [],
    );
    const expected = structuredClone(original);
    const http = (expected.spec as { http: Array<{ route: Array<{ weight?: number }> }> }).http;
    const [primary, canary] = http[1]?.route ?? [];
    if (primary) primary.weight = 60;
    if (canary) canary.weight = 40;
    expect(split).toEqual(expected);
    const back = applyJsonPatch(
      split,
      weightPatch(located(split), { primaryWeight: 100, canaryWeight: 0 }) ?? [],
    );
    expect(JSON.stringify(back)).toBe(JSON.stringify(original));
  });

  it("is nothing at all when the weights are already so (no write)", () => {
    expect(
      weightPatch(located(userVirtualService()), { primaryWeight: 100, canaryWeight: 0 }),
    ).toBeUndefined();
  });

  it("writes only the weight that differs, still fenced", () => {
    const vs = userVirtualService();
    const ops = weightPatch(located(vs), { primaryWeight: 100, canaryWeight: 5 }) ?? [];
    expect(ops.filter((o) => o.op === "add")).toEqual([
      { op: "add", path: "/spec/http/1/route/1/weight", value: 5 },
    ]);
    expect(ops.filter((o) => o.op === "test")).toHaveLength(3);
  });

  it("adds a weight the user left out (Istio counts it as 0)", () => {
    const vs = userVirtualService();
    delete (vs.spec as { http: Array<{ route: Array<{ weight?: number }> }> }).http[1]?.route[1]?.weight;
    const ops = weightPatch(located(vs), { primaryWeight: 90, canaryWeight: 10 }) ?? [];
    const after = applyJsonPatch(vs, ops) as RoutingObject;
    expect(located(after)[0]?.canary.weight).toBe(10);
    expect(weightPatch(located(vs), { primaryWeight: 100, canaryWeight: 0 })).toBeUndefined();
  });

  it("fails its test, as the API server would, when the route was renamed or reshaped since the read", () => {
    const read = userVirtualService();
    const ops = weightPatch(located(read), { primaryWeight: 80, canaryWeight: 20 }) ?? [];
    const renamed = structuredClone(read);
    const http = (renamed.spec as { http: Array<{ name?: string }> }).http;
    if (http[1]) http[1].name = "other";
    expect(() => applyJsonPatch(renamed, ops)).toThrow(/test failed at \/spec\/http\/1\/name/);
    const moved = structuredClone(read);
    const routes = (moved.spec as { http: unknown[] }).http;
    routes.unshift({ name: "new-first", route: [{ destination: { host: "catalog-primary" } }] });
    expect(() => applyJsonPatch(moved, ops)).toThrow(/test failed/);
  });

  it("patches an HTTPRoute's backendRefs", () => {
    const route = userHttpRoute();
    const ops = weightPatch(located(route, "HTTPRoute"), { primaryWeight: 90, canaryWeight: 10 });
    expect(ops?.filter((o) => o.op === "add")).toEqual([
      { op: "add", path: "/spec/rules/1/backendRefs/1/weight", value: 90 },
      { op: "add", path: "/spec/rules/1/backendRefs/0/weight", value: 10 },
    ]);
    expect(ops?.[1]).toEqual({
      op: "test",
      path: "/spec/rules/1/backendRefs/1/name",
      value: "catalog-primary",
    });
  });
});

describe("adoptedWeights (GetRoutes)", () => {
  it("reads the first named route's split", () => {
    const vs = userVirtualService();
    const split = applyJsonPatch(vs, weightPatch(located(vs), { primaryWeight: 80, canaryWeight: 20 }) ?? []);
    expect(adoptedWeights(located(split))).toEqual({ primaryWeight: 80, canaryWeight: 20, mirrored: false });
    expect(adoptedWeights([])).toEqual({ error: "spec.service.routeRef names no route" });
  });
});
