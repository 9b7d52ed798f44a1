// Small statistics and formatting helpers shared by the fleet benches (bench/fleet.ts,
// bench/many-canaries.ts).

/** The q-quantile (nearest rank) of `values`; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** "p50 / p95 / max (n=…)" of `values` divided by `scale`, or "n/a". */
export function spread(values: readonly number[], digits: number, scale = 1): string {
  if (values.length === 0) return "n/a";
  const f = (q: number) => (quantile(values, q) / scale).toFixed(digits);
  return `${f(0.5)} / ${f(0.95)} / ${f(1)} (n=${values.length})`;
}

/** "p50 / p99 / max" in seconds from milliseconds, or "n/a". */
export function p50p99max(valuesMs: readonly number[], digits = 2): string {
  if (valuesMs.length === 0) return "n/a";
  const f = (q: number) => (quantile(valuesMs, q) / 1000).toFixed(digits);
  return `${f(0.5)}/${f(0.99)}/${f(1)} s`;
}

export function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

export function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

/** An error's first line, for progress output. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}
