// What canary and primary served since the run's traffic start, read from a local fake Prometheus:
// requests and 5xx per workload, and requests slower than a latency threshold from the histogram.
import { describe, expect, it } from "vitest";
import { bucketsSince, requestsSince, type SinceScope } from "../../../src/metrics/istio-queries.js";
import { PrometheusClient, type VectorSample } from "../../../src/metrics/prometheus-client.js";
import { readServed, type ServedScope, slowBoundary } from "../../../src/metrics/served.js";
import { badData, closedAddress, fakePrometheusServers, type Handler, series } from "./fake-prometheus.js";

const serve = fakePrometheusServers();
const client = (address: string) => new PrometheusClient({ address, timeoutMs: 1_000 });

const NOW = new Date("2025-01-01T10:05:00.000Z");
const SINCE = new Date("2025-01-01T10:03:25.000Z");
const SCOPE: ServedScope = {
  namespace: "test",
  canary: "catalog",
  primary: "catalog-primary",
  since: SINCE,
};
const PAIR: SinceScope = { namespace: "test", workloads: ["catalog", "catalog-primary"], since: SINCE };
const REQUESTS = requestsSince(PAIR);
const BUCKETS = bucketsSince(PAIR);

const C = { destination_workload: "catalog" };
const P = { destination_workload: "catalog-primary" };

const REQUEST_SERIES = series(
  [{ ...C, response_code: "200" }, "180.4"],
  [{ ...C, response_code: "404" }, "10"],
  [{ ...C, response_code: "503" }, "25"],
  [{ ...C, response_code: "500" }, "6"],
  [{ ...P, response_code: "200" }, "1890"],
  [{ ...P, response_code: "502" }, "3"],
  [{ ...P, response_code: "0" }, "2"],
  [{ ...P, response_code: "503" }, "NaN"],
);

const bucket = (labels: Record<string, string>, le: string, v: string): [Record<string, string>, string] => [
  { ...labels, le },
  v,
];
const BUCKET_SERIES = series(
  bucket(C, "100", "120"),
  bucket(C, "250", "160"),
  bucket(C, "500", "190"),
  bucket(C, "1000", "210"),
  bucket(C, "+Inf", "221"),
  bucket(P, "100", "1700"),
  bucket(P, "250", "1850"),
  bucket(P, "500", "1890"),
  bucket(P, "1000", "1894"),
  bucket(P, "+Inf", "1895"),
);

function answering(buckets: ReturnType<typeof series> | "fail" = BUCKET_SERIES): Handler {
  return (q) => {
    if (q === REQUESTS) return { json: REQUEST_SERIES };
    if (q === BUCKETS) return buckets === "fail" ? { status: 400, json: badData("boom") } : { json: buckets };
    return { status: 400, json: badData(`unexpected query ${q}`) };
  };
}

