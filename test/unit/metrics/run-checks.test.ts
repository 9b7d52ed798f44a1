// The check runner against local fake Prometheus servers: which query goes where, and how every way a
// metric can go wrong becomes a result with a reason (and so a failed check), never a value.
import { describe, expect, it } from "vitest";
import type { CanaryMetric, RunRecord } from "../../../src/api/canary.js";
import { type MetricTemplate, MetricTemplateSchema } from "../../../src/api/metric-template.js";
import { judgeAnalysis } from "../../../src/core/checks.js";
import {
  durationByWorkload,
  type PairScope,
  requestsByWorkloadAndCode,
  successRateByWorkload,
} from "../../../src/metrics/istio-queries.js";
import { PrometheusClient } from "../../../src/metrics/prometheus-client.js";
import { type CheckContext, runMetricChecks } from "../../../src/metrics/run-checks.js";
import { catalogSpec } from "../core/sim.js";
import {
  badData,
  closedAddress,
  fakePrometheusServers,
  type Handler,
  series,
  vector,
} from "./fake-prometheus.js";

const serve = fakePrometheusServers();

function template(
  name: string,
  namespace: string,
  spec: { type?: string; address?: string; query: string },
): MetricTemplate {
  return MetricTemplateSchema.parse({
    apiVersion: "serin.dev/v1beta1",
    kind: "MetricTemplate",
    metadata: { name, namespace },
    spec: {
      provider: { type: spec.type ?? "prometheus", ...(spec.address ? { address: spec.address } : {}) },
      query: spec.query,
    },
  });
}

function context(
  prometheus: string,
  metrics?: CanaryMetric[],
  templates: MetricTemplate[] = [],
): CheckContext & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    name: "catalog-release",
    namespace: "test",
    spec: catalogSpec(metrics ? { analysis: { metrics } } : {}),
    defaultPrometheus: new PrometheusClient({ address: prometheus, timeoutMs: 1_000 }),
    findTemplate(namespace, name) {
      lookups.push(`${namespace}/${name}`);
      return templates.find((t) => t.metadata.namespace === namespace && t.metadata.name === name);
    },
    lookups,
  };
}

