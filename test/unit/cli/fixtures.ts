// Canaries as the API returns them, at moments of a run, for the CLI's renderers (no cluster).
import type { Canary, CanaryStatus, DecisionRecord } from "../../../src/api/canary.js";

export const NOW = new Date("2026-11-27T20:06:22Z");

const spec: Canary["spec"] = {
  targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
  progressDeadlineSeconds: 60,
  service: { name: "catalog", port: 80, targetPort: 3000 },
  analysis: {
    interval: "20s",
    threshold: 5,
    maxWeight: 50,
    stepWeight: 10,
    metrics: [
      { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
      { name: "request-duration", thresholdRange: { max: 500 }, interval: "30s" },
    ],
  },
};

export function canary(
  name: string,
  status: CanaryStatus,
  namespace = "shop",
  extra: Partial<Canary["spec"]> = {},
): Canary {
  return {
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name, namespace },
    spec: { ...spec, ...extra },
    status,
  };
}

const decision = (
  seq: number,
  time: string,
  phase: string,
  canaryWeight: number,
  reason: string,
  warn = false,
): DecisionRecord => ({
  seq,
  time,
  phase,
  canaryWeight,
  reason,
  events: [{ type: warn ? "Warning" : "Normal", reason: warn ? "Halted" : "Progressing", message: reason }],
});

/** Weight 30 of 50, one failed check, 10 s to the next step. */
export const progressing = canary("catalog-release", {
  phase: "Progressing",
  canaryWeight: 30,
  failedChecks: 1,
  iterations: 0,
  lastAppliedSpec: "7d9f5c",
  lastPromotedSpec: "5b8c7d",
  lastTransitionTime: "2026-11-27T20:06:12Z",
  conditions: [
    {
      type: "Promoted",
      status: "Unknown",
      reason: "Progressing",
      message: "Advance catalog-release.shop canary weight 30: request-success-rate 99.60% >= 99",
    },
  ],
  decisions: [
    decision(4, "2026-11-27T20:04:00Z", "Succeeded", 0, "Promotion completed! Scaling down catalog.shop"),
    decision(5, "2026-11-27T20:05:30Z", "Progressing", 0, "New revision detected! Scaling up catalog.shop"),
    decision(6, "2026-11-27T20:05:32Z", "Progressing", 10, "Advance catalog-release.shop canary weight 10"),
    decision(
      7,
      "2026-11-27T20:05:52Z",
      "Progressing",
      10,
      "Halt catalog-release.shop advancement: request-duration 612ms > 500ms (failed checks 1/5)",
      true,
    ),
    decision(
      8,
      "2026-11-27T20:06:12Z",
      "Progressing",
      30,
      "Advance catalog-release.shop canary weight 30: request-success-rate 99.60% >= 99",
    ),
  ],
  reportedSeq: 8,
  run: {
    revision: "7d9f5c",
    image: "docker.io/istioinaction/catalog:v2",
    trafficSince: "2026-11-27T20:05:32Z",
    canary: { requests: 1406, errors: 3, slow: 12 },
    primary: { requests: 9120, errors: 4, slow: 20 },
    slowerThanMs: 500,
    checks: [
      {
        time: "2026-11-27T20:05:52Z",
        canaryWeight: 10,
        verdict: "failed",
        metrics: [
          {
            name: "request-success-rate",
            verdict: "passed",
            canary: 100,
            primary: 99.96,
            canaryRequests: 212,
            primaryRequests: 1904,
            window: "20s",
          },
          {
            name: "request-duration",
            verdict: "failed",
            canary: 612,
            primary: 23.1,
            canaryRequests: 212,
            primaryRequests: 1904,
            window: "20s",
            message: "request-duration 612ms > 500ms",
          },
        ],
      },
      {
        time: "2026-11-27T20:06:12Z",
        canaryWeight: 20,
        verdict: "passed",
        metrics: [
          {
            name: "request-success-rate",
            verdict: "passed",
            canary: 99.6,
            primary: 99.96,
            canaryRequests: 498,
            primaryRequests: 1995,
            window: "40s",
          },
          {
            name: "request-duration",
            verdict: "passed",
            canary: 24.7,
            primary: 23.1,
            canaryRequests: 498,
            primaryRequests: 1995,
            window: "30s",
          },
        ],
      },
    ],
  },
});

/** Rolled back; two runs in its history. */
export const failed = canary("reviews", {
  phase: "Failed",
  canaryWeight: 0,
  failedChecks: 5,
  lastTransitionTime: "2026-11-27T19:50:00Z",
  conditions: [
    {
      type: "Promoted",
      status: "False",
      reason: "Failed",
      message: "Canary analysis failed: request-success-rate 80.15% < 99%",
    },
  ],
  decisions: [
    decision(1, "2026-11-27T19:40:00Z", "Progressing", 0, "New revision detected! Scaling up reviews.shop"),
    decision(
      2,
      "2026-11-27T19:50:00Z",
      "Failed",
      0,
      "Rolling back reviews.shop: request-success-rate 80.15% < 99% (failed checks 5/5)",
      true,
    ),
  ],
  run: {
    revision: "a1b2c3",
    image: "docker.io/istio/examples-bookinfo-reviews-v3:1.18",
    trafficSince: "2026-11-27T19:40:05Z",
    canary: { requests: 221, errors: 34 },
  },
  history: [
    {
      run: 1,
      revision: "9f8e7d",
      image: "docker.io/istio/examples-bookinfo-reviews-v2:1.18",
      outcome: "Succeeded",
      startedAt: "2026-11-27T19:00:00Z",
      endedAt: "2026-11-27T19:03:05Z",
      durationSeconds: 185,
      canaryWeight: 50,
      failedChecks: 0,
      canary: { requests: 1406, errors: 0 },
      reason:
        "Promotion completed! Scaling down reviews.shop; reviews-v2:1.18 served 1,406 requests, 0 failed",
    },
    {
      run: 2,
      revision: "a1b2c3",
      image: "docker.io/istio/examples-bookinfo-reviews-v3:1.18",
      outcome: "Failed",
      startedAt: "2026-11-27T19:40:05Z",
      endedAt: "2026-11-27T19:50:00Z",
      durationSeconds: 595,
      canaryWeight: 20,
      failedChecks: 5,
      canary: { requests: 221, errors: 34 },
      reason: "request-success-rate 80.15% < 99% (failed checks 5/5)",
    },
  ],
});

/** Just created: no status yet. */
export const fresh = canary("frontend", {}, "web");

/** Blue/green: iterations instead of weights. */
export const blueGreen = canary(
  "payments",
  { phase: "Progressing", canaryWeight: 0, iterations: 2, lastTransitionTime: "2026-11-27T20:06:00Z" },
  "shop",
  { analysis: { interval: "1m", iterations: 5, metrics: [] } },
);
