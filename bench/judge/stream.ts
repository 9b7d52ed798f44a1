// The simulated mesh for bench/judge.ts: a seeded request stream, the per-second counters Istio's
// destination sidecars would export for the two workloads, and what Prometheus answers over a window.
// Nothing here decides anything; the decisions are the real core's (src/core/decide.ts).
import { DURATION_BUCKETS_MS } from "../../test/mesh/telemetry.js";

/** A small, fast, seedable PRNG (mulberry32): the same seed gives the same stream on every machine. */
export class Rng {
  private state: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** a standard normal draw (Box-Muller, the second value kept for the next call) */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = Math.max(this.next(), 1e-12);
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** a Poisson draw (Knuth for small means, a rounded normal for large ones) */
  poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 60) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

/**
 * The random numbers behind one request, drawn whatever the routing: every decider sees the same
 * requests (common random numbers), only where they go differs.
 */
export interface RequestDraw {
  /** routed to the canary when below the applied canary weight / 100 */
  route: number;
  /** fails when below the serving version's error probability */
  error: number;
  /** the base latency's normal deviate */
  z: number;
  /** selects the version's occasional slow requests (jitter, tail regressions) */
  tail: number;
  /** how slow a tail request is, within the version's range */
  tailSize: number;
}

/** The request stream of one trial: Poisson arrivals at `rps`, drawn lazily second by second. */
export class RequestStream {
  private readonly rng: Rng;
  private readonly seconds: RequestDraw[][] = [];
  constructor(
    seed: number,
    private readonly rps: number,
  ) {
    this.rng = new Rng(seed);
  }
  /** the requests arriving during second s, i.e. in (s-1, s] */
  at(s: number): RequestDraw[] {
    while (this.seconds.length <= s) {
      const n = this.rng.poisson(this.rps);
      const draws: RequestDraw[] = [];
      for (let i = 0; i < n; i++) {
        draws.push({
          route: this.rng.next(),
          error: this.rng.next(),
          z: this.rng.normal(),
          tail: this.rng.next(),
          tailSize: this.rng.next(),
        });
      }
      this.seconds.push(draws);
    }
    return this.seconds[s] ?? [];
  }
}

/** Istio's default buckets (le, ms), then +Inf. */
export const BUCKETS: readonly number[] = DURATION_BUCKETS_MS;
const BUCKET_COUNT = BUCKETS.length + 1;

export function bucketOf(ms: number): number {
  for (let i = 0; i < BUCKETS.length; i++) if (ms <= (BUCKETS[i] ?? 0)) return i;
  return BUCKETS.length;
}

/** What one workload's destination sidecar counted, per second (bin s holds the requests of (s-1, s]). */
export class WorkloadCounters {
  readonly requests: number[] = [];
  readonly errors: number[] = [];
  /** non-cumulative bucket counts per second: BUCKETS then +Inf */
  readonly buckets: number[][] = [];

  private ensure(s: number): void {
    while (this.requests.length <= s) {
      this.requests.push(0);
      this.errors.push(0);
      this.buckets.push(new Array<number>(BUCKET_COUNT).fill(0));
    }
  }

  record(s: number, failed: boolean, ms: number): void {
    this.ensure(s);
    this.requests[s] = (this.requests[s] ?? 0) + 1;
    if (failed) this.errors[s] = (this.errors[s] ?? 0) + 1;
    const row = this.buckets[s];
    const b = bucketOf(ms);
    if (row) row[b] = (row[b] ?? 0) + 1;
  }

  /** Seconds with no request still exist (the series is there, its rate is 0). */
  touch(s: number): void {
    this.ensure(s);
  }

  /**
   * increase() over the window (now - seconds, now]: exact counts, as if Prometheus scraped every second
   * without extrapolation. A rate ratio over one window is this count ratio.
   */
  window(now: number, seconds: number): WindowCounts {
    let requests = 0;
    let errors = 0;
    const buckets = new Array<number>(BUCKET_COUNT).fill(0);
    for (let s = Math.max(0, now - seconds + 1); s <= now && s < this.requests.length; s++) {
      requests += this.requests[s] ?? 0;
      errors += this.errors[s] ?? 0;
      const row = this.buckets[s] ?? [];
      for (let b = 0; b < BUCKET_COUNT; b++) buckets[b] = (buckets[b] ?? 0) + (row[b] ?? 0);
    }
    return { requests, errors, buckets };
  }
}

export interface WindowCounts {
  requests: number;
  errors: number;
  /** non-cumulative, BUCKETS then +Inf */
  buckets: number[];
}

/** `sum(rate(..., code!~"5.*")) / sum(rate(...)) * 100`: NaN (no value) without requests. */
export function successRate(w: WindowCounts): number {
  return w.requests > 0 ? (100 * (w.requests - w.errors)) / w.requests : Number.NaN;
}

/**
 * Prometheus' histogram_quantile on the window's bucket counts: the bucket holding rank q*total, linear
 * interpolation inside it (from 0 for the first bucket); the +Inf bucket answers the highest finite le.
 */
export function histogramQuantile(q: number, w: WindowCounts): number {
  const total = w.buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return Number.NaN;
  const rank = q * total;
  let below = 0;
  for (let b = 0; b < w.buckets.length; b++) {
    const count = w.buckets[b] ?? 0;
    if (below + count >= rank && count > 0) {
      if (b === BUCKETS.length) return BUCKETS[BUCKETS.length - 1] ?? Number.NaN;
      const upper = BUCKETS[b] ?? 0;
      const lower = b === 0 ? 0 : (BUCKETS[b - 1] ?? 0);
      return lower + ((upper - lower) * (rank - below)) / count;
    }
    below += count;
  }
  return BUCKETS[BUCKETS.length - 1] ?? Number.NaN;
}

/** Requests above the smallest bucket boundary at or above `thresholdMs` (the shell's "slow" count). */
export function slowerThan(w: WindowCounts, boundaryMs: number): number {
  let slow = 0;
  for (let b = 0; b < w.buckets.length; b++) {
    const le = b < BUCKETS.length ? (BUCKETS[b] ?? 0) : Number.POSITIVE_INFINITY;
    if (le > boundaryMs) slow += w.buckets[b] ?? 0;
  }
  return slow;
}

/** The bucket boundary the shell counts slow requests against (src/metrics/served.ts slowBoundary). */
export function slowBoundaryFor(thresholdMs: number): number | undefined {
  return [...BUCKETS].reverse().find((le) => le <= thresholdMs);
}
