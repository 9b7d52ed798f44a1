// CDS/EDS compilation, host selection, retries, faults and outlier detection over Envoy JSON.
import { describe, expect, it } from "vitest";
import { seededRng } from "../rng.js";
import { clusterName, edsCluster, ISTIO_DEFAULT_RETRY } from "../xds-builders.js";
import { type CompiledCluster, compileCluster, ENVOY_DEFAULT_LIMITS } from "./clusters.js";
import { compileFault, decideFault } from "./fault.js";
import { eligibleHosts, LoadBalancer, requestHash } from "./load-balancer.js";
import { OutlierDetector, outlierResultOf } from "./outlier.js";
import { backoffMs, compileRetryPolicy, isRetriable } from "./retry.js";
import type { ClusterJson, ClusterLoadAssignmentJson, JsonObject, LbEndpointJson } from "./xds-json.js";

type Health = NonNullable<LbEndpointJson["health_status"]>;

import { fraction } from "./xds-json.js";

const NAME = clusterName("reviews", "bookinfo", 9080, "v1");

function cla(ips: Array<string | [string, Health]>): ClusterLoadAssignmentJson {
  return {
    cluster_name: NAME,
    endpoints: [
      {
        lb_endpoints: ips.map((x) => {
          const [ip, health] = typeof x === "string" ? [x, undefined] : x;
          return {
            endpoint: { address: { socket_address: { address: ip, port_value: 9080 } } },
            ...(health ? { health_status: health } : {}),
          };
        }),
      },
    ],
  };
}

function compiled(json: ClusterJson, endpoints: ClusterLoadAssignmentJson): CompiledCluster {
  return compileCluster(NAME, json as JsonObject, new Map([[NAME, endpoints as JsonObject]]));
}

const lbReq = (headers: Record<string, string> = {}, path = "/") => ({ headers, path, sourceIp: "10.0.0.9" });

describe("clusters (CDS + EDS)", () => {
  it("EDS hosts from the ClusterLoadAssignment of the same name; the service from outbound|PORT|SUBSET|FQDN", () => {
    const c = compiled(
      edsCluster(NAME),
      cla(["10.1.0.1", ["10.1.0.2", "UNHEALTHY"], ["10.1.0.3", "DRAINING"]]),
    );
    expect(c.type).toBe("EDS");
    expect(c.service).toEqual({ host: "reviews.bookinfo.svc.cluster.local", port: 9080, subset: "v1" });
    expect(c.lbPolicy).toBe("LEAST_REQUEST");
    expect(c.hosts.map((h) => [h.key, h.health])).toEqual([
      ["10.1.0.1:9080", "healthy"],
      ["10.1.0.2:9080", "unhealthy"],
      ["10.1.0.3:9080", "unhealthy"],
    ]);
    // One healthy of three is under Envoy's default 50 % panic threshold: all hosts.
    expect(eligibleHosts(c, () => false)).toHaveLength(3);
    // Istio's clusters disable panic mode where it matters (healthy_panic_threshold {}).
    const noPanic = compiled(
      edsCluster(NAME, { common_lb_config: { healthy_panic_threshold: {} } }),
      cla(["10.1.0.1", ["10.1.0.2", "UNHEALTHY"]]),
    );
    expect(eligibleHosts(noPanic, () => false).map((h) => h.address)).toEqual(["10.1.0.1"]);
    expect(eligibleHosts(noPanic, (k) => k === "10.1.0.1:9080")).toEqual([]);
  });

  it("circuit breakers: Istio's maxima are no limit; Envoy's defaults without circuit_breakers", () => {
    expect(compiled(edsCluster(NAME), cla([])).limits).toEqual({
      maxConnections: Number.POSITIVE_INFINITY,
      maxPending: Number.POSITIVE_INFINITY,
      maxRequests: Number.POSITIVE_INFINITY,
      maxRetries: Number.POSITIVE_INFINITY,
    });
    expect(compiled({ name: NAME, type: "EDS" }, cla([])).limits).toEqual(ENVOY_DEFAULT_LIMITS);
    const dr = edsCluster(NAME, {
      circuit_breakers: {
        thresholds: [
          { max_connections: 1, max_pending_requests: 1, max_requests: 4294967295, max_retries: 2 },
        ],
      },
      outlier_detection: {
        consecutive_5xx: 3,
        interval: "1s",
        base_ejection_time: "30s",
        max_ejection_percent: 100,
        enforcing_consecutive_5xx: 100,
      },
    });
    const c = compiled(dr, cla([]));
    expect(c.limits).toEqual({
      maxConnections: 1,
      maxPending: 1,
      maxRequests: Number.POSITIVE_INFINITY,
      maxRetries: 2,
    });
    expect(c.outlier).toMatchObject({
      consecutive5xx: 3,
      baseEjectionMs: 30_000,
      maxEjectionPercent: 100,
      enforcingGateway: 0,
    });
  });

  it("FractionalPercent denominators", () => {
    expect(fraction({ numerator: 50 })).toBe(0.5);
    expect(fraction({ numerator: 2500, denominator: "TEN_THOUSAND" })).toBe(0.25);
    expect(fraction({ numerator: 100000, denominator: "MILLION" })).toBe(0.1);
    expect(fraction(undefined)).toBe(0);
  });
});

