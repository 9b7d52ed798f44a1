// The evaluator on xDS configuration istiod really generated (captured by the xDS bridge into
// test/mesh/xds/fixtures/): VirtualService/DestinationRule features as Envoy sees them.
import { describe, expect, it } from "vitest";
import { seededRng } from "../rng.js";
import { loadXdsFixture } from "../xds-builders.js";
import { eligibleHosts, LoadBalancer } from "./load-balancer.js";
import type { MatchRequest } from "./matchers.js";
import { compileSidecarConfig, decide, type RouteDecision } from "./sidecar-config.js";

const webapp = loadXdsFixture("canary-webapp");
const other = loadXdsFixture("canary-other");
const reviews = loadXdsFixture("reviews-subsets");
const NS = webapp.identity.namespace;
const cluster = (svc: string, port = 80, subset = "") =>
  `outbound|${port}|${subset}|${svc}.${NS}.svc.cluster.local`;

function req(over: Partial<MatchRequest> = {}): MatchRequest {
  return { method: "GET", path: "/", authority: "catalog", scheme: "http", headers: {}, ...over };
}

function forward(d: RouteDecision) {
  if (d.kind !== "forward") throw new Error(`expected forward, got ${d.kind}`);
  return d;
}

describe("istiod's config for a Flagger-style canary VirtualService", () => {
  const cfgWebapp = compileSidecarConfig(webapp.snapshot);
  const cfgOther = compileSidecarConfig(other.snapshot);

  it("every Host form of the service reaches its virtual host", () => {
    for (const host of [
      "catalog",
      `catalog.${NS}`,
      `catalog.${NS}.svc`,
      `catalog.${NS}.svc.cluster.local`,
      `catalog.${NS}.svc.cluster.local.`,
      "catalog:80",
      "10.96.24.168",
    ]) {
      expect(cfgWebapp.resolve(host)?.vh?.name, host).toBe(`catalog.${NS}.svc.cluster.local:80`);
    }
    expect(cfgWebapp.resolve("nosuch")?.vh?.name).toBe("allow_any");
  });

  it("the header match goes to the canary for every caller", () => {
    for (const cfg of [cfgWebapp, cfgOther]) {
      const d = forward(decide(cfg, req({ headers: { "x-istio-cohort": "internal" } }), () => 0.5));
      expect(d.route.name).toBe("cohort");
      expect(d.clusterName).toBe(cluster("catalog-canary"));
      expect(decide(cfg, req({ headers: { "x-istio-cohort": "internals" } }), () => 0.5)).toMatchObject({
        route: { name: cfg === cfgWebapp ? "webapp" : "default" },
      });
    }
  });

  it("sourceLabels: only the app=webapp sidecar has the 90/10 route, with its retries, timeout, fault and mirror", () => {
    const rng = seededRng(11);
    let canary = 0;
    for (let i = 0; i < 5000; i++)
      if (forward(decide(cfgWebapp, req(), rng)).clusterName === cluster("catalog-canary")) canary++;
    expect(Math.abs(canary - 500)).toBeLessThan(4 * Math.sqrt(5000 * 0.1 * 0.9));
    const d = forward(decide(cfgWebapp, req(), rng));
    expect(d.action.timeoutMs).toBe(5000);
    expect(d.action.retry).toMatchObject({ numRetries: 3, perTryTimeoutMs: 2000, avoidPreviousHosts: true });
    expect([...(d.action.retry?.retryOn ?? [])].sort()).toEqual(["5xx", "connect-failure"]);
    expect(d.action.mirrors).toEqual([
      { cluster: cluster("catalog-canary"), probability: 0.25, shadowSuffix: false },
    ]);
    expect(d.fault).toEqual({
      delay: { ms: 7000, probability: 0.1 },
      abort: { status: 500, probability: 0.5 },
    });
    // The other caller's default route: everything to the primary, Istio's default retry policy.
    const o = forward(decide(cfgOther, req(), rng));
    expect(o.route.name).toBe("default");
    expect(o.clusterName).toBe(cluster("catalog-primary"));
    expect(o.action.timeoutMs).toBeUndefined();
    expect(o.action.retry).toMatchObject({ numRetries: 2, avoidPreviousHosts: true, statusCodes: new Set() });
    expect(o.fault).toBeUndefined();
  });

  it("clusters: LEAST_REQUEST, no circuit-breaker limits, panic mode off, endpoints at the pods' IPs", () => {
    const c = cfgWebapp.clusters.get(cluster("catalog-primary"));
    expect(c).toMatchObject({
      type: "EDS",
      lbPolicy: "LEAST_REQUEST",
      panicThreshold: 0,
      outlier: undefined,
    });
    expect(c?.limits.maxRetries).toBe(Number.POSITIVE_INFINITY);
    const ips = new Set(webapp.pods.filter((p) => p.labels.app === "catalog-primary").map((p) => p.podIP));
    expect(new Set(c?.hosts.map((h) => h.address))).toEqual(ips);
    expect(c?.service).toEqual({ host: `catalog-primary.${NS}.svc.cluster.local`, port: 80, subset: "" });
    expect(cfgWebapp.clusters.get("PassthroughCluster")?.type).toBe("ORIGINAL_DST");
  });
});

