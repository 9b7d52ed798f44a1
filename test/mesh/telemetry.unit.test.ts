import { describe, expect, it } from "vitest";
import { peerFromLabels, sourceFromHeaders, UNKNOWN_PEER } from "./peer.js";
import { DURATION_BUCKETS_MS, formatFlags, LABEL_NAMES, MeshTelemetry, requestLabels } from "./telemetry.js";

/** The cumulative count of the histogram bucket with upper bound `le` (one series in the text). */
function bucketCount(text: string, le: string): number | undefined {
  const line = text
    .split("\n")
    .find((l) => l.startsWith("istio_request_duration_milliseconds_bucket{") && l.includes(`le="${le}"`));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

const webapp = peerFromLabels("webapp", "shop", { app: "webapp", version: "v1" }, "default");
const canary = peerFromLabels("catalog", "shop", { app: "catalog" }, "catalog-sa");
const svc = { host: "catalog-canary.shop.svc.cluster.local", name: "catalog-canary", namespace: "shop" };

describe("Istio request labels", () => {
  it("carry exactly Istio's label set, destination side", () => {
    const labels = requestLabels({
      reporter: "destination",
      source: webapp,
      destination: canary,
      service: svc,
      responseCode: 200,
      flags: [],
    });
    expect(Object.keys(labels).sort()).toEqual([...LABEL_NAMES].sort());
    expect(labels).toEqual({
      reporter: "destination",
      source_workload: "webapp",
      source_workload_namespace: "shop",
      source_principal: "spiffe://cluster.local/ns/shop/sa/default",
      source_app: "webapp",
      source_version: "v1",
      source_canonical_service: "webapp",
      source_canonical_revision: "v1",
      source_cluster: "Kubernetes",
      destination_workload: "catalog",
      destination_workload_namespace: "shop",
      destination_principal: "spiffe://cluster.local/ns/shop/sa/catalog-sa",
      destination_app: "catalog",
      destination_version: "unknown",
      destination_service: "catalog-canary.shop.svc.cluster.local",
      destination_service_name: "catalog-canary",
      destination_service_namespace: "shop",
      destination_canonical_service: "catalog",
      destination_canonical_revision: "latest",
      destination_cluster: "Kubernetes",
      request_protocol: "http",
      response_flags: "-",
      connection_security_policy: "mutual_tls",
      response_code: "200",
      grpc_response_status: "",
    });
  });

  it("source side differs only in reporter and connection_security_policy", () => {
    const base = { source: webapp, destination: canary, service: svc, responseCode: 503, flags: ["URX"] };
    const src = requestLabels({ ...base, reporter: "source" });
    const dst = requestLabels({ ...base, reporter: "destination" });
    expect(src.connection_security_policy).toBe("unknown");
    expect(dst.connection_security_policy).toBe("mutual_tls");
    expect({ ...src, reporter: "", connection_security_policy: "" }).toEqual({
      ...dst,
      reporter: "",
      connection_security_policy: "",
    });
    expect(src.response_code).toBe("503");
    expect(src.response_flags).toBe("URX");
  });

  it("a fault abort: known service, unknown destination peer, flag FI", () => {
    const l = requestLabels({
      reporter: "source",
      source: webapp,
      destination: UNKNOWN_PEER,
      service: svc,
      responseCode: 500,
      flags: ["FI"],
    });
    expect(l).toMatchObject({
      destination_workload: "unknown",
      destination_workload_namespace: "unknown",
      destination_principal: "unknown",
      destination_app: "unknown",
      destination_canonical_service: "unknown",
      destination_canonical_revision: "latest",
      destination_cluster: "unknown",
      destination_service_name: "catalog-canary",
      response_flags: "FI",
      response_code: "500",
    });
  });

  it("response flags print in Envoy's order", () => {
    expect(formatFlags([])).toBe("-");
    expect(formatFlags(["FI", "DI"])).toBe("DI,FI");
    expect(formatFlags(["URX", "UF"])).toBe("UF,URX");
    expect(formatFlags(["UT", "UT"])).toBe("UT");
  });

  it("callers without identity headers are unknown peers; headers give workload, labels, principal", () => {
    const anon = sourceFromHeaders({}, "default", "127.0.0.1");
    expect(anon.peer).toEqual(UNKNOWN_PEER);
    expect(anon.namespace).toBe("default");
    const known = sourceFromHeaders(
      {
        "x-mesh-source-workload": "webapp",
        "x-mesh-source-namespace": "shop",
        "x-mesh-source-labels": "app=webapp,version=v1",
        "x-mesh-source-service-account": "web",
      },
      "default",
      "127.0.0.1",
    );
    expect(known.labels).toEqual({ app: "webapp", version: "v1" });
    expect(known.peer).toMatchObject({
      workload: "webapp",
      namespace: "shop",
      principal: "spiffe://cluster.local/ns/shop/sa/web",
    });
  });
});

describe("exposition", () => {
  it("exports istio_requests_total and the histogram with Envoy's buckets, and nothing else", async () => {
    const t = new MeshTelemetry();
    t.record(
      {
        reporter: "destination",
        source: webapp,
        destination: canary,
        service: svc,
        responseCode: 200,
        flags: [],
      },
      42,
    );
    t.record(
      {
        reporter: "destination",
        source: webapp,
        destination: canary,
        service: svc,
        responseCode: 200,
        flags: [],
      },
      700,
    );
    const text = await t.metrics();
    const names = new Set(
      text
        .split("\n")
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => l.split(/[{ ]/)[0]),
    );
    expect(names).toEqual(
      new Set([
        "istio_requests_total",
        "istio_request_duration_milliseconds_bucket",
        "istio_request_duration_milliseconds_sum",
        "istio_request_duration_milliseconds_count",
      ]),
    );
    expect(text).toContain("# TYPE istio_requests_total counter");
    expect(text).toContain("# TYPE istio_request_duration_milliseconds histogram");
    const les = [...text.matchAll(/istio_request_duration_milliseconds_bucket\{[^}]*le="([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(les).toEqual([...DURATION_BUCKETS_MS.map(String), "+Inf"]);
    expect(bucketCount(text, "25")).toBe(0);
    expect(bucketCount(text, "50")).toBe(1);
    expect(bucketCount(text, "500")).toBe(1);
    expect(bucketCount(text, "1000")).toBe(2);
    expect(text).toMatch(/istio_requests_total\{[^}]*response_code="200"[^}]*\} 2/);
  });
});

describe("exposition at scale", () => {
  it("is byte for byte what prom-client rendered, before and after a scrape, and in chunks", async () => {
    const { Counter, Histogram, Registry } = await import("prom-client");
    const reg = new Registry();
    const c = new Counter({
      name: "istio_requests_total",
      help: "Total requests handled by an Istio proxy (mesh simulator).",
      labelNames: LABEL_NAMES,
      registers: [reg],
    });
    const h = new Histogram({
      name: "istio_request_duration_milliseconds",
      help: "Request duration in milliseconds (mesh simulator).",
      labelNames: LABEL_NAMES,
      buckets: DURATION_BUCKETS_MS,
      registers: [reg],
    });
    const t = new MeshTelemetry();
    expect(await t.metrics()).toBe(await reg.metrics());
    const odd = peerFromLabels('we"b\\app\nx', "shop", { app: "ä-app", version: "v1" }, "default");
    const peers = [webapp, canary, odd, UNKNOWN_PEER];
    const durations = [0, 0.5, 0.7, 1, 25, 25.000001, 499.5, 3600000, 1e9, -3];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const feed = (n: number) => {
      for (let i = 0; i < n; i++) {
        const rec = {
          reporter: pick(["source", "destination"] as const),
          source: pick(peers),
          destination: pick(peers),
          service: pick([svc, undefined]),
          responseCode: pick([200, 503, 0]),
          flags: pick([[], ["UF", "URX"], ["DC"]]),
        };
        const ms = pick(durations);
        t.record(rec, ms);
        const l = requestLabels(rec);
        c.inc(l);
        h.observe(l, Math.max(0, ms));
      }
    };
    feed(500);
    expect(await t.metrics()).toBe(await reg.metrics());
    feed(50); // some series change, others are reused from the last render
    const expected = await reg.metrics();
    expect(await t.metrics()).toBe(expected);
    expect(Buffer.concat(t.renderChunks()).toString("utf8")).toBe(expected);
    expect(t.renderBuffer().toString("utf8")).toBe(expected);
  });

  it("per-version traffic counts: what each version's app answered (destination reporter)", () => {
    const t = new MeshTelemetry();
    const primary = peerFromLabels("catalog-primary", "shop", { app: "catalog-primary" }, "default");
    const base = { source: webapp, service: svc, flags: [] as string[] };
    t.record({ ...base, reporter: "destination", destination: canary, responseCode: 200 }, 1);
    t.record({ ...base, reporter: "destination", destination: canary, responseCode: 503 }, 1);
    t.record({ ...base, reporter: "source", destination: canary, responseCode: 503 }, 1);
    t.record({ ...base, reporter: "destination", destination: primary, responseCode: 200 }, 1);
    t.record({ ...base, reporter: "destination", destination: canary, responseCode: 503, flags: ["UF"] }, 1);
    t.record({ ...base, reporter: "destination", destination: canary, responseCode: 0, flags: ["DC"] }, 1);
    expect(t.servedByVersion({ namespace: "shop", workload: "catalog" })).toEqual([
      {
        namespace: "shop",
        workload: "catalog",
        version: "unknown",
        requests: 2,
        errors: 1,
        byCode: { "200": 1, "503": 1 },
      },
    ]);
    expect(t.servedByVersion().map((s) => [s.workload, s.requests])).toEqual([
      ["catalog", 2],
      ["catalog-primary", 1],
    ]);
    expect(t.seriesCount()).toBe(6);
  });

  it("keeps at most keepRecent records, trimming in batches", () => {
    const t = new MeshTelemetry(100);
    const rec = {
      reporter: "source" as const,
      source: webapp,
      destination: canary,
      service: svc,
      responseCode: 200,
      flags: [],
    };
    for (let i = 0; i < 1000; i++) t.record(rec, i);
    const recent = t.recentRecords();
    expect(recent.length).toBe(100);
    expect(recent[99]?.durationMs).toBe(999);
    expect(recent[0]?.durationMs).toBe(900);
  });
});
