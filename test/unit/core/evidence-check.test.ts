// The verdict of one check: each metric against its thresholds, the primary beside it over the same
// window, and the no-data policy for checks with nothing (or too little) to judge.
import { describe, expect, it } from "vitest";
import type { CanaryMetric } from "../../../src/api/canary.js";
import { judgeCheck } from "../../../src/core/evidence/check.js";
import type { MetricResult } from "../../../src/core/world.js";
import { catalogSpec } from "./sim.js";

const SEQUENTIAL = catalogSpec({ analysis: { judge: { mode: "sequential" } } });
const THRESHOLD = catalogSpec({ analysis: { judge: { mode: "threshold" } } });
/** the default judge.minRequests */
const MIN = SEQUENTIAL.analysis.judge.minRequests;

const rateMetric = (noData?: CanaryMetric["noData"]): CanaryMetric => ({
  name: "request-success-rate",
  thresholdRange: { min: 99 },
  interval: "1m",
  ...(noData ? { noData } : {}),
});
const sequentialWith = (noData: CanaryMetric["noData"]) =>
  catalogSpec({ analysis: { judge: { mode: "sequential" }, metrics: [rateMetric(noData)] } });
const thresholdWith = (noData: CanaryMetric["noData"]) =>
  catalogSpec({ analysis: { judge: { mode: "threshold" }, metrics: [rateMetric(noData)] } });

function rate(value: number | undefined, extra: Partial<MetricResult> = {}): MetricResult {
  return {
    name: "request-success-rate",
    thresholdRange: { min: 99 },
    unit: "%",
    ...(value !== undefined ? { value } : {}),
    primaryValue: 99.95,
    canaryRequests: 212,
    primaryRequests: 1904,
    window: "37s",
    ...extra,
  };
}

function latency(value: number | undefined, extra: Partial<MetricResult> = {}): MetricResult {
  return {
    name: "request-duration",
    thresholdRange: { max: 500 },
    unit: "ms",
    ...(value !== undefined ? { value } : {}),
    primaryValue: 120,
    canaryRequests: 212,
    primaryRequests: 1904,
    window: "30s",
    ...extra,
  };
}

const noCanary = (extra: Partial<MetricResult> = {}) =>
  rate(undefined, {
    error: "no values found (no canary requests in 37s?)",
    noData: true,
    canaryRequests: 0,
    ...extra,
  });

const unreachable = (): MetricResult => ({
  name: "request-success-rate",
  thresholdRange: { min: 99 },
  unit: "%",
  error: "Prometheus http://prometheus:9090 unreachable: ECONNREFUSED",
});

