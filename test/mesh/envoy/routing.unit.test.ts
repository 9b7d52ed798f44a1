// Envoy route evaluation over hand-written xDS JSON in the form istiod generates it.
import { describe, expect, it } from "vitest";
import { seededRng } from "../rng.js";
import {
  clusterName,
  edsCluster,
  ISTIO_DEFAULT_RETRY,
  routeConfig,
  routeTo,
  snapshotOf,
  virtualHost,
} from "../xds-builders.js";
import { headerMatcher, type MatchRequest } from "./matchers.js";
import { compileRouteConfig, selectVirtualHost } from "./route-table.js";
import {
  compileSidecarConfig,
  decide,
  finalizeResponseHeaders,
  type RouteDecision,
  upstreamRequest,
} from "./sidecar-config.js";
import type { RouteConfigurationJson, RouteJson, VirtualHostJson } from "./xds-json.js";

const NS = "shop";
const primary = clusterName("catalog-primary", NS);
const canary = clusterName("catalog-canary", NS);

function req(over: Partial<MatchRequest> = {}): MatchRequest {
  return { method: "GET", path: "/", authority: "catalog", scheme: "http", headers: {}, ...over };
}

function configWith(
  routes: RouteJson[],
  extra: { vh?: Partial<VirtualHostJson>; rc?: Partial<RouteConfigurationJson> } = {},
) {
  const rc = { ...routeConfig(80, [virtualHost("catalog", NS, routes, { extra: extra.vh })]), ...extra.rc };
  return compileSidecarConfig(
    snapshotOf({ routes: [rc], clusters: [edsCluster(primary), edsCluster(canary)] }),
  );
}

function forward(d: RouteDecision) {
  if (d.kind !== "forward") throw new Error(`expected forward, got ${d.kind}`);
  return d;
}

const always = () => 0;

describe("virtual host selection (Envoy domain rules)", () => {
  const rc = compileRouteConfig("80", {
    name: "80",
    virtual_hosts: [
      { name: "exact", domains: ["api.example.com"], routes: [] },
      { name: "short-suffix", domains: ["*.example.com"], routes: [] },
      { name: "long-suffix", domains: ["*.api.example.com"], routes: [] },
      { name: "prefix", domains: ["api.*"], routes: [] },
      { name: "longer-prefix", domains: ["api.example.*"], routes: [] },
      { name: "with-port", domains: ["ported:8080"], routes: [] },
      { name: "star", domains: ["*"], routes: [] },
    ],
  });
  const name = (host: string) => selectVirtualHost(rc, host)?.name;

  it("exact, then the longest suffix wildcard, then the longest prefix wildcard, then *", () => {
    expect(name("api.example.com")).toBe("exact");
    expect(name("API.Example.com")).toBe("exact");
    expect(name("v1.api.example.com")).toBe("long-suffix");
    expect(name("www.example.com")).toBe("short-suffix");
    expect(name("api.example.org")).toBe("longer-prefix");
    expect(name("api.other.net")).toBe("prefix");
    expect(name("nothing.here")).toBe("star");
    // A wildcard needs at least one character in its place.
    expect(name("example.com")).toBe("star");
  });

  it("domains with a port match the Host with that port; without ignore_port the port is part of the host", () => {
    expect(name("ported:8080")).toBe("with-port");
    expect(name("ported")).toBe("star");
    expect(name("api.example.com:80")).toBe("exact"); // the listener's own port is stripped
    expect(name("api.example.com:9999")).toBe("longer-prefix"); // "api.example.*" matches "api.example.com:9999"
    const ignoring = compileRouteConfig("80", {
      name: "80",
      ignore_port_in_host_matching: true,
      virtual_hosts: [{ name: "a", domains: ["a.ns.svc.cluster.local", "a"], routes: [] }],
    });
    expect(selectVirtualHost(ignoring, "a:12345")?.name).toBe("a");
  });

  it("Host forms: short name (same namespace only), name.ns, name.ns.svc, FQDN, with or without :port", () => {
    const same = compileSidecarConfig(
      snapshotOf({
        routes: [
          routeConfig(80, [virtualHost("catalog", NS, [routeTo(primary)])]),
          routeConfig(9080, [
            virtualHost("reviews", "bookinfo", [routeTo("r")], { port: 9080, clientNamespace: NS }),
          ]),
        ],
      }),
    );
    for (const host of [
      "catalog",
      `catalog.${NS}`,
      `catalog.${NS}.svc`,
      `catalog.${NS}.svc.cluster.local`,
      "catalog:80",
    ]) {
      expect(same.resolve(host)?.vh?.name, host).toBe(`catalog.${NS}.svc.cluster.local:80`);
    }
    // Only route config 9080 knows reviews: a Host without port lands there.
    expect(same.resolve("reviews.bookinfo")?.rc.name).toBe("9080");
    expect(same.resolve("reviews.bookinfo:9080")?.vh?.name).toBe("reviews.bookinfo.svc.cluster.local:9080");
    // From another namespace the short name is not a domain: it falls to allow_any.
    expect(same.resolve("reviews")?.vh?.name).toBe("allow_any");
    // A port without a route configuration: nothing.
    expect(same.resolve("catalog:81")).toBeUndefined();
  });
});

