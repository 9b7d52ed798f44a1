import { describe, expect, it } from "vitest";
import { requestHostCandidates, resolveConfigHost, shadowAuthority } from "./hosts.js";
import type { RequestFacts } from "./matching.js";
import { MeshIndex } from "./mesh-index.js";
import { seededRng } from "./rng.js";
import { decideRoute, pickWeighted, type RouteDecision, resolveRequestHost, selectRoute } from "./routing.js";
import { flaggerCatalog, serviceOf, stateOf, vsOf } from "./state-builders.js";

function facts(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    method: "GET",
    path: "/",
    authority: "catalog",
    scheme: "http",
    headers: {},
    port: 0,
    source: { labels: { app: "webapp" }, namespace: "shop" },
    ...over,
  };
}

function forwardHost(d: RouteDecision): string | undefined {
  return d.kind === "forward" ? d.target?.host : undefined;
}

/** Flagger's generated VirtualService for catalog at canary weight w (A/B route first when given). */
function flaggerVs(ns: string, weight: number) {
  return vsOf("catalog", ns, {
    hosts: ["catalog"],
    gateways: ["mesh"],
    http: [
      {
        match: [{ headers: { "x-istio-cohort": { exact: "internal" } } }],
        route: [{ destination: { host: "catalog-canary" } }],
      },
      {
        route: [
          { destination: { host: "catalog-primary" }, weight: 100 - weight },
          { destination: { host: "catalog-canary" }, weight },
        ],
      },
    ],
  });
}

describe("hosts", () => {
  it("resolves config hosts in the object's namespace, request hosts in the caller's", () => {
    expect(resolveConfigHost("catalog", "shop")).toBe("catalog.shop.svc.cluster.local");
    expect(resolveConfigHost("catalog.shop.svc.cluster.local", "other")).toBe(
      "catalog.shop.svc.cluster.local",
    );
    expect(resolveConfigHost("*.example.com", "shop")).toBe("*.example.com");
    expect(requestHostCandidates("catalog", "shop")).toEqual(["catalog.shop.svc.cluster.local"]);
    expect(requestHostCandidates("catalog.shop", "x")[0]).toBe("catalog.shop.svc.cluster.local");
    expect(requestHostCandidates("catalog.shop.svc", "x")[0]).toBe("catalog.shop.svc.cluster.local");
    expect(shadowAuthority("catalog:80")).toBe("catalog-shadow:80");
    expect(shadowAuthority("catalog.shop")).toBe("catalog.shop-shadow");
  });

  it("short, namespaced and FQDN Host headers reach the same VirtualService", () => {
    const index = new MeshIndex(
      stateOf({ ...flaggerCatalog("shop"), virtualServices: [flaggerVs("shop", 0)] }),
    );
    for (const h of ["catalog", "catalog.shop", "catalog.shop.svc.cluster.local"]) {
      expect(resolveRequestHost(index, h, "shop")?.vs?.vs.name).toBe("catalog");
    }
    // From another namespace the short name means catalog.<that ns>: unknown there.
    expect(resolveRequestHost(index, "catalog", "elsewhere")).toBeUndefined();
    expect(resolveRequestHost(index, "catalog.shop", "elsewhere")?.vs?.vs.name).toBe("catalog");
  });

  it("ignores VirtualServices bound only to gateways, and the oldest wins a host conflict", () => {
    const gwOnly = vsOf("gw", "shop", { hosts: ["catalog"], gateways: ["ingress"], http: [] }, 1);
    const newer = vsOf("newer", "shop", { hosts: ["catalog"], http: [] }, 20);
    const older = vsOf("older", "shop", { hosts: ["catalog.shop.svc.cluster.local"], http: [] }, 10);
    const index = new MeshIndex(
      stateOf({ ...flaggerCatalog("shop"), virtualServices: [gwOnly, newer, older] }),
    );
    expect(resolveRequestHost(index, "catalog", "shop")?.vs?.vs.name).toBe("older");
  });
});

