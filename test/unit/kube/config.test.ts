// Flags for the worker pool, namespace fairness, the /healthz stall bound and the SIGTERM deadline.
import { describe, expect, it } from "vitest";
import { ConfigError, type ControllerConfig, parseConfig } from "../../../src/config.js";

const parse = (argv: string[]): ControllerConfig => {
  const c = parseConfig(argv, {});
  if (c === "help") throw new Error("help");
  return c;
};

describe("parseConfig", () => {
  it("defaults: 32 workers, a quarter of them per namespace, 15m stall bound, 8s shutdown", () => {
    const c = parse([]);
    expect(c.workers).toBe(32);
    expect(c.namespaceConcurrency).toBe(8);
    expect(c.reconcileStallMs).toBe(15 * 60_000);
    expect(c.shutdownTimeoutMs).toBe(8_000);
  });

  it("watching one namespace, every worker may serve it", () => {
    expect(parse(["--namespace", "shop"]).namespaceConcurrency).toBe(32);
    expect(parse(["--workers", "2"]).namespaceConcurrency).toBe(1);
  });

  it("takes explicit values and rejects nonsense", () => {
    const c = parse(["--workers", "8", "--namespace-concurrency", "3", "--reconcile-stall-after", "20m"]);
    expect([c.workers, c.namespaceConcurrency, c.reconcileStallMs]).toEqual([8, 3, 20 * 60_000]);
    expect(() => parse(["--workers", "8", "--namespace-concurrency", "9"])).toThrow(ConfigError);
    expect(() => parse(["--reconcile-stall-after", "10s"])).toThrow(/--reconcile-stall-after/);
    expect(() => parse(["--shutdown-timeout", "600h"])).toThrow(/--shutdown-timeout/);
  });

  it("--shards: off by default, a whole number, not with --leader-elect, Leases beside the leader's", () => {
    const off = parse([]);
    expect(off.shards).toBeUndefined();
    const on = parse(["--shards", "32"]);
    expect([on.shards, on.shardLeaseNamespace, on.shardLeasePrefix]).toEqual([32, "serin-system", "serin"]);
    expect(parseConfig(["--shards", "8"], { POD_NAMESPACE: "ops" })).toMatchObject({
      shards: 8,
      shardLeaseNamespace: "ops",
    });
    expect(
      parse(["--shards=4", "--shard-lease-namespace=leases", "--shard-lease-prefix=shop"]),
    ).toMatchObject({ shardLeaseNamespace: "leases", shardLeasePrefix: "shop" });
    expect(() => parse(["--shards", "0"])).toThrow(/--shards must be/);
    expect(() => parse(["--shards", "2.5"])).toThrow(/--shards must be/);
    expect(() => parse(["--shards", "32", "--leader-elect"])).toThrow(/exclude each other/);
    expect(() => parse(["--shards", "32", "--shard-lease-prefix", "Bad_Prefix"])).toThrow(
      /--shard-lease-prefix/,
    );
  });

  it("--flagger-metrics: off by default, on by the flag or SERIN_FLAGGER_METRICS, a typo in the variable fails", () => {
    expect(parse([]).flaggerMetrics).toBe(false);
    expect(parse(["--flagger-metrics"]).flaggerMetrics).toBe(true);
    expect(parseConfig([], { SERIN_FLAGGER_METRICS: "true" })).toMatchObject({ flaggerMetrics: true });
    expect(parseConfig([], { SERIN_FLAGGER_METRICS: "0" })).toMatchObject({ flaggerMetrics: false });
    expect(() => parseConfig([], { SERIN_FLAGGER_METRICS: "yes please" })).toThrow(
      /SERIN_FLAGGER_METRICS must be true or false/,
    );
  });
});