describe("load balancing", () => {
  const hosts = ["10.1.0.1", "10.1.0.2", "10.1.0.3"];
  const rr = compiled(edsCluster(NAME, { lb_policy: "ROUND_ROBIN" }), cla(hosts));

  it("round robin cycles over the hosts; retries avoid previously tried hosts while others remain", () => {
    const lb = new LoadBalancer();
    const rng = seededRng(1);
    const picks = [0, 1, 2, 3].map(() => lb.pick("s", rr, rr.hosts, [], lbReq(), rng)?.host.address);
    expect(picks).toEqual(["10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.1"]);
    const tried = new Set(["10.1.0.2:9080", "10.1.0.3:9080"]);
    for (let i = 0; i < 5; i++)
      expect(lb.pick("s", rr, rr.hosts, [], lbReq(), rng, tried)?.host.address).toBe("10.1.0.1");
  });

  it("ring hash with a header hash policy: same key, same host; keys spread; no key = random", () => {
    const ring = compiled(edsCluster(NAME, { lb_policy: "RING_HASH" }), cla(hosts));
    const lb = new LoadBalancer();
    const rng = seededRng(2);
    const policy = [{ header: { header_name: "x-user" } }];
    const seen = new Set<string>();
    for (const user of ["ann", "bob", "cy", "dee", "eve", "fay", "gus", "hal"]) {
      const first = lb.pick("s", ring, ring.hosts, policy, lbReq({ "x-user": user }), rng)?.host.key;
      for (let i = 0; i < 5; i++)
        expect(lb.pick("s", ring, ring.hosts, policy, lbReq({ "x-user": user }), rng)?.host.key).toBe(first);
      if (first) seen.add(first);
    }
    expect(seen.size).toBeGreaterThan(1);
    const random = new Set(
      Array.from({ length: 30 }, () => lb.pick("s", ring, ring.hosts, policy, lbReq(), rng)?.host.key),
    );
    expect(random.size).toBeGreaterThan(1);
  });

  it("cookie hash policy with a ttl sets the cookie when the request has none; source IP and query hashes", () => {
    const cookie = [{ cookie: { name: "session", ttl: "3600s", path: "/" } }];
    const fresh = requestHash(cookie, lbReq());
    expect(fresh.hash).toBeDefined();
    expect(fresh.setCookie).toMatch(/^session="[0-9a-f]{16}"; Max-Age=3600; Path=\/; HttpOnly$/);
    const again = requestHash(cookie, lbReq({ cookie: "a=1; session=abc" }));
    expect(again.setCookie).toBeUndefined();
    expect(again.hash).toBe(requestHash(cookie, lbReq({ cookie: "session=abc" })).hash);
    expect(requestHash([{ cookie: { name: "session" } }], lbReq()).hash).toBeUndefined();
    expect(requestHash([{ connection_properties: { source_ip: true } }], lbReq()).hash).toBeDefined();
    expect(requestHash([{ query_parameter: { name: "u" } }], lbReq({}, "/x?u=1")).hash).toBe(
      requestHash([{ query_parameter: { name: "u" } }], lbReq({}, "/y?a=2&u=1")).hash,
    );
  });

  it("least request prefers the less loaded of two choices", () => {
    const lr = compiled(edsCluster(NAME), cla(["10.1.0.1", "10.1.0.2"]));
    const lb = new LoadBalancer();
    const busy = lr.hosts[0];
    if (!busy) return;
    for (let i = 0; i < 5; i++) lb.begin("s", busy);
    const rng = seededRng(4);
    const picks = Array.from(
      { length: 200 },
      () => lb.pick("s", lr, lr.hosts, [], lbReq(), rng)?.host.address,
    );
    expect(picks.filter((a) => a === "10.1.0.2").length).toBeGreaterThan(130);
  });
});

