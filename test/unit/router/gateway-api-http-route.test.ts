import { describe, expect, it } from "vitest";
import { buildHttpRoute, GATEWAY_API_V1BETA1 } from "../../../src/router/gateway-api-http-route.js";
import { readHttpRouteWeights } from "../../../src/router/gateway-api-router.js";
import type { HTTPBackendRef, HTTPRouteRule } from "../../../src/router/gateway-api-types.js";
import { catalogCanary, podinfoCanary } from "./fixtures.js";

const gatewayApi = { provider: "gatewayapi:v1" } as const;

function weightsOf(rule: HTTPRouteRule | undefined): Record<string, number> {
  return Object.fromEntries((rule?.backendRefs ?? []).map((b: HTTPBackendRef) => [b.name, b.weight]));
}

describe("buildHttpRoute: mesh traffic (GAMMA) by default", () => {
  const canary = podinfoCanary({ spec: gatewayApi });

  it("attaches to the apex Service and splits between the primary and canary Services", () => {
    const route = buildHttpRoute(canary, { primaryWeight: 70, canaryWeight: 30 });
    expect(route.apiVersion).toBe("gateway.networking.k8s.io/v1");
    expect(route.kind).toBe("HTTPRoute");
    expect(route.metadata.name).toBe("podinfo");
    expect(route.metadata.namespace).toBe("test");
    expect(route.spec.parentRefs).toEqual([{ group: "", kind: "Service", name: "podinfo", port: 9898 }]);
    expect(route.spec.hostnames).toBeUndefined();
    expect(route.spec.rules).toEqual([
      {
        matches: [{ path: { type: "PathPrefix", value: "/" } }],
        backendRefs: [
          { group: "", kind: "Service", name: "podinfo-primary", port: 9898, weight: 70 },
          { group: "", kind: "Service", name: "podinfo-canary", port: 9898, weight: 30 },
        ],
      },
    ]);
  });

  it("moves the weights step by step, always summing to 100", () => {
    for (let w = 0; w <= 50; w += 10) {
      const rule = buildHttpRoute(canary, { primaryWeight: 100 - w, canaryWeight: w }).spec.rules?.[0];
      expect(weightsOf(rule)).toEqual({ "podinfo-primary": 100 - w, "podinfo-canary": w });
    }
  });

  it("is controlled by the Canary like the VirtualService, with apex metadata and Flux's hands-off mark", () => {
    const withMeta = podinfoCanary({
      spec: gatewayApi,
      service: { apex: { labels: { team: "a" }, annotations: { note: "x" } } },
    });
    const route = buildHttpRoute(withMeta, { primaryWeight: 100, canaryWeight: 0 });
    expect(route.metadata.ownerReferences).toEqual([
      {
        apiVersion: "serin.dev/v1beta1",
        kind: "Canary",
        name: "podinfo",
        uid: "uid-podinfo-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(route.metadata.labels).toEqual({ team: "a" });
    expect(route.metadata.annotations).toEqual({
      note: "x",
      "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
    });
  });

  it("is written at v1beta1 for gatewayapi:v1beta1", () => {
    const route = buildHttpRoute(canary, { primaryWeight: 100, canaryWeight: 0 }, GATEWAY_API_V1BETA1);
    expect(route.apiVersion).toBe("gateway.networking.k8s.io/v1beta1");
  });
});

describe("buildHttpRoute: parentRefs and hostnames from gatewayRefs and hosts (Flagger's fields)", () => {
  it("fills in the Gateway defaults the API server would, so the stored route equals the built one", () => {
    const canary = podinfoCanary({
      spec: gatewayApi,
      service: {
        hosts: ["www.example.com", "www.example.com"],
        gatewayRefs: [{ name: "gw", namespace: "ingress" }],
      },
    });
    const route = buildHttpRoute(canary, { primaryWeight: 90, canaryWeight: 10 });
    expect(route.spec.parentRefs).toEqual([
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw", namespace: "ingress" },
    ]);
    expect(route.spec.hostnames).toEqual(["www.example.com"]);
  });

  it('reads the group "core" of Flagger\'s Linkerd tutorial as the core group ""', () => {
    const canary = podinfoCanary({
      spec: gatewayApi,
      service: {
        gatewayRefs: [{ name: "podinfo", namespace: "test", group: "core", kind: "Service", port: 9898 }],
      },
    });
    expect(buildHttpRoute(canary, { primaryWeight: 100, canaryWeight: 0 }).spec.parentRefs).toEqual([
      { group: "", kind: "Service", name: "podinfo", namespace: "test", port: 9898 },
    ]);
  });
});

describe("buildHttpRoute: A/B testing (analysis.match)", () => {
  const canary = podinfoCanary({
    spec: gatewayApi,
    service: { match: [{ uri: { prefix: "/api" } }] },
    analysis: {
      interval: "1m",
      threshold: 5,
      iterations: 10,
      match: [
        { headers: { "x-canary": { exact: "insider" } } },
        {
          headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } },
          queryParams: { beta: { prefix: "y" } },
        },
      ],
    },
  });
  const route = buildHttpRoute(canary, { primaryWeight: 0, canaryWeight: 100 });
  const [ab, fallback, ...rest] = route.spec.rules ?? [];

  it("routes requests matching analysis.match (merged with service.match) through the split", () => {
    expect(rest).toEqual([]);
    expect(ab?.matches).toEqual([
      {
        path: { type: "PathPrefix", value: "/api" },
        headers: [{ type: "Exact", name: "x-canary", value: "insider" }],
      },
      {
        path: { type: "PathPrefix", value: "/api" },
        headers: [{ type: "RegularExpression", name: "cookie", value: "^(.*?;)?(canary=always)(;.*)?$" }],
        // A prefix has no HTTPRoute match type: the same values as an RE2 expression.
        queryParams: [{ type: "RegularExpression", name: "beta", value: "y.*" }],
      },
    ]);
    expect(weightsOf(ab)).toEqual({ "podinfo-primary": 0, "podinfo-canary": 100 });
  });

  it("sends everyone else to the primary", () => {
    expect(fallback?.matches).toEqual([{ path: { type: "PathPrefix", value: "/api" } }]);
    expect(weightsOf(fallback)).toEqual({ "podinfo-primary": 100 });
  });

  it("reads back the split of the A/B rule, not the fallback's", () => {
    expect(readHttpRouteWeights(route.spec, canary)).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirrored: false,
    });
  });
});

