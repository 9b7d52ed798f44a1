// Istio writes durations as protobuf JSON ("7s", "0.5s") and accepts Go style ("100ms", "1m30s").
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds for a duration string, or `undefined` when it does not parse. */
export function parseDurationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = text.trim();
  if (s === "" || s === "0") return s === "0" ? 0 : undefined;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const [, num, unit] = m;
    if (num === undefined || unit === undefined) return undefined;
    total += Number(num) * (UNIT_MS[unit] ?? Number.NaN);
    consumed = re.lastIndex;
  }
  if (consumed !== s.length || Number.isNaN(total)) return undefined;
  return total;
}
