// The check runner against local fake Prometheus servers: which query goes where, and how every way a
// metric can go wrong becomes a result with a reason (and so a failed check), never a value.
import { afterEach, describe, expect, it } from "vitest";
import type { CanaryMetric } from "../../../src/api/canary.js";
import { type MetricTemplate, MetricTemplateSchema } from "../../../src/api/metric-template.js";
import { judgeAnalysis } from "../../../src/core/checks.js";
import { requestDurationQuery, requestSuccessRateQuery } from "../../../src/metrics/istio-queries.js";
import { PrometheusClient } from "../../../src/metrics/prometheus-client.js";
import { type CheckContext, runMetricChecks } from "../../../src/metrics/run-checks.js";
import { catalogSpec } from "../core/sim.js";
import { closedAddress, FakePrometheus, type Handler, vector } from "./fake-prometheus.js";

const servers: FakePrometheus[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function serve(handler: Handler): Promise<FakePrometheus> {
  const s = await FakePrometheus.start(handler);
  servers.push(s);
  return s;
}

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

const SUCCESS_1M = requestSuccessRateQuery({ namespace: "test", target: "catalog", interval: "1m" });
const DURATION_30S = requestDurationQuery({ namespace: "test", target: "catalog", interval: "30s" });

describe("runMetricChecks: built-in metrics", () => {
  it("sends Flagger's queries with each metric's interval and returns the values with units and ranges", async () => {
    const prom = await serve((q) => ({
      json: vector(q === SUCCESS_1M ? "99.6" : q === DURATION_30S ? "230.5" : "NaN"),
    }));
    const results = await runMetricChecks(context(prom.address));
    expect(results).toEqual([
      { name: "request-success-rate", value: 99.6, thresholdRange: { min: 99 }, unit: "%" },
      { name: "request-duration", value: 230.5, thresholdRange: { max: 500 }, unit: "ms" },
    ]);
    expect(prom.requests.map((r) => r.query).sort()).toEqual([SUCCESS_1M, DURATION_30S].sort());
    expect(judgeAnalysis(results)).toEqual({
      passed: true,
      summary: "request-success-rate 99.60% >= 99%, request-duration 230.5ms <= 500ms",
    });
  });

  it("a bad canary's numbers make a failed analysis with Flagger-like text", async () => {
    const prom = await serve((q) => ({ json: vector(q === SUCCESS_1M ? "97.1" : "612") }));
    expect(judgeAnalysis(await runMetricChecks(context(prom.address)))).toEqual({
      passed: false,
      summary: "request-success-rate 97.10% < 99%, request-duration 612ms > 500ms",
    });
  });

  it("no traffic (empty vector, NaN) is an error result, never a value", async () => {
    const prom = await serve((q) => ({ json: q === SUCCESS_1M ? vector() : vector("NaN") }));
    const results = await runMetricChecks(context(prom.address));
    expect(results.map((r) => r.value)).toEqual([undefined, undefined]);
    expect(results[0]?.error).toBe("no values found");
    expect(results[1]?.error).toMatch(/^no values found/);
    expect(judgeAnalysis(results).passed).toBe(false);
  });

  it("Prometheus unreachable fails every metric with the address in the reason", async () => {
    const address = await closedAddress();
    const results = await runMetricChecks(context(address));
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.value).toBeUndefined();
      expect(r.error).toBe(`Prometheus ${address} unreachable: ECONNREFUSED`);
    }
    expect(judgeAnalysis(results).passed).toBe(false);
  });

  it("the deprecated single threshold is a floor for success rate", async () => {
    const prom = await serve(() => ({ json: vector("98") }));
    const results = await runMetricChecks(
      context(prom.address, [{ name: "request-success-rate", threshold: 99, interval: "1m" }]),
    );
    expect(results).toEqual([
      { name: "request-success-rate", value: 98, thresholdRange: { min: 99 }, unit: "%" },
    ]);
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
      'histogram_quantile(0.99, sum(rate(request_duration_bucket{ns="test",wl="catalog",svc="catalog",dir="inbound"}[2m])) by (le))',
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
    expect(own.requests.map((r) => r.query)).toEqual(['sum(x{ns="test",wl="catalog"}[1m])']);
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
    const prom = await serve((q) => ({ json: vector(q === SUCCESS_1M ? "99.9" : "100") }));
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