describe("route matching", () => {
  it("first match wins, in order", () => {
    const c = configWith([
      { name: "a", match: { prefix: "/api" }, route: { cluster: canary } },
      { name: "b", match: { prefix: "/" }, route: { cluster: primary } },
    ]);
    expect(forward(decide(c, req({ path: "/api/x" }), always)).clusterName).toBe(canary);
    expect(forward(decide(c, req({ path: "/other" }), always)).clusterName).toBe(primary);
  });

  it("prefix sees the query; path and safe_regex do not; regexes are RE2 full matches", () => {
    const c = configWith([
      { name: "q", match: { prefix: "/search?debug" }, route: { cluster: canary } },
      { name: "p", match: { path: "/exact" }, route: { cluster: canary } },
      { name: "r", match: { safe_regex: { regex: "/items/[0-9]+" } }, route: { cluster: canary } },
      { name: "d", match: { prefix: "/" }, route: { cluster: primary } },
    ]);
    const to = (path: string) => forward(decide(c, req({ path }), always)).route.name;
    expect(to("/search?debug=1")).toBe("q");
    expect(to("/exact?x=1")).toBe("p");
    expect(to("/exact/more")).toBe("d");
    expect(to("/items/42?y")).toBe("r");
    expect(to("/items/42/reviews")).toBe("d");
    expect(to("/x/items/42")).toBe("d");
  });

  it("case_sensitive: false for prefix and path; path_separated_prefix on segment boundaries", () => {
    const c = configWith([
      { name: "ci", match: { prefix: "/API", case_sensitive: false }, route: { cluster: canary } },
      { name: "sep", match: { path_separated_prefix: "/v1" }, route: { cluster: canary } },
      { name: "d", match: { prefix: "/" }, route: { cluster: primary } },
    ]);
    const to = (path: string) => forward(decide(c, req({ path }), always)).route.name;
    expect(to("/api/x")).toBe("ci");
    expect(to("/v1")).toBe("sep");
    expect(to("/v1/x")).toBe("sep");
    expect(to("/v1x")).toBe("d");
  });

  it("headers: string matchers, ignore_case, present, invert, and Envoy's missing-header rules", () => {
    const m = (h: Parameters<typeof headerMatcher>[0], headers: Record<string, string>) =>
      headerMatcher(h)(req({ headers }));
    expect(m({ name: "end-user", string_match: { exact: "jason" } }, { "end-user": "jason" })).toBe(true);
    expect(m({ name: "end-user", string_match: { exact: "jason" } }, { "end-user": "Jason" })).toBe(false);
    expect(
      m({ name: "end-user", string_match: { exact: "jason", ignore_case: true } }, { "end-user": "JASON" }),
    ).toBe(true);
    expect(m({ name: "x", string_match: { prefix: "ab" } }, { x: "abc" })).toBe(true);
    expect(m({ name: "x", string_match: { suffix: "bc" } }, { x: "abc" })).toBe(true);
    expect(m({ name: "x", string_match: { contains: "b" } }, { x: "abc" })).toBe(true);
    expect(m({ name: "x", string_match: { safe_regex: { regex: "a.c" } } }, { x: "abc" })).toBe(true);
    expect(m({ name: "x", string_match: { safe_regex: { regex: "a.c" } } }, { x: "abcd" })).toBe(false);
    expect(m({ name: "x", string_match: { safe_regex: { regex: "(?i)ABC" } } }, { x: "abc" })).toBe(true);
    expect(m({ name: "x", present_match: true }, { x: "" })).toBe(true);
    expect(m({ name: "x", present_match: true }, {})).toBe(false);
    expect(m({ name: "x", present_match: true, invert_match: true }, {})).toBe(true);
    // A missing header never matches a value matcher, inverted or not...
    expect(m({ name: "x", string_match: { exact: "a" } }, {})).toBe(false);
    expect(m({ name: "x", string_match: { exact: "a" }, invert_match: true }, {})).toBe(false);
    // ...unless it is treated as empty (Istio's withoutHeaders).
    expect(
      m(
        { name: "x", string_match: { exact: "a" }, invert_match: true, treat_missing_header_as_empty: true },
        {},
      ),
    ).toBe(true);
    expect(m({ name: "x", string_match: { exact: "a" }, invert_match: true }, { x: "a" })).toBe(false);
  });

  it("pseudo-headers :method, :authority, :path and query parameters", () => {
    const c = configWith([
      {
        name: "post",
        match: { prefix: "/", headers: [{ name: ":method", string_match: { exact: "POST" } }] },
        route: { cluster: canary },
      },
      {
        name: "auth",
        match: { prefix: "/", headers: [{ name: ":authority", string_match: { prefix: "catalog.shop" } }] },
        route: { cluster: canary },
      },
      {
        name: "path",
        match: { prefix: "/", headers: [{ name: ":path", string_match: { suffix: "?v=2" } }] },
        route: { cluster: canary },
      },
      {
        name: "query",
        match: {
          prefix: "/",
          query_parameters: [
            { name: "user", string_match: { exact: "ann" } },
            { name: "beta", present_match: true },
          ],
        },
        route: { cluster: canary },
      },
      { name: "d", match: { prefix: "/" }, route: { cluster: primary } },
    ]);
    const to = (over: Partial<MatchRequest>) => forward(decide(c, req(over), always)).route.name;
    expect(to({ method: "POST" })).toBe("post");
    expect(to({ authority: "catalog.shop" })).toBe("auth");
    expect(to({ path: "/x?v=2" })).toBe("path");
    expect(to({ path: "/x?user=ann&beta" })).toBe("query");
    expect(to({ path: "/x?user=ann" })).toBe("d");
    expect(to({ path: "/x?user=bob&beta=1" })).toBe("d");
  });

  it("runtime_fraction: the route matches that share of requests", () => {
    const c = configWith([
      {
        name: "some",
        match: {
          prefix: "/",
          runtime_fraction: { default_value: { numerator: 25, denominator: "HUNDRED" } },
        },
        route: { cluster: canary },
      },
      { name: "d", match: { prefix: "/" }, route: { cluster: primary } },
    ]);
    const rng = seededRng(3);
    let n = 0;
    for (let i = 0; i < 4000; i++) if (forward(decide(c, req(), rng)).route.name === "some") n++;
    expect(Math.abs(n - 1000)).toBeLessThan(4 * Math.sqrt(4000 * 0.25 * 0.75));
  });

  it("no virtual host or no route: no-route (404 NR) with the service host for telemetry", () => {
    const c = configWith([{ name: "only", match: { prefix: "/api" }, route: { cluster: canary } }]);
    expect(decide(c, req({ path: "/x" }), always)).toEqual({
      kind: "no-route",
      serviceHost: `catalog.${NS}.svc.cluster.local`,
    });
    const empty = compileSidecarConfig(snapshotOf({}));
    expect(decide(empty, req({ authority: "nosuch" }), always)).toEqual({
      kind: "no-route",
      serviceHost: "nosuch",
    });
  });
});

