// The sequential judge's last word before a promotion: evidence that the canary is within what the
// thresholds allow, not just a run of passed checks. Pure.
//
// For a rate threshold q0 (5xx share from request-success-rate's min; 1% of requests slower than
// request-duration's max, which is what "p99 <= max" means), the hypothesis "the canary's rate is at
// least q0" is tested against rates r * q0 below it. Each request is a Bernoulli draw, so the likelihood
// ratio of n requests with e events is (r)^e * ((1 - r q0) / (1 - q0))^(n - e): a function of the running
// counts only. Under the hypothesis (any rate >= q0) each ratio, and their average, is a nonnegative
// supermartingale, so the chance of ever promoting a canary that is over the threshold is at most alpha.
import type { EffectiveSpec } from "../../api/defaults.js";
import type { Served } from "../world.js";
import { formatCount } from "./format.js";

/** Alternatives: the canary's rate is this fraction of the threshold. */
const BELOW_RATIOS: readonly number[] = [0.05, 0.2, 0.5, 0.8];

/** log of the mixture likelihood ratio against "rate >= q0" after `events` in `requests`. */
export function belowLogE(requests: number, events: number, q0: number): number {
  if (!(q0 > 0 && q0 < 1) || !(requests > 0)) return 0;
  const e = Math.min(Math.max(0, events), requests);
  const logs = BELOW_RATIOS.map((r) => e * Math.log(r) + (requests - e) * Math.log((1 - r * q0) / (1 - q0)));
  const max = Math.max(...logs);
  return max + Math.log(logs.reduce((acc, l) => acc + Math.exp(l - max), 0) / logs.length);
}

interface RateTest {
  what: string;
  events: number | undefined;
  q0: number;
}

export interface PromotionEvidence {
  ok: boolean;
  summary: string;
}

const pct = (q: number): string => `${Number((q * 100).toPrecision(3))}%`;

/**
 * The rate thresholds the spec's built-in checks imply, with the canary's counts for each; `events`
 * undefined when the counts are missing (the bucket query failed): the gate then waits. A success-rate
 * min of 100 allows no failure at all, which no finite sample can show: that metric is left to the
 * thresholds.
 */
function rateTests(spec: EffectiveSpec, canary: Served, slowerThanMs: number | undefined): RateTest[] {
  const tests: RateTest[] = [];
  for (const m of spec.analysis.metrics) {
    if (m.source.kind !== "builtin") continue;
    const min = m.thresholdRange.min;
    if (m.source.builtin === "request-success-rate" && min !== undefined && min > 0 && min < 100)
      tests.push({ what: "failed", events: canary.errors, q0: (100 - min) / 100 });
    if (m.source.builtin === "request-duration" && m.thresholdRange.max !== undefined)
      tests.push({
        what: `slower than ${slowerThanMs ?? m.thresholdRange.max}ms`,
        events: canary.slow,
        q0: 0.01,
      });
  }
  return tests;
}

/**
 * Whether the run's canary requests show it within the thresholds at false-promotion rate `alpha`
 * (shared between the tests). Without built-in rate thresholds there is nothing to show: ok.
 */
export function promotionEvidence(
  spec: EffectiveSpec,
  canary: Served | undefined,
  alpha: number,
  slowerThanMs?: number,
): PromotionEvidence {
  if (canary === undefined)
    return { ok: false, summary: "waiting for evidence to promote: no request counts yet" };
  const tests = rateTests(spec, canary, slowerThanMs);
  if (tests.length === 0) return { ok: true, summary: "" };
  const level = Math.log(tests.length / alpha);
  const shown = tests.map((t) => ({
    ...t,
    ok: t.events !== undefined && belowLogE(canary.requests, t.events, t.q0) >= level,
  }));
  const counts = shown
    .map((t) =>
      t.events === undefined
        ? `no count of requests ${t.what} (histogram buckets unavailable)`
        : `${formatCount(t.events)} of ${formatCount(canary.requests)} ${t.what}`,
    )
    .join(", ");
  const bounds = shown.map((t) => `${t.what} < ${pct(t.q0)}`).join(" and ");
  const at = `at the ${pct(alpha)} false-promotion level`;
  if (shown.every((t) => t.ok)) return { ok: true, summary: `evidence: canary ${bounds} ${at} (${counts})` };
  return {
    ok: false,
    summary: `waiting for evidence to promote: canary ${counts}, not yet enough to show ${bounds} ${at}`,
  };
}
