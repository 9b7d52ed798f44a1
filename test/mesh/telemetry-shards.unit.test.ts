// Metrics partitioned by the sidecar that would export them (Istio: one /metrics per pod), hashed onto a
// fixed number of scrape targets: every series in exactly one partition and one shard, /metrics = union.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdminServer, type MeshDebugState, metricsTargets } from "./admin.js";
import { peerFromLabels, UNKNOWN_PEER } from "./peer.js";
import {
  DEFAULT_METRICS_SHARDS,
  MeshTelemetry,
  partitionOf,
  type RequestRecord,
  requestLabels,
  shardOf,
} from "./telemetry.js";

/** Sample lines (no comments, no blank lines). */
function samples(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** `namespace/workload` of a sample line's exporting sidecar, from its labels. */
function partitionOfLine(line: string): string {
  const labels: Record<string, string> = {};
  for (const m of line.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1] as string] = m[2] as string;
  return partitionOf(labels as Parameters<typeof partitionOf>[0]);
}

/** A small mesh: per namespace a client, a primary and a canary, 2 reporters, 3 codes; unknown callers. */
function populate(t: MeshTelemetry, namespaces = 12): RequestRecord[] {
  const recs: RequestRecord[] = [];
  for (let i = 0; i < namespaces; i++) {
    const ns = `shop-${i}`;
    const client = peerFromLabels("webapp", ns, { app: "webapp" }, "default");
    const service = { host: `catalog.${ns}.svc.cluster.local`, name: "catalog", namespace: ns };
    for (const w of ["catalog-primary", "catalog"]) {
      const dest = peerFromLabels(w, ns, { app: w }, "default");
      for (const reporter of ["source", "destination"] as const) {
        for (const code of [200, 500, 503]) {
          recs.push({ reporter, source: client, destination: dest, service, responseCode: code, flags: [] });
        }
      }
      // a caller without a sidecar identity: source-reported series go to the "unknown" partition
      recs.push({
        reporter: "source",
        source: UNKNOWN_PEER,
        destination: dest,
        service,
        responseCode: 200,
        flags: [],
      });
      recs.push({
        reporter: "destination",
        source: UNKNOWN_PEER,
        destination: dest,
        service,
        responseCode: 200,
        flags: [],
      });
    }
    // a fault abort: only the client sidecar reports it, destination peer unknown
    recs.push({
      reporter: "source",
      source: client,
      destination: UNKNOWN_PEER,
      service,
      responseCode: 500,
      flags: ["FI"],
    });
  }
  for (const [i, r] of recs.entries()) t.record(r, (i % 7) * 13);
  return recs;
}