const NOW = new Date("2025-01-01T10:05:00.000Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

const pair = (window: string): PairScope => ({
  namespace: "test",
  workloads: ["catalog", "catalog-primary"],
  window,
});
const SUCCESS_60S = successRateByWorkload(pair("60s"));
const DURATION_30S = durationByWorkload(pair("30s"));
const REQUESTS_60S = requestsByWorkloadAndCode(pair("60s"));
const REQUESTS_30S = requestsByWorkloadAndCode(pair("30s"));

const C = { destination_workload: "catalog" };
const P = { destination_workload: "catalog-primary" };

/** 212 canary requests (12 of them 5xx) and 1,904 primary requests (4 of them 5xx), whatever the window. */
const REQUEST_COUNTS = series(
  [{ ...C, response_code: "200" }, "200"],
  [{ ...C, response_code: "503" }, "12"],
  [{ ...P, response_code: "200" }, "1900"],
  [{ ...P, response_code: "500" }, "4"],
);

/** Answers the per-workload queries of any window: values by kind, request counts from REQUEST_COUNTS. */
function builtins(values: {
  success?: ReturnType<typeof series>;
  duration?: ReturnType<typeof series>;
  requests?: ReturnType<typeof series>;
}): Handler {
  return (q) => {
    if (q?.startsWith("sum by (destination_workload) (rate(istio_requests_total"))
      return { json: values.success ?? series() };
    if (q?.startsWith("histogram_quantile(0.99, sum by (destination_workload, le)"))
      return { json: values.duration ?? series() };
    if (q?.startsWith("sum by (destination_workload, response_code) (increase(istio_requests_total"))
      return { json: values.requests ?? REQUEST_COUNTS };
    return { status: 400, json: badData(`unexpected query ${q}`) };
  };
}

const HEALTHY_VALUES = {
  success: series([C, "99.6"], [P, "99.95"]),
  duration: series([C, "230.5"], [P, "120"]),
};

describe("runMetricChecks: built-in metrics", () => {
  it("asks for the canary and the primary in one per-workload query per metric, plus the request counts", async () => {
    const prom = await serve(builtins(HEALTHY_VALUES));
    const results = await runMetricChecks({ ...context(prom.address), now: NOW });
    expect(results).toEqual([
      {
        name: "request-success-rate",
        value: 99.6,
        primaryValue: 99.95,
        canaryRequests: 212,
        primaryRequests: 1904,
        window: "60s",
        thresholdRange: { min: 99 },
        unit: "%",
      },
      {
        name: "request-duration",
        value: 230.5,
        primaryValue: 120,
        canaryRequests: 212,
        primaryRequests: 1904,
        window: "30s",
        thresholdRange: { max: 500 },
        unit: "ms",
      },
    ]);
    expect(prom.requests.map((r) => r.query).sort()).toEqual(
      [SUCCESS_60S, DURATION_30S, REQUESTS_60S, REQUESTS_30S].sort(),
    );
    expect(SUCCESS_60S).toContain('destination_workload=~"catalog|catalog-primary"');
    expect(SUCCESS_60S).toContain("[60s]");
    expect(judgeAnalysis(results)).toEqual({
      passed: true,
      summary: "request-success-rate 99.60% >= 99%, request-duration 230.5ms <= 500ms",
    });
  });

  it("a bad canary's numbers make a failed analysis with Flagger-like text", async () => {
    const prom = await serve(
      builtins({ success: series([C, "97.1"], [P, "99.9"]), duration: series([C, "612"], [P, "100"]) }),
    );
    expect(judgeAnalysis(await runMetricChecks(context(prom.address)))).toEqual({
      passed: false,
      summary: "request-success-rate 97.10% < 99%, request-duration 612ms > 500ms",
    });
  });

  it("the canary's value is its own series, never the primary's (order of series does not matter)", async () => {
    const prom = await serve(
      builtins({ success: series([P, "99.99"], [C, "91.5"]), duration: series([P, "80"], [C, "700"]) }),
    );
    const results = await runMetricChecks(context(prom.address));
    expect(results.map((r) => [r.value, r.primaryValue])).toEqual([
      [91.5, 99.99],
      [700, 80],
    ]);
  });

  it("no canary traffic (no canary series, or NaN) is no data, never a value; the primary's value is kept", async () => {
    const prom = await serve(
      builtins({
        success: series([P, "99.9"]),
        duration: series([C, "NaN"], [P, "110"]),
        requests: series([{ ...P, response_code: "200" }, "500"]),
      }),
    );
    const results = await runMetricChecks({ ...context(prom.address), now: NOW });
    expect(results).toEqual([
      {
        name: "request-success-rate",
        error: "no values found (no canary requests in 60s?)",
        noData: true,
        primaryValue: 99.9,
        canaryRequests: 0,
        primaryRequests: 500,
        window: "60s",
        thresholdRange: { min: 99 },
        unit: "%",
      },
      {
        name: "request-duration",
        error: "no values found (no canary requests in 30s?)",
        noData: true,
        primaryValue: 110,
        canaryRequests: 0,
        primaryRequests: 500,
        window: "30s",
        thresholdRange: { max: 500 },
        unit: "ms",
      },
    ]);
    expect(judgeAnalysis(results).passed).toBe(false);
  });

  it("an empty answer is no data for both versions", async () => {
    const prom = await serve(builtins({ requests: series() }));
    const results = await runMetricChecks(context(prom.address));
    for (const r of results) {
      expect(r.value).toBeUndefined();
      expect(r.primaryValue).toBeUndefined();
      expect(r.noData).toBe(true);
      expect(r.error).toMatch(/^no values found/);
      expect([r.canaryRequests, r.primaryRequests]).toEqual([0, 0]);
    }
  });

  it("Prometheus unreachable fails every metric with the address in the reason, and is not no data", async () => {
    const address = await closedAddress();
    const results = await runMetricChecks(context(address));
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.value).toBeUndefined();
      expect(r.noData).toBeUndefined();
      expect(r.error).toBe(`Prometheus ${address} unreachable: ECONNREFUSED`);
    }
    expect(judgeAnalysis(results).passed).toBe(false);
  });

  it("a window never reaches back before the run's traffic start", async () => {
    const prom = await serve(builtins(HEALTHY_VALUES));
    const run: RunRecord = { revision: "rev-2", trafficSince: ago(37_000) };
    const results = await runMetricChecks({ ...context(prom.address), run, now: NOW });
    // success rate (1m) is cut to the 37 s the canary has had traffic; request-duration (30s) is not cut
    expect(results.map((r) => r.window)).toEqual(["37s", "30s"]);
    expect(prom.requests.map((r) => r.query).sort()).toEqual(
      [
        successRateByWorkload(pair("37s")),
        durationByWorkload(pair("30s")),
        requestsByWorkloadAndCode(pair("37s")),
        REQUESTS_30S,
      ].sort(),
    );
  });

  it("while waiting for evidence (windowFrom) every metric reads everything since then, sharing one count query", async () => {
    const prom = await serve(builtins(HEALTHY_VALUES));
    const since = ago(95_000);
    const run: RunRecord = { revision: "rev-2", trafficSince: since, windowFrom: since };
    const results = await runMetricChecks({ ...context(prom.address), run, now: NOW });
    expect(results.map((r) => r.window)).toEqual(["95s", "95s"]);
    expect(prom.requests.map((r) => r.query).sort()).toEqual(
      [
        successRateByWorkload(pair("95s")),
        durationByWorkload(pair("95s")),
        requestsByWorkloadAndCode(pair("95s")),
      ].sort(),
    );
  });

  it("the deprecated single threshold is a floor for success rate", async () => {
    const prom = await serve(builtins({ success: series([C, "98"], [P, "99.9"]) }));
    const results = await runMetricChecks(
      context(prom.address, [{ name: "request-success-rate", threshold: 99, interval: "1m" }]),
    );
    expect(results).toEqual([
      {
        name: "request-success-rate",
        value: 98,
        primaryValue: 99.9,
        canaryRequests: 212,
        primaryRequests: 1904,
        window: "60s",
        thresholdRange: { min: 99 },
        unit: "%",
      },
    ]);
    expect(judgeAnalysis(results).passed).toBe(false);
  });

  it("the deprecated single threshold is a ceiling for request duration", async () => {
    const prom = await serve(builtins({ duration: series([C, "450"], [P, "300"]) }));
    const results = await runMetricChecks(
      context(prom.address, [{ name: "request-duration", threshold: 400, interval: "30s" }]),
    );
    expect(results[0]).toMatchObject({ value: 450, thresholdRange: { max: 400 }, unit: "ms" });
    expect(judgeAnalysis(results).passed).toBe(false);
  });

  it("an analysis without metrics runs no query", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    expect(await runMetricChecks(context(prom.address, []))).toEqual([]);
    expect(prom.requests).toEqual([]);
  });
});