describe("istiod's config for DestinationRule subsets, consistent hash and circuit breakers", () => {
  const cfg = compileSidecarConfig(reviews.snapshot);

  it("a Host without port lands in the service's only port (9080); header and regex matches pick the subset", () => {
    expect(cfg.resolve("reviews")?.rc.name).toBe("9080");
    expect(cfg.resolve(`reviews.${NS}.svc.cluster.local`)?.rc.name).toBe("9080");
    const to = (over: Partial<MatchRequest>) =>
      forward(decide(cfg, req({ authority: "reviews", ...over }), () => 0)).clusterName;
    expect(to({ headers: { "end-user": "jason" } })).toBe(cluster("reviews", 9080, "v2"));
    expect(to({ path: "/api/x", headers: { "x-re": "a-to-b" } })).toBe(cluster("reviews", 9080, "v1"));
    const d = forward(
      decide(cfg, req({ authority: "reviews", path: "/api/x", headers: { "x-re": "a-to-bc" } }), () => 0),
    );
    expect(d.route.match.pathLiteral).toBe("/"); // the regex must match the whole value
  });

  it("consistent hash: RING_HASH + the route's hash_policy; no previous-hosts predicate; DR limits and outlier detection", () => {
    const v1 = cfg.clusters.get(cluster("reviews", 9080, "v1"));
    const v2 = cfg.clusters.get(cluster("reviews", 9080, "v2"));
    const all = cfg.clusters.get(cluster("reviews", 9080));
    if (!v1 || !v2 || !all) throw new Error("clusters missing");
    expect(v1.lbPolicy).toBe("RING_HASH");
    expect(v2.lbPolicy).toBe("ROUND_ROBIN"); // the subset's own loadBalancer
    expect(v1.limits).toMatchObject({ maxConnections: 10, maxPending: 5 });
    expect(v1.outlier).toMatchObject({ consecutive5xx: 3, baseEjectionMs: 30_000, maxEjectionPercent: 100 });
    const d = forward(decide(cfg, req({ authority: "reviews", headers: { "x-user": "ann" } }), () => 0));
    expect(d.action.hashPolicies).toEqual([{ header: { header_name: "x-user" } }]);
    expect(d.action.retry?.avoidPreviousHosts).toBe(false);
    const lb = new LoadBalancer();
    const rng = seededRng(5);
    const hosts = eligibleHosts(all, () => false);
    expect(hosts).toHaveLength(2);
    const seen = new Set<string>();
    for (const user of ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]) {
      const pick = () =>
        lb.pick(
          "s",
          all,
          hosts,
          d.action.hashPolicies,
          { headers: { "x-user": user }, path: "/", sourceIp: "" },
          rng,
        )?.host.key;
      const first = pick();
      for (let i = 0; i < 4; i++) expect(pick()).toBe(first);
      if (first) seen.add(first);
    }
    expect(seen.size).toBe(2);
  });
});