describe("metrics partitioned by sidecar", () => {
  it("destination series belong to the server workload's sidecar, source series to the client's", () => {
    const client = peerFromLabels("webapp", "shop", { app: "webapp" }, "default");
    const server = peerFromLabels("catalog", "shop", { app: "catalog" }, "default");
    const base = { source: client, destination: server, service: undefined, responseCode: 200, flags: [] };
    expect(partitionOf(requestLabels({ ...base, reporter: "destination" }))).toBe("shop/catalog");
    expect(partitionOf(requestLabels({ ...base, reporter: "source" }))).toBe("shop/webapp");
    expect(partitionOf(requestLabels({ ...base, source: UNKNOWN_PEER, reporter: "source" }))).toBe("unknown");
    expect(partitionOf(requestLabels({ ...base, source: UNKNOWN_PEER, reporter: "destination" }))).toBe(
      "shop/catalog",
    );
  });

  it("shards are a stable hash of the partition", () => {
    expect(shardOf("shop/catalog", 32)).toBe(shardOf("shop/catalog", 32));
    const used = new Set(Array.from({ length: 1000 }, (_, i) => shardOf(`cap-${i}/catalog`, 32)));
    expect(used.size).toBe(32);
    expect(new MeshTelemetry().shards).toBe(DEFAULT_METRICS_SHARDS);
    expect(() => new MeshTelemetry(0, 0)).toThrow();
  });

  it("every series is in exactly one partition and one shard; /metrics is their union", () => {
    const t = new MeshTelemetry(0, 8);
    populate(t);
    const all = samples(t.render());
    expect(all.length).toBe(t.seriesCount() * 23); // 1 counter + 20 buckets + sum + count
    const fromShards: string[] = [];
    let seriesInShards = 0;
    for (let i = 0; i < t.shards; i++) {
      const lines = samples(Buffer.concat(t.renderShardChunks(i)).toString("utf8"));
      for (const l of lines) expect(shardOf(partitionOfLine(l), t.shards)).toBe(i);
      fromShards.push(...lines);
      seriesInShards += t.seriesCount(i);
    }
    expect(seriesInShards).toBe(t.seriesCount());
    expect([...fromShards].sort()).toEqual([...all].sort());
    expect(new Set(fromShards).size).toBe(fromShards.length);

    const fromPartitions: string[] = [];
    for (const p of t.partitions()) {
      const lines = samples(Buffer.concat(t.renderPartitionChunks(p) ?? []).toString("utf8"));
      for (const l of lines) expect(partitionOfLine(l)).toBe(p);
      fromPartitions.push(...lines);
    }
    expect([...fromPartitions].sort()).toEqual([...all].sort());
    expect(t.partitions()).toContain("unknown");
    expect(t.partitions()).toContain("shop-3/webapp");
    expect(t.partitions()).toContain("shop-3/catalog-primary");
    expect(t.partitions().length).toBe(12 * 3 + 1);
    expect(t.renderPartitionChunks("nope/nothing")).toBeUndefined();
  });

  it("a shard's exposition has the metric headers even when empty, and is valid after updates", () => {
    const t = new MeshTelemetry(0, 4);
    const empty = Buffer.concat(t.renderShardChunks(3)).toString("utf8");
    expect(empty).toContain("# TYPE istio_requests_total counter");
    expect(empty).toContain("# TYPE istio_request_duration_milliseconds histogram");
    expect(samples(empty)).toEqual([]);
    const recs = populate(t, 3);
    const r = recs[0] as RequestRecord;
    const shard = shardOf(partitionOf(requestLabels(r)), 4);
    const before = Buffer.concat(t.renderShardChunks(shard)).toString("utf8");
    t.record(r, 1);
    const after = Buffer.concat(t.renderShardChunks(shard)).toString("utf8");
    expect(after).not.toBe(before);
    // the shard's change shows in /metrics too (shared line caches)
    const everything = new Set(samples(t.render()));
    for (const l of samples(after)) expect(everything.has(l)).toBe(true);
    expect(() => t.renderShardChunks(4)).toThrow(RangeError);
  });
});

describe("admin server: /metrics/shard/<i>", () => {
  const t = new MeshTelemetry(0, 5);
  populate(t, 6);
  const state = (): MeshDebugState => ({ sidecars: [], services: [], pods: [], backends: [] });
  const server = createAdminServer(t, state);
  let host = "";
  const get = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get(`http://${host}${path}`, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
        })
        .on("error", reject);
    });
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const a = server.address();
    host = `127.0.0.1:${a && typeof a === "object" ? a.port : 0}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("serves each shard and each sidecar; the shards together are /metrics", async () => {
    const all = await get("/metrics");
    expect(all.status).toBe(200);
    const targets = metricsTargets(host, t.shards);
    expect(targets.map((x) => x.metricsPath)).toEqual([0, 1, 2, 3, 4].map((i) => `/metrics/shard/${i}`));
    expect(new Set(targets.map((x) => x.labels.instance)).size).toBe(5);
    const union: string[] = [];
    for (const target of targets) {
      const r = await get(target.metricsPath);
      expect(r.status).toBe(200);
      union.push(...samples(r.body));
    }
    expect(union.sort()).toEqual(samples(all.body).sort());
    const listed = JSON.parse((await get("/debug/metrics-targets")).body);
    expect(listed).toEqual(targets);
    const sidecar = await get("/metrics/sidecar/shop-2/catalog");
    expect(sidecar.status).toBe(200);
    for (const l of samples(sidecar.body)) expect(l).toContain('destination_workload="catalog"');
    expect((await get("/metrics/sidecar/unknown")).status).toBe(200);
    expect((await get("/metrics/sidecar/shop-2/absent")).status).toBe(404);
    expect((await get("/metrics/shard/5")).status).toBe(404);
    expect((await get("/metrics/shard/x")).status).toBe(404);
  });
});