describe("readServed", () => {
  it("counts requests and 5xx per workload since the traffic start, in one query", async () => {
    const prom = await serve(answering());
    const answer = await readServed(client(prom.address), SCOPE, NOW);
    expect(answer).toEqual({
      ok: true,
      served: {
        at: NOW,
        canary: { requests: 221.4, errors: 31 },
        primary: { requests: 1895, errors: 3 },
      },
    });
    expect(prom.requests.map((r) => r.query)).toEqual([REQUESTS]);
    // raw counters against their value at the traffic start (promql.test.ts evaluates it in Prometheus)
    expect(REQUESTS).toContain(`@ ${SINCE.getTime() / 1000}`);
  });

  it("with a latency threshold, counts the requests above the largest bucket at or below it", async () => {
    const prom = await serve(answering());
    const answer = await readServed(client(prom.address), { ...SCOPE, slowerThanMs: 300 }, NOW);
    // 300 ms falls between the 250 and 500 buckets: everything above 250 may be slower than 300
    expect(answer.ok && answer.served).toEqual({
      at: NOW,
      slowerThanMs: 250,
      canary: { requests: 221.4, errors: 31, slow: 61 },
      primary: { requests: 1895, errors: 3, slow: 45 },
    });
    expect(prom.requests.map((r) => r.query).sort()).toEqual([REQUESTS, BUCKETS].sort());
  });

  it("a threshold on a bucket boundary uses that bucket", async () => {
    const prom = await serve(answering());
    const answer = await readServed(client(prom.address), { ...SCOPE, slowerThanMs: 250 }, NOW);
    expect(answer.ok && answer.served.slowerThanMs).toBe(250);
    expect(answer.ok && answer.served.canary.slow).toBe(61);
    expect(answer.ok && answer.served.primary.slow).toBe(45);
  });

  it("a threshold below every finite bucket counts no slow requests rather than guessing", async () => {
    const prom = await serve(answering());
    const answer = await readServed(client(prom.address), { ...SCOPE, slowerThanMs: 50 }, NOW);
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(answer.served.slowerThanMs).toBeUndefined();
    expect(answer.served.canary.slow).toBeUndefined();
    expect(answer.served.canary).toEqual({ requests: 221.4, errors: 31 });
  });

  it("a primary without the canary's bucket (another bucket layout) counts no slow requests at all", async () => {
    const layouts = series(
      bucket(C, "250", "160"),
      bucket(C, "+Inf", "221"),
      bucket(P, "200", "1850"),
      bucket(P, "+Inf", "1895"),
    );
    const prom = await serve(answering(layouts));
    const answer = await readServed(client(prom.address), { ...SCOPE, slowerThanMs: 300 }, NOW);
    expect(answer.ok && answer.served.slowerThanMs).toBeUndefined();
    expect(answer.ok && answer.served.canary.slow).toBeUndefined();
    expect(answer.ok && answer.served.primary.slow).toBeUndefined();
  });

  it("a failed bucket query keeps the request counts", async () => {
    const prom = await serve(answering("fail"));
    const answer = await readServed(client(prom.address), { ...SCOPE, slowerThanMs: 300 }, NOW);
    expect(answer).toEqual({
      ok: true,
      served: { at: NOW, canary: { requests: 221.4, errors: 31 }, primary: { requests: 1895, errors: 3 } },
    });
  });

  it("no traffic yet is zero counts, not an error", async () => {
    const prom = await serve(() => ({ json: series() }));
    const answer = await readServed(client(prom.address), SCOPE, NOW);
    expect(answer).toEqual({
      ok: true,
      served: { at: NOW, canary: { requests: 0, errors: 0 }, primary: { requests: 0, errors: 0 } },
    });
  });

  it("a failed request query is ok: false with the reason", async () => {
    const prom = await serve(() => ({ status: 400, json: badData("parse error") }));
    expect(await readServed(client(prom.address), SCOPE, NOW)).toEqual({
      ok: false,
      error: "query failed: bad_data: parse error",
    });
  });

  it("Prometheus unreachable is ok: false naming the address", async () => {
    const address = await closedAddress();
    expect(await readServed(client(address), { ...SCOPE, slowerThanMs: 300 }, NOW)).toEqual({
      ok: false,
      error: `Prometheus ${address} unreachable: ECONNREFUSED`,
    });
  });
});

describe("slowBoundary", () => {
  const les = (...values: string[]): VectorSample[] => values.map((le) => ({ labels: { le }, value: 1 }));

  it("is the largest bucket boundary at or below the threshold (slow counts never understate)", () => {
    expect(slowBoundary(les("1000", "100", "+Inf", "500", "250"), 300)).toBe(250);
    expect(slowBoundary(les("100", "250", "500"), 250)).toBe(250);
    expect(slowBoundary(les("100", "250", "500"), 1)).toBeUndefined();
  });

  it("reads fractional boundaries and never picks +Inf", () => {
    expect(slowBoundary(les("0.5", "2.5", "+Inf"), 1)).toBe(0.5);
    expect(slowBoundary(les("100", "+Inf"), 1e9)).toBe(100);
    expect(slowBoundary([], 200)).toBeUndefined();
  });
});