describe("route selection", () => {
  it("first match wins, in order", () => {
    const routes = [
      {
        match: [{ headers: { "end-user": { exact: "jason" } } }],
        route: [{ destination: { host: "reviews-v2" } }],
      },
      { match: [{ uri: { prefix: "/" } }], route: [{ destination: { host: "reviews-v1" } }] },
      {
        match: [{ headers: { "end-user": { exact: "jason" } } }],
        route: [{ destination: { host: "reviews-v3" } }],
      },
    ];
    expect(selectRoute(routes, facts({ headers: { "end-user": "jason" } }))?.index).toBe(0);
    expect(selectRoute(routes, facts({ headers: { "end-user": "bob" } }))?.index).toBe(1);
    const reversed = [routes[1], routes[0]].filter((r) => r !== undefined);
    expect(selectRoute(reversed, facts({ headers: { "end-user": "jason" } }))?.index).toBe(0);
  });

  it("header match routes deterministically to the canary; others follow the weights", () => {
    const index = new MeshIndex(
      stateOf({ ...flaggerCatalog("shop"), virtualServices: [flaggerVs("shop", 0)] }),
    );
    const rng = seededRng(1);
    for (let i = 0; i < 200; i++) {
      const internal = decideRoute(
        index,
        { host: "catalog", port: undefined },
        facts({ headers: { "x-istio-cohort": "internal" } }),
        rng,
      );
      expect(forwardHost(internal)).toBe("catalog-canary.shop.svc.cluster.local");
      const other = decideRoute(index, { host: "catalog", port: undefined }, facts(), rng);
      expect(forwardHost(other)).toBe("catalog-primary.shop.svc.cluster.local");
    }
  });

  it("sourceLabels routes only the matching caller (Flagger A/B)", () => {
    const vs = vsOf("catalog", "shop", {
      hosts: ["catalog"],
      http: [
        {
          match: [{ sourceLabels: { app: "webapp" } }],
          route: [{ destination: { host: "catalog-canary" } }],
        },
        { route: [{ destination: { host: "catalog-primary" } }] },
      ],
    });
    const index = new MeshIndex(stateOf({ ...flaggerCatalog("shop"), virtualServices: [vs] }));
    const rng = seededRng(2);
    expect(forwardHost(decideRoute(index, { host: "catalog", port: undefined }, facts(), rng))).toContain(
      "catalog-canary",
    );
    const other = facts({ source: { labels: { app: "loadtester" }, namespace: "shop" } });
    expect(forwardHost(decideRoute(index, { host: "catalog", port: undefined }, other, rng))).toContain(
      "catalog-primary",
    );
  });

  it("no VirtualService: plain Service routing; unknown host or no matching route: no-route", () => {
    const vs = vsOf("only-api", "shop", {
      hosts: ["catalog"],
      http: [{ match: [{ uri: { prefix: "/api" } }], route: [{ destination: { host: "catalog-primary" } }] }],
    });
    const plain = new MeshIndex(stateOf({ services: [serviceOf("catalog", "shop", { app: "catalog" })] }));
    const rng = seededRng(3);
    const d = decideRoute(plain, { host: "catalog", port: undefined }, facts(), rng);
    expect(d.kind === "forward" && d.selected === undefined && d.target?.host).toBe(
      "catalog.shop.svc.cluster.local",
    );
    expect(decideRoute(plain, { host: "nosuch", port: undefined }, facts(), rng).kind).toBe("no-route");
    expect(decideRoute(plain, { host: "catalog", port: 8080 }, facts(), rng).kind).toBe("no-route");
    const withVs = new MeshIndex(stateOf({ ...flaggerCatalog("shop"), virtualServices: [vs] }));
    expect(decideRoute(withVs, { host: "catalog", port: undefined }, facts({ path: "/web" }), rng).kind).toBe(
      "no-route",
    );
    expect(
      decideRoute(withVs, { host: "catalog", port: undefined }, facts({ path: "/api/x" }), rng).kind,
    ).toBe("forward");
  });

  it("redirect and directResponse routes", () => {
    const vs = vsOf("catalog", "shop", {
      hosts: ["catalog"],
      http: [
        { match: [{ uri: { exact: "/old" } }], redirect: { uri: "/new" } },
        { directResponse: { status: 418, body: { string: "teapot" } } },
      ],
    });
    const index = new MeshIndex(stateOf({ ...flaggerCatalog("shop"), virtualServices: [vs] }));
    const rng = seededRng(4);
    expect(decideRoute(index, { host: "catalog", port: undefined }, facts({ path: "/old" }), rng)).toEqual({
      kind: "redirect",
      status: 301,
      location: "http://catalog/new",
    });
    expect(decideRoute(index, { host: "catalog", port: undefined }, facts({ path: "/x" }), rng)).toEqual({
      kind: "direct",
      status: 418,
      body: "teapot",
    });
  });
});