describe("weighted clusters", () => {
  const split = (weights: Array<[string, number]>, total?: number) =>
    configWith([
      {
        name: "split",
        match: { prefix: "/" },
        route: {
          weighted_clusters: {
            clusters: weights.map(([name, weight]) => ({ name, weight })),
            ...(total ? { total_weight: total } : {}),
          },
          timeout: "0s",
        },
      },
    ]);
  const count = (c: ReturnType<typeof configWith>, n: number, seed: number) => {
    const rng = seededRng(seed);
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const name = forward(decide(c, req(), rng)).clusterName;
      out[name] = (out[name] ?? 0) + 1;
    }
    return out;
  };

  it("a 90/10 split lands within statistical tolerance over 5000 picks", () => {
    const got = count(
      split([
        [primary, 90],
        [canary, 10],
      ]),
      5000,
      42,
    );
    expect(Math.abs((got[canary] ?? 0) - 500)).toBeLessThan(4 * Math.sqrt(5000 * 0.1 * 0.9));
  });

  it("weight 0 is never chosen; weights are relative; total_weight is honoured", () => {
    expect(
      count(
        split([
          [primary, 0],
          [canary, 100],
        ]),
        500,
        1,
      ),
    ).toEqual({ [canary]: 500 });
    const rel = count(
      split([
        [primary, 3],
        [canary, 1],
      ]),
      4000,
      9,
    );
    expect(Math.abs((rel[canary] ?? 0) - 1000)).toBeLessThan(4 * Math.sqrt(4000 * 0.25 * 0.75));
    const total = count(
      split(
        [
          [primary, 50],
          [canary, 50],
        ],
        100,
      ),
      2000,
      5,
    );
    expect(Math.abs((total[canary] ?? 0) - 1000)).toBeLessThan(4 * Math.sqrt(2000 * 0.25));
  });
});

