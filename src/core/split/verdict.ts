// The traffic split check's verdict: the canary's count among the requests since the step, against the
// routed weight. Under a split that works, each request independently reaches the canary with probability
// weight/100 (Envoy picks a weighted cluster per request), so the count is Binomial(n, weight/100); the
// band is its central 99.9% interval (exact quantiles), never narrower than ±2 points. Below the band is a
// mismatch (the mesh sends the canary less than routed); above it is told but not held against the run,
// since requests sent to the canary's own Service (load tests) reach it besides the route. Pure.
import { formatCount } from "../evidence/format.js";
import type { ObservedSplit, SplitUnavailable } from "../world.js";
import { binomialCdf, binomialQuantile } from "./binomial.js";
import type { SplitPlan } from "./plan.js";

/** Two-sided false-alarm rate of the band; only its low half can halt a step (1 in 2,000 checks). */
export const SPLIT_ALPHA = 0.001;
/** The band is at least this wide on each side: a split a point off is not worth halting a release for. */
export const SPLIT_MIN_GAP = 0.02;
/** Below this many requests nothing is concluded, whatever the weight. */
export const SPLIT_MIN_REQUESTS = 20;

export type SplitVerdict =
  | { kind: "mismatch"; reason: string }
  | { kind: "as-routed" | "above" | "no-verdict"; reason: string };

const pct = (x: number): string => `${(100 * x).toFixed(1).replace(/\.0$/, "")}%`;

/** Requests needed before even a canary with none of them would be a decisive mismatch. */
export function requestsNeeded(share: number): number {
  if (share >= 1) return SPLIT_MIN_REQUESTS;
  const n = Math.ceil(Math.log(SPLIT_ALPHA / 2) / Math.log(1 - share));
  return Math.max(SPLIT_MIN_REQUESTS, n);
}

/** The band of the canary's share among n requests under the routed share, as fractions. */
export function splitBand(n: number, share: number): { low: number; high: number } {
  const lo = binomialQuantile(SPLIT_ALPHA / 2, n, share) / n;
  const hi = binomialQuantile(1 - SPLIT_ALPHA / 2, n, share) / n;
  return {
    low: Math.max(0, Math.min(lo, share - SPLIT_MIN_GAP)),
    high: Math.min(1, Math.max(hi, share + SPLIT_MIN_GAP)),
  };
}

export function judgeSplit(
  plan: SplitPlan,
  observed: ObservedSplit | SplitUnavailable | undefined,
  canary: string,
): SplitVerdict | undefined {
  // Skipped cases are not asked for (their reasons are plan.reason, docs/verification.md).
  if (plan.kind === "skip" || observed === undefined) return undefined;
  if ("error" in observed)
    return { kind: "no-verdict", reason: `traffic split not verified: ${observed.error}` };
  const since = `since weight ${plan.weight}`;
  const x = Math.round(observed.canary);
  const n = x + Math.round(observed.primary);
  const share = plan.weight / 100;
  const needed = requestsNeeded(share);
  if (n < needed)
    return {
      kind: "no-verdict",
      reason: `traffic split not verified: ${formatCount(n)} requests${plan.sourceText} ${since}, ${formatCount(needed)} needed to tell`,
    };
  const band = splitBand(n, share);
  const seen = x / n;
  const numbers = `${canary} served ${formatCount(x)} of ${formatCount(n)} requests${plan.sourceText} ${since} (${pct(seen)}; expected ${plan.weight}%, 99.9% band ${pct(band.low).slice(0, -1)}-${pct(band.high)})`;
  // Strictly outside the band and unlikely under the weight: exact tail below the quantile.
  if (seen < band.low && binomialCdf(x, n, share) < SPLIT_ALPHA / 2)
    return {
      kind: "mismatch",
      reason: `traffic split not as routed: ${numbers}: a route the mesh prefers (another VirtualService or route for the host), canary pods without the Istio sidecar, or sidecars that did not get the route`,
    };
  if (seen > band.high)
    return {
      kind: "above",
      reason: `traffic split above the weight: ${numbers}; not held against the run: requests sent to the canary's Service directly (load tests) count too`,
    };
  return { kind: "as-routed", reason: `traffic split as routed: ${numbers}` };
}
