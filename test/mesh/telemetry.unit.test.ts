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
