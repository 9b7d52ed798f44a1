import { describe, expect, it } from "vitest";
import {
  buildVirtualService,
  type HTTPRoute,
  mergeMatchConditions,
  readWeights,
  type VirtualService,
} from "../../../src/router/istio-virtual-service.js";
import { catalogCanary, podinfoCanary } from "./fixtures.js";

function total(route: HTTPRoute | undefined): number {
  return (route?.route ?? []).reduce((sum, d) => sum + (d.weight ?? 0), 0);
}

function weightsOf(route: HTTPRoute | undefined): Record<string, number | undefined> {
  return Object.fromEntries((route?.route ?? []).map((d) => [d.destination.host, d.weight]));
}

describe("buildVirtualService: reference scenario (catalog, sourceLabels app=webapp)", () => {
  const canary = catalogCanary();

  it("sends webapp traffic through the weighted split and everyone else to the primary", () => {
    const vs = buildVirtualService(canary, { primaryWeight: 90, canaryWeight: 10 });
    expect(vs.apiVersion).toBe("networking.istio.io/v1beta1");
    expect(vs.kind).toBe("VirtualService");
    expect(vs.metadata.name).toBe("catalog");
    expect(vs.metadata.namespace).toBe("istioinaction");
    expect(vs.spec.hosts).toEqual(["catalog"]);
    expect(vs.spec.gateways).toEqual(["mesh"]);
    const [matched, fallback, ...rest] = vs.spec.http ?? [];
    expect(rest).toEqual([]);
    expect(matched?.match).toEqual([{ sourceLabels: { app: "webapp" } }]);
    expect(weightsOf(matched)).toEqual({ "catalog-primary": 90, "catalog-canary": 10 });
    expect(fallback?.match).toBeUndefined();
    expect(fallback?.route).toEqual([{ destination: { host: "catalog-primary" }, weight: 100 }]);
  });

  it("keeps weights summing to 100 at every step up to maxWeight", () => {
    for (let w = 0; w <= 50; w += 10) {
      const vs = buildVirtualService(canary, { primaryWeight: 100 - w, canaryWeight: w });
      expect(total(vs.spec.http?.[0])).toBe(100);
      expect(weightsOf(vs.spec.http?.[0])["catalog-canary"]).toBe(w);
    }
  });

  it("is controlled by the Canary and carries the Flux hands-off annotation", () => {
    const vs = buildVirtualService(canary, { primaryWeight: 100, canaryWeight: 0 });
    expect(vs.metadata.ownerReferences).toEqual([
      {
        apiVersion: "serin.dev/v1beta1",
        kind: "Canary",
        name: "catalog-release",
        uid: "uid-catalog-1",
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(vs.metadata.annotations).toEqual({ "kustomize.toolkit.fluxcd.io/reconcile": "disabled" });
  });
});

describe("buildVirtualService: canary strategy", () => {
  const canary = podinfoCanary({
    service: {
      match: [{ uri: { prefix: "/api" } }],
      retries: { attempts: 3, perTryTimeout: "1s", retryOn: "gateway-error,connect-failure" },
      timeout: "5s",
      headers: { request: { add: { "x-some-header": "value" } } },
      corsPolicy: { allowOrigins: [{ exact: "https://example.com" }], allowMethods: ["GET"] },
      rewrite: { uri: "/", type: "ReplacePrefixMatch" },
    },
  });

  it("builds http[0] = {match, retries, timeout, headers, corsPolicy, rewrite, route}", () => {
    const vs = buildVirtualService(canary, { primaryWeight: 70, canaryWeight: 30 });
    expect(vs.spec.http).toEqual([
      {
        match: [{ uri: { prefix: "/api" } }],
        retries: { attempts: 3, perTryTimeout: "1s", retryOn: "gateway-error,connect-failure" },
        timeout: "5s",
        headers: { request: { add: { "x-some-header": "value" } } },
        corsPolicy: { allowOrigins: [{ exact: "https://example.com" }], allowMethods: ["GET"] },
        // the Gateway API rewrite type is not an Istio field
        rewrite: { uri: "/" },
        route: [
          { destination: { host: "podinfo-primary" }, weight: 70 },
          { destination: { host: "podinfo-canary" }, weight: 30 },
        ],
      },
    ]);
  });

  it("defaults hosts to the apex name and gateways to mesh", () => {
    const vs = buildVirtualService(podinfoCanary(), { primaryWeight: 100, canaryWeight: 0 });
    expect(vs.spec.hosts).toEqual(["podinfo"]);
    expect(vs.spec.gateways).toEqual(["mesh"]);
    expect(vs.spec.http?.[0]?.match).toBeUndefined();
  });

  it("adds the apex host after service.hosts, deduplicated, unless '*' is there", () => {
    const withHosts = podinfoCanary({ service: { hosts: ["app.example.com", "app.example.com"] } });
    expect(buildVirtualService(withHosts, { primaryWeight: 100, canaryWeight: 0 }).spec.hosts).toEqual([
      "app.example.com",
      "podinfo",
    ]);
    const wildcard = podinfoCanary({ service: { hosts: ["*"] } });
    expect(buildVirtualService(wildcard, { primaryWeight: 100, canaryWeight: 0 }).spec.hosts).toEqual(["*"]);
  });

  it("keeps explicit gateways as given (mesh is only the default)", () => {
    const gw = podinfoCanary({ service: { gateways: ["istio-system/public-gateway"] } });
    expect(buildVirtualService(gw, { primaryWeight: 100, canaryWeight: 0 }).spec.gateways).toEqual([
      "istio-system/public-gateway",
    ]);
    const both = podinfoCanary({ service: { gateways: ["public-gateway", "mesh"] } });
    expect(buildVirtualService(both, { primaryWeight: 100, canaryWeight: 0 }).spec.gateways).toEqual([
      "public-gateway",
      "mesh",
    ]);
  });

  it("leaves hosts and gateways empty for a delegate VirtualService", () => {
    const vs = buildVirtualService(podinfoCanary({ service: { delegation: true } }), {
      primaryWeight: 100,
      canaryWeight: 0,
    });
    expect(vs.spec.hosts).toEqual([]);
    expect(vs.spec.gateways).toEqual([]);
  });

  it("pins the destination port with portDiscovery behind an ingress gateway", () => {
    const vs = buildVirtualService(
      podinfoCanary({ service: { portDiscovery: true, gateways: ["public-gateway"] } }),
      {
        primaryWeight: 100,
        canaryWeight: 0,
      },
    );
    expect(vs.spec.http?.[0]?.route?.[0]?.destination).toEqual({
      host: "podinfo-primary",
      port: { number: 9898 },
    });
  });

  it("copies apex labels and annotations onto the VirtualService", () => {
    const vs = buildVirtualService(
      podinfoCanary({ service: { apex: { labels: { team: "a" }, annotations: { note: "x" } } } }),
      { primaryWeight: 100, canaryWeight: 0 },
    );
    expect(vs.metadata.labels).toEqual({ team: "a" });
    expect(vs.metadata.annotations).toMatchObject({ note: "x" });
  });

  it("routes TCP services under spec.tcp with the service match ports", () => {
    const vs = buildVirtualService(
      podinfoCanary({ service: { appProtocol: "TCP", match: [{ port: 9898 }] } }),
      {
        primaryWeight: 80,
        canaryWeight: 20,
      },
    );
    expect(vs.spec.http).toBeUndefined();
    expect(vs.spec.tcp).toEqual([
      {
        match: [{ port: 9898 }],
        route: [
          { destination: { host: "podinfo-primary" }, weight: 80 },
          { destination: { host: "podinfo-canary" }, weight: 20 },
        ],
      },
    ]);
  });
});

describe("buildVirtualService: A/B testing", () => {
  const canary = podinfoCanary({
    service: { match: [{ uri: { prefix: "/api" } }, { uri: { prefix: "/v2" } }] },
    analysis: {
      interval: "1m",
      iterations: 10,
      threshold: 2,
      match: [
        { headers: { "x-canary": { exact: "insider" } } },
        { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
      ],
    },
  });

  it("routes matching requests to the canary and the rest to the primary", () => {
    const vs = buildVirtualService(canary, { primaryWeight: 0, canaryWeight: 100 });
    const [ab, rest] = vs.spec.http ?? [];
    expect(weightsOf(ab)).toEqual({ "podinfo-primary": 0, "podinfo-canary": 100 });
    // analysis.match x service.match: every header condition is combined with every uri
    expect(ab?.match).toEqual([
      { uri: { prefix: "/api" }, headers: { "x-canary": { exact: "insider" } } },
      { uri: { prefix: "/v2" }, headers: { "x-canary": { exact: "insider" } } },
      { uri: { prefix: "/api" }, headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
      { uri: { prefix: "/v2" }, headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
    ]);
    expect(rest?.match).toEqual([{ uri: { prefix: "/api" } }, { uri: { prefix: "/v2" } }]);
    expect(rest?.route).toEqual([{ destination: { host: "podinfo-primary" }, weight: 100 }]);
  });

  it("mergeMatchConditions keeps analysis matches as-is without service matches", () => {
    expect(mergeMatchConditions([{ sourceLabels: { app: "webapp" } }], [])).toEqual([
      { sourceLabels: { app: "webapp" } },
    ]);
  });

  it("mergeMatchConditions ANDs header maps instead of dropping the service's", () => {
    expect(
      mergeMatchConditions(
        [{ headers: { "x-user": { exact: "beta" } } }],
        [{ headers: { host: { exact: "shop" } }, uri: { exact: "/" } }],
      ),
    ).toEqual([{ uri: { exact: "/" }, headers: { host: { exact: "shop" }, "x-user": { exact: "beta" } } }]);
  });
});

describe("buildVirtualService: blue/green and mirroring", () => {
  const blueGreen = podinfoCanary({
    analysis: { interval: "30s", iterations: 5, threshold: 2, mirror: true },
  });

  it("blue/green keeps all traffic on one side at a time", () => {
    const before = buildVirtualService(blueGreen, { primaryWeight: 100, canaryWeight: 0 });
    expect(weightsOf(before.spec.http?.[0])).toEqual({ "podinfo-primary": 100, "podinfo-canary": 0 });
    const switched = buildVirtualService(blueGreen, { primaryWeight: 0, canaryWeight: 100 });
    expect(weightsOf(switched.spec.http?.[0])).toEqual({ "podinfo-primary": 0, "podinfo-canary": 100 });
  });

  it("mirrors to the canary only when asked", () => {
    const plain = buildVirtualService(blueGreen, { primaryWeight: 100, canaryWeight: 0 });
    expect(plain.spec.http?.[0]?.mirror).toBeUndefined();
    const mirrored = buildVirtualService(blueGreen, { primaryWeight: 100, canaryWeight: 0, mirror: true });
    expect(mirrored.spec.http?.[0]?.mirror).toEqual({ host: "podinfo-canary" });
    expect(mirrored.spec.http?.[0]?.mirrorPercentage).toBeUndefined();
  });

  it("sets mirrorPercentage from mirrorWeight", () => {
    const canary = podinfoCanary({
      analysis: { interval: "30s", stepWeight: 10, maxWeight: 50, mirror: true, mirrorWeight: 25 },
    });
    const vs = buildVirtualService(canary, { primaryWeight: 90, canaryWeight: 10, mirror: true });
    expect(vs.spec.http?.[0]?.mirror).toEqual({ host: "podinfo-canary" });
    expect(vs.spec.http?.[0]?.mirrorPercentage).toEqual({ value: 25 });
  });
});

describe("readWeights", () => {
  const live = (vs: VirtualService): VirtualService => JSON.parse(JSON.stringify(vs));

  it("reads back what buildVirtualService wrote, for each layout", () => {
    const cases = [
      podinfoCanary(),
      catalogCanary(),
      podinfoCanary({ service: { appProtocol: "tcp" } }),
      podinfoCanary({
        analysis: { interval: "1m", stepWeight: 10, sessionAffinity: { cookieName: "flagger-cookie" } },
      }),
    ];
    for (const canary of cases) {
      for (const [p, c] of [
        [90, 10],
        [50, 50],
        [0, 100],
      ] as const) {
        const cookies = { canary: "flagger-cookie=abc" };
        const vs = live(buildVirtualService(canary, { primaryWeight: p, canaryWeight: c, cookies }));
        expect(readWeights(vs, canary)).toEqual({ primaryWeight: p, canaryWeight: c, mirrored: false });
      }
    }
  });

  it("reports mirroring", () => {
    const canary = podinfoCanary({ analysis: { interval: "30s", iterations: 5, mirror: true } });
    const vs = buildVirtualService(canary, { primaryWeight: 100, canaryWeight: 0, mirror: true });
    expect(readWeights(vs, canary)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirrored: true });
  });

  it("treats an omitted weight as 0, as Istio serialises it", () => {
    const canary = podinfoCanary();
    const vs: VirtualService = {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "podinfo" },
      spec: {
        http: [
          {
            route: [
              { destination: { host: "podinfo-primary" }, weight: 100 },
              { destination: { host: "podinfo-canary" } },
            ],
          },
        ],
      },
    };
    expect(readWeights(vs, canary)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirrored: false });
  });

  it("errors when the VirtualService does not route to the primary and canary", () => {
    const canary = podinfoCanary();
    const foreign: VirtualService = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "podinfo" },
      spec: { http: [{ route: [{ destination: { host: "podinfo" } }] }] },
    };
    expect(readWeights(foreign, canary)).toHaveProperty("error");
    expect(readWeights({ spec: {} }, canary)).toHaveProperty("error");
  });
});