describe("route actions", () => {
  it("header mutations in Envoy's order (weighted cluster, route, virtual host, route config)", () => {
    const c = configWith(
      [
        {
          name: "r",
          match: { prefix: "/" },
          request_headers_to_add: [
            { header: { key: "x-level", value: "route" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
            { header: { key: "x-list", value: "route" } },
          ],
          request_headers_to_remove: ["x-secret"],
          response_headers_to_add: [
            { header: { key: "x-resp", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
          ],
          route: {
            weighted_clusters: {
              clusters: [
                {
                  name: canary,
                  weight: 100,
                  request_headers_to_add: [
                    {
                      header: { key: "x-level", value: "cluster" },
                      append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
                    },
                    { header: { key: "x-list", value: "cluster" } },
                  ],
                  host_rewrite_literal: "canary.internal",
                },
              ],
            },
            host_rewrite_literal: "route.internal",
          },
        },
      ],
      {
        vh: {
          request_headers_to_add: [
            { header: { key: "x-level", value: "vhost" }, append_action: "ADD_IF_ABSENT" },
            { header: { key: "x-vh", value: "v" }, append_action: "OVERWRITE_IF_EXISTS" },
          ],
        },
        rc: { request_headers_to_add: [{ header: { key: "x-list", value: "global" } }] },
      },
    );
    const d = forward(decide(c, req({ headers: { "x-secret": "s", "x-list": "client" } }), always));
    const up = upstreamRequest(d, { "x-secret": "s", "x-list": "client" }, req());
    expect(up.headers["x-secret"]).toBeUndefined();
    expect(up.headers["x-level"]).toBe("route"); // the route overwrites the cluster; the vhost only adds if absent
    expect(up.headers["x-list"]).toBe("client,cluster,route,global");
    expect(up.headers["x-vh"]).toBeUndefined(); // OVERWRITE_IF_EXISTS on a missing header
    expect(up.authority).toBe("canary.internal"); // the weighted cluster's rewrite wins
    const resp: Record<string, string> = {};
    finalizeResponseHeaders(d, resp);
    expect(resp["x-resp"]).toBe("1");
  });

  it("prefix_rewrite swaps the matched prefix (query kept); regex_rewrite substitutes RE2 groups", () => {
    const c = configWith([
      { name: "p", match: { prefix: "/v1/" }, route: { cluster: canary, prefix_rewrite: "/v2/" } },
      { name: "e", match: { path: "/old" }, route: { cluster: canary, prefix_rewrite: "/new" } },
      {
        name: "x",
        match: { prefix: "/api/" },
        route: {
          cluster: canary,
          regex_rewrite: { pattern: { regex: "^/api/v(\\d+)/(.*)$" }, substitution: "/\\2/version/\\1" },
        },
      },
    ]);
    const path = (p: string) => {
      const d = forward(decide(c, req({ path: p }), always));
      return upstreamRequest(d, {}, req({ path: p })).path;
    };
    expect(path("/v1/items?q=1")).toBe("/v2/items?q=1");
    expect(path("/old?x")).toBe("/new?x");
    expect(path("/api/v3/items?z=1")).toBe("/items/version/3?z=1");
  });

  it("redirect and direct_response", () => {
    const c = configWith([
      {
        name: "r",
        match: { prefix: "/old" },
        redirect: { path_redirect: "/new", host_redirect: "other.example", response_code: "FOUND" },
      },
      { name: "s", match: { prefix: "/secure" }, redirect: { https_redirect: true, port_redirect: 8443 } },
      { name: "p", match: { prefix: "/pre/" }, redirect: { prefix_rewrite: "/post/" } },
      {
        name: "d",
        match: { prefix: "/teapot" },
        direct_response: { status: 418, body: { inline_string: "short and stout" } },
      },
    ]);
    expect(decide(c, req({ path: "/old?a=1" }), always)).toMatchObject({
      kind: "redirect",
      status: 302,
      location: "http://other.example/new?a=1",
    });
    expect(decide(c, req({ path: "/secure", authority: "catalog:80" }), always)).toMatchObject({
      status: 301,
      location: "https://catalog:8443/secure",
    });
    expect(decide(c, req({ path: "/pre/x" }), always)).toMatchObject({ location: "http://catalog/post/x" });
    expect(decide(c, req({ path: "/teapot" }), always)).toMatchObject({
      kind: "direct",
      status: 418,
      body: "short and stout",
    });
  });

  it("timeouts, retry policy, mirrors and the fault filter come from the route", () => {
    const c = configWith([
      {
        name: "r",
        match: { prefix: "/" },
        route: {
          cluster: canary,
          timeout: "1.5s",
          retry_policy: { ...ISTIO_DEFAULT_RETRY, per_try_timeout: "0.2s" },
          request_mirror_policies: [
            {
              cluster: primary,
              runtime_fraction: { default_value: { numerator: 250000, denominator: "MILLION" } },
            },
          ],
        },
        typed_per_filter_config: {
          "envoy.filters.http.fault": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
            delay: { fixed_delay: "7s", percentage: { numerator: 100 } },
            abort: { http_status: 500, percentage: { numerator: 500000, denominator: "MILLION" } },
          },
        },
      },
      { name: "none", match: { prefix: "/" }, route: { cluster: canary } },
    ]);
    const d = forward(decide(c, req(), always));
    expect(d.action.timeoutMs).toBe(1500);
    expect(d.action.retry).toMatchObject({ numRetries: 2, perTryTimeoutMs: 200, avoidPreviousHosts: true });
    expect(d.action.mirrors).toEqual([{ cluster: primary, probability: 0.25, shadowSuffix: true }]);
    expect(d.fault).toEqual({
      delay: { ms: 7000, probability: 1 },
      abort: { status: 500, probability: 0.5 },
    });
    // No timeout field: Envoy's 15 s default; "0s" disables it.
    const plain = configWith([{ name: "p", match: { prefix: "/" }, route: { cluster: canary } }]);
    expect(forward(decide(plain, req(), always)).action.timeoutMs).toBe(15_000);
    expect(forward(decide(configWith([routeTo(canary)]), req(), always)).action.timeoutMs).toBeUndefined();
  });
});
