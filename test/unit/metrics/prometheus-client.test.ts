// The Prometheus client against a real local HTTP server: what is sent on the wire, and how every kind of
// answer (value, empty, NaN, error body, non-JSON, hang, closed port) becomes one number or a reason.
import { afterEach, describe, expect, it } from "vitest";
import { PrometheusClient, parseSampleValue, readAnswer } from "../../../src/metrics/prometheus-client.js";
import { badData, closedAddress, FakePrometheus, type Handler, scalar, vector } from "./fake-prometheus.js";

describe("parseSampleValue", () => {
  it("maps Prometheus' special values explicitly and parses plain numbers", () => {
    expect(parseSampleValue("NaN")).toBeNaN();
    expect(parseSampleValue("+Inf")).toBe(Number.POSITIVE_INFINITY);
    expect(parseSampleValue("-Inf")).toBe(Number.NEGATIVE_INFINITY);
    expect(parseSampleValue("99.56521739130434")).toBe(99.56521739130434);
    expect(parseSampleValue("1e+03")).toBe(1000);
    expect(parseSampleValue("0")).toBe(0);
    expect(parseSampleValue("garbage")).toBeNaN();
  });
});

describe("readAnswer", () => {
  it("reads the single sample of an instant vector", () => {
    expect(readAnswer(vector("99.5"))).toEqual({ ok: true, value: 99.5 });
  });

  it("reads a scalar", () => {
    expect(readAnswer(scalar("42"))).toEqual({ ok: true, value: 42 });
  });

  it("an empty vector is 'no values found', not a pass", () => {
    expect(readAnswer(vector())).toEqual({ ok: false, error: "no values found" });
  });

  it("NaN (0/0, histogram_quantile without observations) is 'no values found'", () => {
    const a = readAnswer(vector("NaN"));
    expect(a.ok).toBe(false);
    expect(a.ok ? "" : a.error).toMatch(/^no values found/);
  });

  it("keeps infinities as values (the threshold decides)", () => {
    expect(readAnswer(vector("+Inf"))).toEqual({ ok: true, value: Number.POSITIVE_INFINITY });
  });

  it("refuses several series with a hint to aggregate", () => {
    const a = readAnswer(vector("1", "2"));
    expect(a).toEqual({
      ok: false,
      error: "query returned 2 series; aggregate it to one (e.g. wrap it in sum())",
    });
  });

  it("refuses a range vector", () => {
    const a = readAnswer({ status: "success", data: { resultType: "matrix", result: [] } });
    expect(a.ok).toBe(false);
    expect(a.ok ? "" : a.error).toContain("matrix");
  });

  it("reports Prometheus' own error", () => {
    expect(readAnswer(badData('1:14: parse error: unexpected "}"'))).toEqual({
      ok: false,
      error: 'query failed: bad_data: 1:14: parse error: unexpected "}"',
    });
  });

  it("a success without data is a failure", () => {
    expect(readAnswer({ status: "success" })).toEqual({
      ok: false,
      error: "query failed: response has no data",
    });
  });
});

describe("PrometheusClient.query against a local HTTP server", () => {
  let server: FakePrometheus | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const serve = async (handler: Handler) => {
    server = await FakePrometheus.start(handler);
    return server;
  };

  const PROMQL =
    'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"catalog",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"catalog"}[1m])) * 100';

  it("GETs /api/v1/query with the PromQL intact (quotes, braces, =~, !~, +, spaces) and reads the value", async () => {
    const s = await serve(() => ({ json: vector("99.87") }));
    const client = new PrometheusClient({ address: s.address });
    const tricky = `${PROMQL} + 0 * sum(up{job=~"a|b"}) / 2`;
    expect(await client.query(tricky)).toEqual({ ok: true, value: 99.87 });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]?.method).toBe("GET");
    expect(s.requests[0]?.path).toBe("/api/v1/query");
    expect(s.requests[0]?.query).toBe(tricky);
  });

  it("keeps a path prefix in the address and tolerates a trailing slash", async () => {
    const s = await serve(() => ({ json: vector("1") }));
    const client = new PrometheusClient({ address: `${s.address}/prometheus/` });
    expect(await client.query("up")).toEqual({ ok: true, value: 1 });
    expect(s.requests[0]?.path).toBe("/prometheus/api/v1/query");
  });

  it("sends the Authorization header when configured, none otherwise", async () => {
    const s = await serve(() => ({ json: vector("1") }));
    await new PrometheusClient({ address: s.address, authorization: "Bearer t0ken" }).query("up");
    await new PrometheusClient({ address: s.address }).query("up");
    expect(s.requests[0]?.headers.authorization).toBe("Bearer t0ken");
    expect(s.requests[1]?.headers.authorization).toBeUndefined();
  });

  it("an empty answer is 'no values found'", async () => {
    const s = await serve(() => ({ json: vector() }));
    expect(await new PrometheusClient({ address: s.address }).query("up")).toEqual({
      ok: false,
      error: "no values found",
    });
  });

  it("HTTP 400 with Prometheus' error body gives its message", async () => {
    const s = await serve(() => ({
      status: 400,
      json: badData("1:5: parse error: unclosed left parenthesis"),
    }));
    expect(await new PrometheusClient({ address: s.address }).query("sum(")).toEqual({
      ok: false,
      error: "query failed: bad_data: 1:5: parse error: unclosed left parenthesis",
    });
  });

  it("HTTP 422/503 with Prometheus' JSON error body give its message too", async () => {
    const s = await serve(() => ({
      status: 503,
      json: { status: "error", errorType: "unavailable", error: "too many queries" },
    }));
    expect(await new PrometheusClient({ address: s.address }).query("up")).toEqual({
      ok: false,
      error: "query failed: unavailable: too many queries",
    });
  });

  it("a non-JSON answer (a proxy's error page) is a failure naming the status and address", async () => {
    const s = await serve(() => ({ status: 502, text: "Bad Gateway" }));
    expect(await new PrometheusClient({ address: s.address }).query("up")).toEqual({
      ok: false,
      error: `query failed: HTTP 502 from ${s.address}`,
    });
  });

  it("a hanging Prometheus times out as unreachable instead of blocking the analysis", async () => {
    const s = await serve(() => "hang");
    const started = Date.now();
    const a = await new PrometheusClient({ address: s.address, timeoutMs: 200 }).query("up");
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(a.ok).toBe(false);
    expect(a.ok ? "" : a.error).toMatch(new RegExp(`^Prometheus ${s.address} unreachable: `));
    expect(a.ok ? "" : a.error).toMatch(/ECONNABORTED|ETIMEDOUT|timeout/);
  });

  it("a closed port is unreachable (ECONNREFUSED)", async () => {
    const address = await closedAddress();
    expect(await new PrometheusClient({ address }).query("up")).toEqual({
      ok: false,
      error: `Prometheus ${address} unreachable: ECONNREFUSED`,
    });
  });
});
