import type { MetricResult } from "./world.js";

export interface CheckVerdict {
  passed: boolean;
  /** one line per metric, e.g. "request-success-rate 97.10% < 99%" */
  summary: string;
}

export function formatValue(value: number, unit: MetricResult["unit"]): string {
  if (unit === "%") return `${value.toFixed(2)}%`;
  if (unit === "ms") return `${Number.isInteger(value) ? value : value.toFixed(1)}ms`;
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, "");
}

function formatBound(value: number, unit: MetricResult["unit"]): string {
  return `${value}${unit}`;
}

/** Compares one metric value with its thresholdRange. No value is never a pass. */
export function judgeMetric(result: MetricResult): CheckVerdict {
  const { name, value, thresholdRange, unit } = result;
  if (value === undefined || Number.isNaN(value)) {
    return { passed: false, summary: `${name}: ${result.error ?? "no values found"}` };
  }
  const shown = formatValue(value, unit);
  if (thresholdRange.min !== undefined && value < thresholdRange.min) {
    return { passed: false, summary: `${name} ${shown} < ${formatBound(thresholdRange.min, unit)}` };
  }
  if (thresholdRange.max !== undefined && value > thresholdRange.max) {
    return { passed: false, summary: `${name} ${shown} > ${formatBound(thresholdRange.max, unit)}` };
  }
  const bounds: string[] = [];
  if (thresholdRange.min !== undefined) bounds.push(`>= ${formatBound(thresholdRange.min, unit)}`);
  if (thresholdRange.max !== undefined) bounds.push(`<= ${formatBound(thresholdRange.max, unit)}`);
  return { passed: true, summary: `${name} ${shown}${bounds.length ? ` ${bounds.join(" and ")}` : ""}` };
}

/**
 * All metrics must pass. A failing verdict names only what failed ("request-success-rate 97.10% < 99%"),
 * so the reason reads as the cause; a passing one lists every value, so each step shows its evidence.
 */
export function judgeAnalysis(results: readonly MetricResult[]): CheckVerdict {
  if (results.length === 0) return { passed: true, summary: "no metrics configured" };
  const verdicts = results.map(judgeMetric);
  const failed = verdicts.filter((v) => !v.passed);
  return {
    passed: failed.length === 0,
    summary: (failed.length > 0 ? failed : verdicts).map((v) => v.summary).join(", "),
  };
}