describe("buildHttpRoute: mirroring, timeouts, headers and rewrite", () => {
  it("mirrors to the canary Service with a RequestMirror filter, percent from mirrorWeight", () => {
    const canary = podinfoCanary({
      spec: gatewayApi,
      analysis: { interval: "1m", threshold: 5, iterations: 10, mirror: true, mirrorWeight: 40 },
    });
    const plain = buildHttpRoute(canary, { primaryWeight: 100, canaryWeight: 0 });
    expect(plain.spec.rules?.[0]?.filters).toBeUndefined();
    expect(readHttpRouteWeights(plain.spec, canary)).toMatchObject({ mirrored: false });
    const mirrored = buildHttpRoute(canary, { primaryWeight: 100, canaryWeight: 0, mirror: true });
    expect(mirrored.spec.rules?.[0]?.filters).toEqual([
      {
        type: "RequestMirror",
        requestMirror: {
          backendRef: { group: "", kind: "Service", name: "podinfo-canary", port: 9898 },
          percent: 40,
        },
      },
    ]);
    expect(readHttpRouteWeights(mirrored.spec, canary)).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirrored: true,
    });
  });

  it("carries timeout, backendTimeout, header operations, rewrite and service.mirror on every rule", () => {
    const canary = podinfoCanary({
      spec: gatewayApi,
      service: {
        timeout: "30s",
        backendTimeout: "10s",
        headers: { request: { set: { b: "2", a: "1" } }, response: { remove: ["x-debug"] } },
        rewrite: { uri: "/v2", type: "ReplacePrefixMatch" },
        mirror: [{ backendRef: { name: "shadow", port: 80 } }],
      },
    });
    const rule = buildHttpRoute(canary, { primaryWeight: 100, canaryWeight: 0 }).spec.rules?.[0];
    expect(rule?.timeouts).toEqual({ request: "30s", backendRequest: "10s" });
    expect(rule?.filters).toEqual([
      {
        type: "RequestHeaderModifier",
        requestHeaderModifier: {
          set: [
            { name: "a", value: "1" },
            { name: "b", value: "2" },
          ],
        },
      },
      { type: "ResponseHeaderModifier", responseHeaderModifier: { remove: ["x-debug"] } },
      { type: "URLRewrite", urlRewrite: { path: { type: "ReplacePrefixMatch", replacePrefixMatch: "/v2" } } },
      {
        type: "RequestMirror",
        requestMirror: { backendRef: { group: "", kind: "Service", name: "shadow", port: 80 } },
      },
    ]);
  });
});

