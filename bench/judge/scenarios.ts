// The releases bench/judge.ts replays. Times are seconds relative to the moment the measured revision
// is applied (the previous release of a two-release scenario runs at negative times).
import type { RequestDraw } from "./stream.js";

/** How one version serves a request at time t: fails with probability errorRate(t), takes latencyMs. */
export interface Version {
  label: string;
  errorRate(t: number): number;
  latencyMs(draw: RequestDraw, t: number): number;
}

/** Errors that hit every pod of the service, whichever version it runs (a shared dependency failing). */
export interface SharedIncident {
  from: number;
  to: number;
  errorRate: number;
}

export interface Scenario {
  name: string;
  /** what a good judge does: promote a healthy release, roll back a bad one */
  truth: "promote" | "rollback";
  why: string;
  rps: number;
  /** the version the primary runs before anything is released */
  baseline: Version;
  /** an earlier release, run to its end (promoted or rolled back) right before the measured one */
  previous?: Version;
  /** the measured release; `u` is one uniform draw per trial (e.g. to vary its latency) */
  release: (u: number) => Version;
  incident?: SharedIncident;
}

/** Per-request 5xx probability of a healthy version. */
export const HEALTHY_ERROR_RATE = 0.001;

/**
 * Healthy latency: lognormal, median 60 ms (p99 about 190 ms), plus jitter: 0.2% of requests pay a
 * 100-600 ms pause (GC, a cold cache), so a few requests over 500 ms land in small windows now and then.
 */
function healthyLatency(draw: RequestDraw, medianMs: number): number {
  const base = medianMs * Math.exp(0.5 * draw.z);
  return draw.tail < 0.002 ? base + 100 + 500 * draw.tailSize : base;
}

export function healthy(label: string, medianMs = 60): Version {
  return {
    label,
    errorRate: () => HEALTHY_ERROR_RATE,
    latencyMs: (draw) => healthyLatency(draw, medianMs),
  };
}

export function failing(label: string, errorRate: number): Version {
  return { ...healthy(label), errorRate: () => errorRate };
}

/** A fraction of requests (chosen by the draw's tail number, above the jitter's) pay `extraMs` more. */
export function slowTail(label: string, fraction: number, extraMs: number): Version {
  return {
    label,
    errorRate: () => HEALTHY_ERROR_RATE,
    latencyMs: (draw) => {
      const base = healthyLatency(draw, 60);
      const inTail = draw.tail >= 0.002 && draw.tail < 0.002 + fraction;
      return inTail ? base + extraMs * (0.75 + 0.5 * draw.tailSize) : base;
    },
  };
}

/** A healthy version that fails `errorRate` of its requests during [from, to). */
export function burst(label: string, from: number, to: number, errorRate: number): Version {
  return {
    ...healthy(label),
    errorRate: (t) => (t >= from && t < to ? errorRate : HEALTHY_ERROR_RATE),
  };
}

const v1 = healthy("v1");

export const SCENARIOS: Scenario[] = [
  {
    name: "healthy (latency jitter)",
    truth: "promote",
    why: "0.1% errors like the primary; median latency 45-75 ms across trials, 0.2% pauses up to 700 ms",
    rps: 20,
    baseline: v1,
    release: (u) => healthy("v2", 45 + 30 * u),
  },
  {
    name: "gross errors 20%",
    truth: "rollback",
    why: "the release fails 20% of requests",
    rps: 20,
    baseline: v1,
    release: () => failing("v2", 0.2),
  },
  {
    name: "subtle errors 3%",
    truth: "rollback",
    why: "3% errors: below the 99% success-rate threshold",
    rps: 20,
    baseline: v1,
    release: () => failing("v2", 0.03),
  },
  {
    name: "subtle errors 1.5%",
    truth: "rollback",
    why: "1.5% errors: 98.5% success, just below the 99% threshold",
    rps: 20,
    baseline: v1,
    release: () => failing("v2", 0.015),
  },
  {
    name: "tail latency +800ms on 3%",
    truth: "rollback",
    why: "3% of requests take 600-1000 ms more: p99 well over 500 ms",
    rps: 20,
    baseline: v1,
    release: () => slowTail("v2", 0.03, 800),
  },
  {
    name: "canary-only burst 30% x 20s",
    truth: "rollback",
    why: "healthy except a 30% error burst on the canary alone, 15-35 s after the release: while it lasts it is the new version failing users and the primary is fine, so it is a real regression; a rollback is right (the threshold rule's tolerance of 4 failed checks may promote it)",
    rps: 20,
    baseline: v1,
    release: () => burst("v2", 15, 35, 0.3),
  },
  {
    name: "shared incident 20% x 60s",
    truth: "promote",
    why: "healthy release; 20-80 s after it, a shared dependency fails 20% of requests on primary and canary alike",
    rps: 20,
    baseline: v1,
    release: () => healthy("v2"),
    incident: { from: 20, to: 80, errorRate: 0.2 },
  },
  {
    name: "low traffic 0.5 rps",
    truth: "promote",
    why: "healthy release, 0.5 requests per second in all (0.05 rps to the canary at weight 10)",
    rps: 0.5,
    baseline: v1,
    release: () => healthy("v2"),
  },
  {
    name: "3% right after a good release",
    truth: "rollback",
    why: "v2 (healthy) is released and promoted, v3 (3% errors) is applied 5 s after v2's run ends: Flagger's windows still hold v2's canary traffic",
    rps: 20,
    baseline: v1,
    previous: healthy("v2"),
    release: () => failing("v3", 0.03),
  },
  {
    name: "fix right after a 20% rollback",
    truth: "promote",
    why: "v2 (20% errors) is rolled back, the healthy fix v3 is applied 5 s after v2's run ends: Flagger's windows still hold v2's failures",
    rps: 20,
    baseline: v1,
    previous: failing("v2", 0.2),
    release: () => healthy("v3"),
  },
];

/** Gap between the end of the previous release's run and the measured revision being applied. */
export const NEXT_RELEASE_GAP_S = 5;