describe("retry policy (Envoy retry_on)", () => {
  it("Istio's default policy retries connect failures, not a 503 answered by the app (no retriable codes)", () => {
    const p = compileRetryPolicy(ISTIO_DEFAULT_RETRY);
    if (!p) throw new Error("policy");
    expect(p.numRetries).toBe(2);
    expect(p.avoidPreviousHosts).toBe(true);
    expect(isRetriable(p, { kind: "connect-failure" })).toBe(true);
    expect(isRetriable(p, { kind: "status", status: 503 })).toBe(false);
    expect(isRetriable(p, { kind: "status", status: 200, grpcStatus: "14" })).toBe(true);
    const with503 = compileRetryPolicy({ ...ISTIO_DEFAULT_RETRY, retriable_status_codes: [503] });
    if (!with503) throw new Error("policy");
    expect(isRetriable(with503, { kind: "status", status: 503 })).toBe(true);
    expect(isRetriable(with503, { kind: "status", status: 500 })).toBe(false);
  });

  it("5xx, gateway-error, retriable-4xx, reset; num_retries defaults to 1; back-off is jittered and capped", () => {
    const fivexx = compileRetryPolicy({ retry_on: "5xx" });
    const gw = compileRetryPolicy({ retry_on: "gateway-error,retriable-4xx", num_retries: 3 });
    if (!fivexx || !gw) throw new Error("policy");
    expect(fivexx.numRetries).toBe(1);
    expect(fivexx.avoidPreviousHosts).toBe(false);
    expect(isRetriable(fivexx, { kind: "status", status: 500 })).toBe(true);
    expect(isRetriable(fivexx, { kind: "per-try-timeout" })).toBe(true);
    expect(isRetriable(fivexx, { kind: "reset" })).toBe(true);
    expect(isRetriable(gw, { kind: "status", status: 500 })).toBe(false);
    expect(isRetriable(gw, { kind: "status", status: 504 })).toBe(true);
    expect(isRetriable(gw, { kind: "status", status: 409 })).toBe(true);
    const slow = compileRetryPolicy({
      retry_on: "5xx",
      retry_back_off: { base_interval: "0.1s", max_interval: "0.3s" },
    });
    if (!slow) throw new Error("policy");
    expect(backoffMs(slow, 1, () => 0.999)).toBeLessThanOrEqual(100);
    expect(backoffMs(slow, 5, () => 0.999)).toBeLessThanOrEqual(300);
    expect(backoffMs(slow, 5, () => 0.999)).toBeGreaterThan(290);
  });
});

describe("fault filter per-route config", () => {
  it("abort and delay percentages; absent percentage = 0 %", () => {
    const f = compileFault({
      "envoy.filters.http.fault": {
        abort: { http_status: 503, percentage: { numerator: 25 } },
        delay: { fixed_delay: "0.5s", percentage: { numerator: 100000, denominator: "MILLION" } },
      },
    });
    const rng = seededRng(8);
    let aborted = 0;
    let delayed = 0;
    for (let i = 0; i < 4000; i++) {
      const d = decideFault(f, rng);
      if (d.abortStatus === 503) aborted++;
      if (d.delayMs === 500) delayed++;
    }
    expect(Math.abs(aborted - 1000)).toBeLessThan(4 * Math.sqrt(4000 * 0.25 * 0.75));
    expect(Math.abs(delayed - 400)).toBeLessThan(4 * Math.sqrt(4000 * 0.1 * 0.9));
    const never = compileFault({ "envoy.filters.http.fault": { abort: { http_status: 500 } } });
    expect(decideFault(never, () => 0).abortStatus).toBeUndefined();
    expect(compileFault(undefined)).toBeUndefined();
  });
});

describe("outlier detection", () => {
  it("ejects a host after consecutive 5xx, for base_ejection_time, within max_ejection_percent", () => {
    let now = 0;
    const det = new OutlierDetector(() => now);
    const cfg = compiled(
      edsCluster(NAME, {
        outlier_detection: {
          consecutive_5xx: 2,
          base_ejection_time: "10s",
          max_ejection_percent: 50,
          enforcing_consecutive_5xx: 100,
        },
      }),
      cla(["10.1.0.1", "10.1.0.2"]),
    ).outlier;
    if (!cfg) throw new Error("outlier");
    const rng = () => 0;
    det.report(cfg, "a", outlierResultOf(500), 2, rng);
    det.report(cfg, "a", "success", 2, rng);
    det.report(cfg, "a", outlierResultOf(500), 2, rng);
    expect(det.isEjected("a")).toBe(false);
    det.report(cfg, "a", outlierResultOf(500), 2, rng);
    expect(det.isEjected("a")).toBe(true);
    // 50 % of two hosts are ejected already: b stays.
    det.report(cfg, "b", outlierResultOf("local-failure"), 2, rng);
    det.report(cfg, "b", outlierResultOf(503), 2, rng);
    expect(det.isEjected("b")).toBe(false);
    now = 10_001;
    expect(det.isEjected("a")).toBe(false);
    // Second ejection lasts twice as long.
    det.report(cfg, "a", "5xx", 2, rng);
    det.report(cfg, "a", "5xx", 2, rng);
    now += 15_000;
    expect(det.isEjected("a")).toBe(true);
    now += 6_000;
    expect(det.isEjected("a")).toBe(false);
  });
});