describe("judgeCheck: summaries and records", () => {
  it("a passing check names every metric with the primary's value, the requests and the window", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(99.95), latency(230.5)]);
    expect(outcome.verdict).toBe("passed");
    expect(outcome.summary).toBe(
      "request-success-rate 99.95% >= 99% (primary 99.95%; 212 vs 1,904 requests over 37s), request-duration 230.5ms <= 500ms (primary 120ms; 212 vs 1,904 requests over 30s)",
    );
    expect(outcome.metrics).toEqual([
      {
        name: "request-success-rate",
        verdict: "passed",
        canary: 99.95,
        primary: 99.95,
        canaryRequests: 212,
        primaryRequests: 1904,
        window: "37s",
      },
      {
        name: "request-duration",
        verdict: "passed",
        canary: 230.5,
        primary: 120,
        canaryRequests: 212,
        primaryRequests: 1904,
        window: "30s",
      },
    ]);
  });

  it("a failed check names only the failed metrics, and records a message on them", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(97.1), latency(230.5)]);
    expect(outcome.verdict).toBe("failed");
    expect(outcome.summary).toBe(
      "request-success-rate 97.10% < 99% (primary 99.95%; 212 vs 1,904 requests over 37s)",
    );
    expect(outcome.metrics[0]).toMatchObject({ verdict: "failed", message: outcome.summary });
    expect(outcome.metrics[1]?.message).toBeUndefined();
  });

  it("estimated (fractional) request counts are shown and recorded whole", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(97.1, { canaryRequests: 211.6, primaryRequests: 1903.7 })]);
    expect(outcome.summary).toContain("212 vs 1,904 requests over 37s");
    expect(outcome.metrics[0]).toMatchObject({ canaryRequests: 212, primaryRequests: 1904 });
  });

  it("infinite values (every request in the +Inf bucket) are judged but never written to the records", () => {
    expect(judgeCheck(SEQUENTIAL, [latency(Number.POSITIVE_INFINITY)]).verdict).toBe("failed");
    const outcome = judgeCheck(SEQUENTIAL, [
      latency(Number.POSITIVE_INFINITY, { primaryValue: Number.POSITIVE_INFINITY }),
    ]);
    expect(outcome).toMatchObject({ verdict: "held", hold: "incident" });
    const [m] = outcome.metrics;
    expect(m).toBeDefined();
    expect(m && "canary" in m).toBe(false);
    expect(m && "primary" in m).toBe(false);
    expect(JSON.parse(JSON.stringify(outcome.metrics))).toEqual(outcome.metrics);
  });

  it("checks without request counts (templates, inline queries) get no primary context", () => {
    const custom: MetricResult = {
      name: "error-ratio",
      value: 0.02,
      thresholdRange: { max: 0.05 },
      unit: "",
    };
    const spec = catalogSpec({
      analysis: {
        judge: { mode: "sequential" },
        metrics: [{ name: "error-ratio", query: "sum(x)", thresholdRange: { max: 0.05 } }],
      },
    });
    const outcome = judgeCheck(spec, [custom]);
    expect(outcome).toEqual({
      verdict: "passed",
      summary: "error-ratio 0.02 <= 0.05",
      metrics: [{ name: "error-ratio", verdict: "passed", canary: 0.02 }],
    });
  });

  it("no metrics: passed", () => {
    expect(judgeCheck(SEQUENTIAL, [])).toEqual({
      verdict: "passed",
      summary: "no metrics configured",
      metrics: [],
    });
  });
});

describe("judgeCheck: threshold mode (Flagger's rule)", () => {
  it("ignores the primary for the verdict but records it", () => {
    const outcome = judgeCheck(THRESHOLD, [rate(99.5, { primaryValue: 97 })]);
    expect(outcome.verdict).toBe("passed");
    expect(outcome.metrics[0]).toMatchObject({ canary: 99.5, primary: 97 });
  });

  it("a canary failing together with the primary is a failed check, not a hold", () => {
    const outcome = judgeCheck(THRESHOLD, [rate(97, { primaryValue: 97.2 })]);
    expect(outcome.verdict).toBe("failed");
    expect(outcome.hold).toBeUndefined();
  });

  it("judges a value however few requests are behind it", () => {
    expect(judgeCheck(THRESHOLD, [rate(99.9, { canaryRequests: 3 })]).verdict).toBe("passed");
  });

  it("no data fails by default (Flagger), holds or passes when the metric says so", () => {
    expect(judgeCheck(THRESHOLD, [noCanary()]).verdict).toBe("failed");
    expect(judgeCheck(thresholdWith("hold"), [noCanary()])).toMatchObject({
      verdict: "held",
      hold: "evidence",
    });
    expect(judgeCheck(thresholdWith("pass"), [noCanary()]).verdict).toBe("passed");
  });
});