describe("buildHttpRoute: session affinity (cookies from status)", () => {
  const affinity = {
    interval: "1m",
    threshold: 5,
    maxWeight: 50,
    stepWeight: 10,
    sessionAffinity: { cookieName: "flagger-cookie", maxAge: 3600 },
  };

  it("pins cookie holders to the canary with a rule that out-ranks the weighted one", () => {
    const canary = podinfoCanary({ spec: gatewayApi, analysis: affinity });
    const route = buildHttpRoute(canary, {
      primaryWeight: 80,
      canaryWeight: 20,
      cookies: { canary: "flagger-cookie=abc" },
    });
    const [sticky, weighted, ...rest] = route.spec.rules ?? [];
    expect(rest).toEqual([]);
    expect(sticky?.matches).toEqual([
      {
        path: { type: "PathPrefix", value: "/" },
        headers: [{ type: "RegularExpression", name: "Cookie", value: ".*flagger-cookie.*abc.*" }],
      },
    ]);
    expect(weightsOf(sticky)).toEqual({ "podinfo-primary": 0, "podinfo-canary": 100 });
    const canaryRef = weighted?.backendRefs?.find((b) => b.name === "podinfo-canary");
    expect(canaryRef?.filters).toEqual([
      {
        type: "ResponseHeaderModifier",
        responseHeaderModifier: { add: [{ name: "Set-Cookie", value: "flagger-cookie=abc; Max-Age=3600" }] },
      },
    ]);
    // GetRoutes reads the weighted rule (the one setting cookies), not the sticky 0/100 one.
    expect(readHttpRouteWeights(route.spec, canary)).toEqual({
      primaryWeight: 80,
      canaryWeight: 20,
      mirrored: false,
    });
  });

  it("expires the finished run's cookie once the canary is back to 0", () => {
    const canary = podinfoCanary({ spec: gatewayApi, analysis: affinity });
    const route = buildHttpRoute(canary, {
      primaryWeight: 100,
      canaryWeight: 0,
      cookies: { previous: "flagger-cookie=abc" },
    });
    const [expire, weighted] = route.spec.rules ?? [];
    expect(expire?.filters).toEqual([
      {
        type: "ResponseHeaderModifier",
        responseHeaderModifier: { add: [{ name: "Set-Cookie", value: "flagger-cookie=abc; Max-Age=-1" }] },
      },
    ]);
    expect(weightsOf(weighted)).toEqual({ "podinfo-primary": 100, "podinfo-canary": 0 });
  });
});

describe("readHttpRouteWeights", () => {
  it("reports a route that sends nowhere near the Canary's Services", () => {
    const canary = catalogCanary({ spec: gatewayApi });
    const r = readHttpRouteWeights({ rules: [{ matches: [], backendRefs: [] }] }, canary);
    expect(r).toEqual({ error: "HTTPRoute catalog does not route to catalog-primary and catalog-canary" });
  });

  it("counts a sole backend as receiving everything", () => {
    const canary = podinfoCanary({ spec: gatewayApi });
    const spec = {
      rules: [
        {
          matches: [],
          backendRefs: [{ group: "", kind: "Service", name: "podinfo-canary", port: 9898, weight: 5 }],
        },
      ],
    };
    expect(readHttpRouteWeights(spec, canary)).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirrored: false,
    });
  });
});
