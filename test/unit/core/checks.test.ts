// Threshold checks: the text users read in events and conditions, and the rule that no value never passes.
import { describe, expect, it } from "vitest";
import { judgeAnalysis, judgeMetric } from "../../../src/core/checks.js";
import type { MetricResult } from "../../../src/core/world.js";

const rate = (value: number | undefined, error?: string): MetricResult => ({
  name: "request-success-rate",
  thresholdRange: { min: 99 },
  unit: "%",
  ...(value === undefined ? {} : { value }),
  ...(error === undefined ? {} : { error }),
});
const latency = (value: number): MetricResult => ({
  name: "request-duration",
  thresholdRange: { max: 500 },
  unit: "ms",
  value,
});
const custom = (value: number, thresholdRange: MetricResult["thresholdRange"]): MetricResult => ({
  name: "error-ratio",
  thresholdRange,
  unit: "",
  value,
});

describe("judgeMetric", () => {
  it("fails a success rate under its min, printed with two decimals", () => {
    expect(judgeMetric(rate(97.1))).toEqual({ passed: false, summary: "request-success-rate 97.10% < 99%" });
    expect(judgeMetric(rate(98.5))).toEqual({ passed: false, summary: "request-success-rate 98.50% < 99%" });
  });

  it("passes a value exactly on a bound (bounds are inclusive, like Flagger)", () => {
    expect(judgeMetric(rate(99)).passed).toBe(true);
    expect(judgeMetric(latency(500)).passed).toBe(true);
    expect(judgeMetric(rate(99))).toEqual({ passed: true, summary: "request-success-rate 99.00% >= 99%" });
  });

  it("fails a latency over its max, in ms", () => {
    expect(judgeMetric(latency(612))).toEqual({ passed: false, summary: "request-duration 612ms > 500ms" });
    expect(judgeMetric(latency(500.25))).toEqual({
      passed: false,
      summary: "request-duration 500.3ms > 500ms",
    });
    expect(judgeMetric(latency(42.5))).toEqual({ passed: true, summary: "request-duration 42.5ms <= 500ms" });
  });

  it("checks both ends of a range", () => {
    expect(judgeMetric(custom(5, { min: 1, max: 10 }))).toEqual({
      passed: true,
      summary: "error-ratio 5 >= 1 and <= 10",
    });
    expect(judgeMetric(custom(0.5, { min: 1, max: 10 }))).toEqual({
      passed: false,
      summary: "error-ratio 0.5 < 1",
    });
    expect(judgeMetric(custom(11, { min: 1, max: 10 }))).toEqual({
      passed: false,
      summary: "error-ratio 11 > 10",
    });
    expect(judgeMetric(custom(0.123456789, { max: 1 })).summary).toBe("error-ratio 0.123457 <= 1");
  });

  it("never passes without a value: no values, an error, NaN", () => {
    expect(judgeMetric(rate(undefined))).toEqual({
      passed: false,
      summary: "request-success-rate: no values found",
    });
    expect(judgeMetric(rate(undefined, "query failed: bad_data: x"))).toEqual({
      passed: false,
      summary: "request-success-rate: query failed: bad_data: x",
    });
    expect(judgeMetric(rate(Number.NaN))).toEqual({
      passed: false,
      summary: "request-success-rate: no values found",
    });
    expect(judgeMetric(custom(Number.NaN, {})).passed).toBe(false);
  });

  it("treats infinities as values compared with the bounds", () => {
    expect(judgeMetric(latency(Number.POSITIVE_INFINITY)).passed).toBe(false);
    expect(judgeMetric(rate(Number.NEGATIVE_INFINITY)).passed).toBe(false);
  });
});

describe("judgeAnalysis", () => {
  it("passes only when every metric passes", () => {
    expect(judgeAnalysis([rate(99.9), latency(100)])).toEqual({
      passed: true,
      summary: "request-success-rate 99.90% >= 99%, request-duration 100ms <= 500ms",
    });
    expect(judgeAnalysis([rate(99.9), latency(900)]).passed).toBe(false);
    expect(judgeAnalysis([rate(undefined), latency(100)]).passed).toBe(false);
  });

  it("a failing verdict names only what failed, in order, so the reason reads as the cause", () => {
    expect(
      judgeAnalysis([rate(99.9), latency(900), rate(undefined, "Prometheus x unreachable: ECONNREFUSED")]),
    ).toEqual({
      passed: false,
      summary: "request-duration 900ms > 500ms, request-success-rate: Prometheus x unreachable: ECONNREFUSED",
    });
  });

  it("passes an analysis with no metrics (the run advances on time, like Flagger)", () => {
    expect(judgeAnalysis([])).toEqual({ passed: true, summary: "no metrics configured" });
  });
});