describe("judgeCheck: sequential judge", () => {
  it("the primary failing the same threshold over the same window is a shared incident: held, not failed", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(97, { primaryValue: 97.5 }), latency(120)]);
    expect(outcome.verdict).toBe("held");
    expect(outcome.hold).toBe("incident");
    expect(outcome.summary).toBe(
      "request-success-rate 97.00% < 99% (primary 97.50%; 212 vs 1,904 requests over 37s): the primary fails it too (a shared incident), holding",
    );
    expect(outcome.metrics.map((m) => m.verdict)).toEqual(["held", "passed"]);
  });

  it("the canary failing while the primary passes is a failed check", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(97, { primaryValue: 99.9 })]);
    expect(outcome.verdict).toBe("failed");
  });

  it("the canary failing without a primary value is a failed check (nothing shows an incident)", () => {
    const { primaryValue: _p, ...without } = rate(97);
    expect(judgeCheck(SEQUENTIAL, [without]).verdict).toBe("failed");
  });

  it("a failed metric wins over a held one", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(97, { primaryValue: 97.5 }), latency(900)]);
    expect(outcome.verdict).toBe("failed");
    expect(outcome.summary).toBe(
      "request-duration 900ms > 500ms (primary 120ms; 212 vs 1,904 requests over 30s)",
    );
  });

  it("too few canary requests hold the check while waiting for evidence (the default no-data policy)", () => {
    const outcome = judgeCheck(SEQUENTIAL, [
      rate(100, { canaryRequests: 5 }),
      latency(100, { canaryRequests: 5 }),
    ]);
    expect(outcome).toMatchObject({ verdict: "held", hold: "evidence" });
    expect(outcome.summary).toBe(
      `waiting for evidence: request-success-rate: 5 of ${MIN} canary requests needed, waiting for evidence: request-duration: 5 of ${MIN} canary requests needed`,
    );
  });

  it("judge.minRequests sets how many are needed", () => {
    const spec = catalogSpec({ analysis: { judge: { mode: "sequential", minRequests: 300 } } });
    expect(judgeCheck(spec, [rate(99.9)]).verdict).toBe("held");
    expect(judgeCheck(spec, [rate(99.9, { canaryRequests: 300 })]).verdict).toBe("passed");
  });

  it("too few canary requests fail the check with noData: fail, and pass it with noData: pass", () => {
    const failed = judgeCheck(sequentialWith("fail"), [rate(100, { canaryRequests: 5 })]);
    expect(failed.verdict).toBe("failed");
    expect(failed.summary).toBe(
      `request-success-rate: 5 of ${MIN} canary requests needed (primary 99.95%; 5 vs 1,904 requests over 37s)`,
    );
    const passed = judgeCheck(sequentialWith("pass"), [rate(90, { canaryRequests: 5 })]);
    expect(passed.verdict).toBe("passed");
    expect(passed.summary).toBe(`request-success-rate: 5 of ${MIN} canary requests needed (noData: pass)`);
  });

  it("no canary series holds by default, fails or passes by policy", () => {
    const held = judgeCheck(SEQUENTIAL, [noCanary()]);
    expect(held).toMatchObject({ verdict: "held", hold: "evidence" });
    expect(held.summary).toBe(
      "waiting for evidence: request-success-rate: no values found (no canary requests in 37s?)",
    );
    expect(judgeCheck(sequentialWith("fail"), [noCanary()]).verdict).toBe("failed");
    expect(judgeCheck(sequentialWith("pass"), [noCanary()]).verdict).toBe("passed");
  });

  it("a failing primary with too few canary requests waits for evidence rather than calling an incident", () => {
    const outcome = judgeCheck(SEQUENTIAL, [rate(97, { canaryRequests: 5, primaryValue: 97 })]);
    expect(outcome).toMatchObject({ verdict: "held", hold: "evidence" });
  });

  it("an incident hold wins over an evidence hold in the check's kind", () => {
    const outcome = judgeCheck(SEQUENTIAL, [
      rate(97, { primaryValue: 97.5 }),
      latency(100, { canaryRequests: 5 }),
    ]);
    expect(outcome).toMatchObject({ verdict: "held", hold: "incident" });
  });

  it("query errors (Prometheus unreachable) fail the check whatever the no-data policy", () => {
    for (const spec of [SEQUENTIAL, sequentialWith("hold"), sequentialWith("pass"), thresholdWith("pass")]) {
      const outcome = judgeCheck(spec, [unreachable()]);
      expect(outcome.verdict).toBe("failed");
      expect(outcome.summary).toBe(
        "request-success-rate: Prometheus http://prometheus:9090 unreachable: ECONNREFUSED",
      );
    }
  });
});