describe("runMetricChecks: inline query (deprecated)", () => {
  it("sends the query verbatim to the default Prometheus, without a unit", async () => {
    const query = 'sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))';
    const prom = await serve(() => ({ json: vector("0.02") }));
    const results = await runMetricChecks(
      context(prom.address, [{ name: "error-ratio", query, thresholdRange: { max: 0.05 }, interval: "1m" }]),
    );
    expect(results).toEqual([{ name: "error-ratio", value: 0.02, thresholdRange: { max: 0.05 }, unit: "" }]);
    expect(prom.requests.map((r) => r.query)).toEqual([query]);
  });

  it("Prometheus' parse error becomes the metric's reason", async () => {
    const prom = await serve(() => ({
      status: 400,
      json: { status: "error", errorType: "bad_data", error: "1:5: parse error: unclosed left parenthesis" },
    }));
    const [r] = await runMetricChecks(
      context(prom.address, [{ name: "broken", query: "sum(", thresholdRange: { max: 1 } }]),
    );
    expect(r).toEqual({
      name: "broken",
      error: "query failed: bad_data: 1:5: parse error: unclosed left parenthesis",
      thresholdRange: { max: 1 },
      unit: "",
    });
  });
});

describe("runMetricChecks: templateRef", () => {
  const LATENCY = template("latency", "test", {
    query:
      'histogram_quantile(0.99, sum(rate(request_duration_bucket{ns="{{ namespace }}",wl="{{ target }}",svc="{{ service }}",dir="{{ variables.direction }}"}[{{ interval }}])) by (le))',
  });
  const latencyMetric: CanaryMetric = {
    name: "latency by direction",
    templateRef: { name: "latency" },
    templateVariables: { direction: "inbound" },
    thresholdRange: { min: 0, max: 200 },
    interval: "2m",
  };

  it("renders the template (canary namespace by default) and queries the default Prometheus", async () => {
    const prom = await serve(() => ({ json: vector("120") }));
    const ctx = context(prom.address, [latencyMetric], [LATENCY]);
    const results = await runMetricChecks(ctx);
    expect(ctx.lookups).toEqual(["test/latency"]);
    expect(results).toEqual([
      { name: "latency by direction", value: 120, thresholdRange: { min: 0, max: 200 }, unit: "" },
    ]);
    expect(prom.requests.map((r) => r.query)).toEqual([
      'histogram_quantile(0.99, sum(rate(request_duration_bucket{ns="test",wl="catalog",svc="catalog",dir="inbound"}[120s])) by (le))',
    ]);
  });

  it("renders {{ interval }} as the window cut at the run's traffic start", async () => {
    const prom = await serve(() => ({ json: vector("120") }));
    const run: RunRecord = { revision: "rev-2", trafficSince: ago(20_000) };
    const ctx = { ...context(prom.address, [latencyMetric], [LATENCY]), run, now: NOW };
    const results = await runMetricChecks(ctx);
    expect(results[0]?.value).toBe(120);
    expect(prom.requests.map((r) => r.query)).toEqual([
      'histogram_quantile(0.99, sum(rate(request_duration_bucket{ns="test",wl="catalog",svc="catalog",dir="inbound"}[20s])) by (le))',
    ]);
  });

  it("queries the template's own provider address when it has one", async () => {
    const fallback = await serve(() => ({ json: vector("999") }));
    const own = await serve(() => ({ json: vector("3.5") }));
    const tmpl = template("not-found-percentage", "istio-system", {
      address: own.address,
      query: 'sum(x{ns="{{ namespace }}",wl="{{ target }}"}[{{ interval }}])',
    });
    const ctx = context(
      fallback.address,
      [
        {
          name: "404s percentage",
          templateRef: { name: "not-found-percentage", namespace: "istio-system" },
          thresholdRange: { max: 5 },
          interval: "1m",
        },
      ],
      [tmpl],
    );
    const results = await runMetricChecks(ctx);
    expect(ctx.lookups).toEqual(["istio-system/not-found-percentage"]);
    expect(results[0]?.value).toBe(3.5);
    expect(own.requests.map((r) => r.query)).toEqual(['sum(x{ns="test",wl="catalog"}[60s])']);
    expect(fallback.requests).toEqual([]);
  });

  it("a missing template is a failed metric that says how to fix it, with no query sent", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const [r] = await runMetricChecks(context(prom.address, [latencyMetric], []));
    expect(r?.value).toBeUndefined();
    expect(r?.error).toBe("MetricTemplate latency.test not found: create it or fix templateRef");
    expect(prom.requests).toEqual([]);
  });

  it("a template with a provider other than prometheus is a failed metric", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const datadog = template("latency", "test", { type: "datadog", query: "avg:trace.http.request{*}" });
    const [r] = await runMetricChecks(context(prom.address, [latencyMetric], [datadog]));
    expect(r?.value).toBeUndefined();
    expect(r?.error).toBe("MetricTemplate latency.test: provider datadog is not supported; use prometheus");
    expect(prom.requests).toEqual([]);
  });

  it("a template variable the Canary does not set is a failed metric naming it", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const { templateVariables: _omit, ...withoutVariables } = latencyMetric;
    const [r] = await runMetricChecks(context(prom.address, [withoutVariables], [LATENCY]));
    expect(r?.value).toBeUndefined();
    expect(r?.error).toMatch(
      /^MetricTemplate latency\.test: template uses \{\{ variables\.direction \}\}: known are /,
    );
    expect(prom.requests).toEqual([]);
  });

  it("one broken metric does not hide the others' values", async () => {
    const prom = await serve(builtins({ success: series([C, "99.9"], [P, "99.8"]) }));
    const results = await runMetricChecks(
      context(prom.address, [
        { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
        latencyMetric,
      ]),
    );
    expect(results.map((r) => [r.name, r.value, r.error])).toEqual([
      ["request-success-rate", 99.9, undefined],
      [
        "latency by direction",
        undefined,
        "MetricTemplate latency.test not found: create it or fix templateRef",
      ],
    ]);
    expect(judgeAnalysis(results).summary).toBe(
      "latency by direction: MetricTemplate latency.test not found: create it or fix templateRef",
    );
  });
});
