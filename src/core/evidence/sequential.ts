// An anytime-valid test that the canary's events (errors, or requests over the latency threshold) are
// no more frequent per request than the primary's. Pure arithmetic on running counts.
//
// Under the null (same per-request event probability q in both), and given how many requests each
// version served in a batch, each of the batch's events belongs to the canary with probability
// p = canaryRequests / allRequests. If the canary's probability is θ times the primary's, an event is
// the canary's with probability θp / (θp + 1 - p). The likelihood ratio of a batch with e events, c of
// them the canary's, is θ^c / (θp + 1 - p)^e. Given the batch's request counts the canary's event count
// is hypergeometric under the null, which is below the binomial in convex order (Hoeffding 1963), so
// each factor has expectation at most 1 and the running product over batches is a nonnegative
// supermartingale. A mixture over a grid of θ keeps that property; by Ville's inequality the chance
// that it ever reaches 1/α under the null is at most α, however often it is looked at. This is the
// count-data test of Lindon, Sanden & Shirikian (KDD 2022) with exposure measured, not assumed.

/** The alternatives: the canary's events are this many times as likely per request as the primary's. */
export const RATE_RATIOS: readonly number[] = [1.5, 2, 3, 5, 10, 30, 100, 1000];

export interface Arm {
  requests: number;
  /** errors, or requests over the latency threshold */
  events: number;
}

export interface Batch {
  canary: Arm;
  primary: Arm;
}

/** log e-values, one per alternative; all 0 (e = 1) before any evidence. */
export function freshLogE(): number[] {
  return RATE_RATIOS.map(() => 0);
}

/** Clamps counts to what can be counted: non-negative, no more events than requests. */
function clean(arm: Arm): Arm {
  const requests = Math.max(0, Number.isFinite(arm.requests) ? arm.requests : 0);
  const events = Math.min(requests, Math.max(0, Number.isFinite(arm.events) ? arm.events : 0));
  return { requests, events };
}

/** The log e-values after one more batch. A batch without events or without both versions changes nothing. */
export function updateLogE(logE: readonly number[], batch: Batch): number[] {
  const canary = clean(batch.canary);
  const primary = clean(batch.primary);
  const total = canary.requests + primary.requests;
  const events = canary.events + primary.events;
  const grid = logE.length === RATE_RATIOS.length ? [...logE] : freshLogE();
  // Without requests on both sides the share p is 0 or 1 and the batch says nothing about the ratio.
  if (events === 0 || canary.requests === 0 || primary.requests === 0) return grid;
  const p = canary.requests / total;
  return grid.map((l, i) => {
    const theta = RATE_RATIOS[i] ?? 1;
    return l + canary.events * Math.log(theta) - events * Math.log(theta * p + 1 - p);
  });
}

/** The mixture e-value (uniform weights over the grid), computed in log space to stay finite. */
export function mixtureLogE(logE: readonly number[]): number {
  if (logE.length === 0) return 0;
  const max = Math.max(...logE);
  const sum = logE.reduce((acc, l) => acc + Math.exp(l - max), 0);
  return max + Math.log(sum / logE.length);
}

/** True when the evidence against "the canary is no worse" is decisive at false-alarm rate `alpha`. */
export function decisive(logE: readonly number[], alpha: number): boolean {
  return mixtureLogE(logE) >= Math.log(1 / alpha);
}