describe("weighted destinations", () => {
  it("a 90/10 split lands within statistical tolerance over 5000 picks", () => {
    const rng = seededRng(42);
    const dests = [
      { name: "primary", weight: 90 },
      { name: "canary", weight: 10 },
    ];
    const n = 5000;
    let canary = 0;
    for (let i = 0; i < n; i++) if (pickWeighted(dests, rng)?.name === "canary") canary++;
    // Binomial sd = sqrt(n p (1-p)) = 21.2; allow 4 sd.
    expect(Math.abs(canary - n * 0.1)).toBeLessThan(4 * Math.sqrt(n * 0.1 * 0.9));
  });

  it("different seeds give different sequences but the same proportions (80/20)", () => {
    for (const seed of [7, 8, 9]) {
      const rng = seededRng(seed);
      const dests = [{ weight: 80 }, { weight: 20 }];
      let second = 0;
      for (let i = 0; i < 4000; i++) if (pickWeighted(dests, rng) === dests[1]) second++;
      expect(Math.abs(second - 800)).toBeLessThan(4 * Math.sqrt(4000 * 0.2 * 0.8));
    }
  });

  it("weight 0 is never chosen; a single destination takes everything whatever its weight", () => {
    const rng = seededRng(5);
    const dests = [{ weight: 100 }, { weight: 0 }, { weight: undefined }];
    for (let i = 0; i < 2000; i++) expect(pickWeighted(dests, rng)).toBe(dests[0]);
    const only = [{ weight: 0 }];
    expect(pickWeighted(only, rng)).toBe(only[0]);
    expect(pickWeighted([{ weight: 0 }, { weight: 0 }], rng)).toBeUndefined();
    expect(pickWeighted([], rng)).toBeUndefined();
  });

  it("uses weight/sum when weights do not add up to 100", () => {
    const rng = seededRng(6);
    const dests = [{ weight: 1 }, { weight: 3 }];
    let second = 0;
    for (let i = 0; i < 4000; i++) if (pickWeighted(dests, rng) === dests[1]) second++;
    expect(Math.abs(second - 3000)).toBeLessThan(4 * Math.sqrt(4000 * 0.75 * 0.25));
  });

  it("routes resolve destination short names in the VirtualService namespace, with subset and port", () => {
    const vs = vsOf("reviews", "bookinfo", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "reviews", subset: "v2", port: { number: 9080 } } }] }],
    });
    const index = new MeshIndex(
      stateOf({
        services: [serviceOf("reviews", "bookinfo", { app: "reviews" }, 9080)],
        virtualServices: [vs],
      }),
    );
    const d = decideRoute(
      index,
      { host: "reviews", port: 9080 },
      facts({ source: { labels: {}, namespace: "bookinfo" } }),
      seededRng(1),
    );
    expect(d.kind).toBe("forward");
    if (d.kind === "forward") {
      expect(d.target).toMatchObject({
        host: "reviews.bookinfo.svc.cluster.local",
        subset: "v2",
        port: 9080,
      });
      expect(d.port).toBe(9080);
    }
  });
});
