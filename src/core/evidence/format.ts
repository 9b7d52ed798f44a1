// Numbers as people read them in reasons and Events: "1,904 requests", "18.7%", "9 s".

/** A request count: counts from Prometheus' increase() are estimates, shown whole. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** `part` of `whole` as a percentage with the precision the numbers allow; "-" without a whole. */
export function percentOf(part: number, whole: number): string {
  if (!(whole > 0)) return "-";
  const pct = (100 * part) / whole;
  if (pct === 0 || pct === 100) return `${pct}%`;
  return `${pct >= 10 ? pct.toFixed(1) : pct >= 1 ? pct.toFixed(2) : pct.toPrecision(2)}%`;
}

export function formatSeconds(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}
