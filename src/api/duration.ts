// Go-style durations ("45s", "1m30s", "500ms", "1.5h"), as Flagger reads them with time.ParseDuration.
// Kept in one place so the CRD pattern, the validator and the controller agree on what a duration is.

/** Milliseconds per Go duration unit. ns/us are allowed (Go accepts them) but rounded to ms. */
const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * RE2-compatible pattern for a non-negative Go duration; used in the CRD so the apiserver rejects
 * garbage at `kubectl apply` time. Go also accepts a sign, but a negative interval or timeout means nothing here.
 */
export const GO_DURATION_PATTERN = "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";

// The micro signs are written as escapes: esbuild copies regular expression literals verbatim, and one
// non-Latin-1 character makes V8 hold the whole bundle's source as a two-byte string (scripts/bundle.ts).
const COMPONENT = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

export class DurationError extends Error {
  override name = "DurationError";
}

const EXAMPLES = 'use a Go duration such as "30s", "1m", "1m30s", "500ms" or "1h"';

/** Parses a Go duration into milliseconds (fractions of a millisecond are rounded). Throws DurationError. */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === "") throw new DurationError(`empty duration: ${EXAMPLES}`);
  if (input === "0") return 0;
  if (input.startsWith("-")) throw new DurationError(`negative duration "${text}": ${EXAMPLES}`);
  if (/^[0-9.]+$/.test(input)) {
    throw new DurationError(`duration "${text}" has no unit (did you mean "${input}s"?): ${EXAMPLES}`);
  }
  let total = 0;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < input.length) {
    const at = COMPONENT.lastIndex;
    const m = COMPONENT.exec(input);
    if (m === null) {
      throw new DurationError(`invalid duration "${text}" (unexpected "${input.slice(at)}"): ${EXAMPLES}`);
    }
    const [, num = "", unit = ""] = m;
    const perUnit = UNIT_MS[unit];
    if (perUnit === undefined) throw new DurationError(`unknown unit "${unit}" in "${text}": ${EXAMPLES}`);
    total += Number(num) * perUnit;
  }
  if (!Number.isFinite(total)) throw new DurationError(`duration "${text}" is too large`);
  return Math.round(total);
}

/** Like parseDuration but returns undefined instead of throwing (for code that already validated). */
export function tryParseDuration(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

/** Formats milliseconds as a Go duration string: 90000 -> "1m30s", 500 -> "500ms", 0 -> "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new DurationError(`cannot format ${ms} ms as a duration`);
  let rest = Math.round(ms);
  if (rest === 0) return "0s";
  if (rest < 1000) return `${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  // Go prints sub-second remainders as a fraction of the seconds: 1500ms -> "1.5s".
  const s = rest / 1000;
  let out = "";
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  if (s > 0 || out === "") out += `${s}s`;
  else if (h > 0 || m > 0) out += "0s";
  return out;
}
