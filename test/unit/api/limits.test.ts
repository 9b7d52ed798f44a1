// Caps on durations and counts: values that would overflow Node's timers or hold a worker for hours are
// rejected with the field and the largest allowed value; the values real manifests use pass.
import { describe, expect, it } from "vitest";
import { COUNT_LIMITS, DURATION_LIMITS } from "../../../src/api/limits.js";
import { formatProblems } from "../../../src/api/validate.js";
import { type Canary, problemsOf } from "./helpers.js";

const hook = (extra: Record<string, unknown>) => [{ name: "load", url: "http://loadtester/", ...extra }];

describe("duration caps", () => {
  it("analysis.interval beyond 24h (597h made a reconcile loop)", () => {
    const [p, ...rest] = problemsOf((c) => {
      c.spec.analysis.interval = "597h";
    });
    expect(rest).toEqual([]);
    expect(p?.field).toBe("spec.analysis.interval");
    expect(p?.message).toContain("24h maximum");
    expect(p?.fix).toBe("set interval to 24h or less");
  });

  it("a duration too large to read at all is reported, not replaced by the default", () => {
    const p = problemsOf((c) => {
      c.spec.analysis.interval = `${"9".repeat(400)}h`;
    });
    expect(p.map((x) => x.field)).toEqual(["spec.analysis.interval"]);
  });

  it("webhook timeout beyond 10m (600h timed out after 1 ms)", () => {
    const p = problemsOf((c) => {
      c.spec.analysis.webhooks = hook({ timeout: "600h" });
    });
    expect(p.map((x) => x.field)).toEqual(["spec.analysis.webhooks[0].timeout"]);
    expect(p[0]?.message).toContain("10m maximum");
  });

  it("a 0s webhook timeout (no timeout at all) or metric window is rejected", () => {
    const p = problemsOf((c) => {
      c.spec.analysis.webhooks = hook({ timeout: "0s" });
      (c.spec.analysis.metrics as Array<Record<string, unknown>>)[0] = {
        name: "request-success-rate",
        thresholdRange: { min: 99 },
        interval: "0",
      };
    });
    expect(p.map((x) => x.field).sort()).toEqual([
      "spec.analysis.metrics[0].interval",
      "spec.analysis.webhooks[0].timeout",
    ]);
    expect(p[0]?.message).toContain("longer than 0s");
  });

  it("metric interval and service timeout", () => {
    const p = problemsOf((c) => {
      (c.spec.analysis.metrics as Array<Record<string, unknown>>)[0] = {
        name: "request-success-rate",
        thresholdRange: { min: 99 },
        interval: "25h",
      };
      c.spec.service.timeout = "48h";
    });
    expect(p.map((x) => x.field).sort()).toEqual([
      "spec.analysis.metrics[0].interval",
      "spec.service.timeout",
    ]);
  });

  it("a webhook whose retries make one call longer than 10m", () => {
    const p = problemsOf((c) => {
      c.spec.analysis.webhooks = hook({ timeout: "2m", retries: 5 });
    });
    expect(p).toHaveLength(1);
    expect(p[0]?.field).toBe("spec.analysis.webhooks[0].retries");
    expect(p[0]?.message).toContain("12m0s");
    expect(p[0]?.fix).toContain("timeout x (retries + 1) <= 10m");
  });

  it("the largest allowed values pass", () => {
    const p = problemsOf((c) => {
      c.spec.analysis.interval = DURATION_LIMITS.analysisInterval;
      c.spec.analysis.webhooks = hook({ timeout: "1m", retries: 9 });
      c.spec.progressDeadlineSeconds = COUNT_LIMITS.progressDeadlineSeconds;
      c.spec.analysis.threshold = COUNT_LIMITS.threshold;
    });
    expect(p, formatProblems(p)).toEqual([]);
  });
});

describe("count caps (from the schema, so the CRD carries them too)", () => {
  it.each([
    [
      "webhook retries",
      (c: Canary): unknown => (c.spec.analysis.webhooks = hook({ retries: 11 })),
      "spec.analysis.webhooks[0].retries",
      "<= 10",
    ],
    [
      "threshold",
      (c: Canary): unknown => (c.spec.analysis.threshold = 1001),
      "spec.analysis.threshold",
      "<= 1000",
    ],
    [
      "progressDeadlineSeconds",
      (c: Canary): unknown => (c.spec.progressDeadlineSeconds = 86_401),
      "spec.progressDeadlineSeconds",
      "<= 86400",
    ],
  ] as const)("%s", (_what, edit, field, bound) => {
    const p = problemsOf(edit);
    expect(p.map((x) => x.field)).toEqual([field]);
    expect(p[0]?.fix).toContain(bound);
  });

  it("iterations", () => {
    const p = problemsOf((c) => {
      delete c.spec.analysis.stepWeight;
      delete c.spec.analysis.maxWeight;
      c.spec.analysis.iterations = 1001;
    });
    expect(p.map((x) => x.field)).toEqual(["spec.analysis.iterations"]);
  });

  it("more than 50 webhooks", () => {
    const p = problemsOf((c) => {
      c.spec.analysis.webhooks = Array.from({ length: 51 }, (_, i) => ({ name: `h${i}`, url: "http://x/" }));
    });
    expect(p.map((x) => x.field)).toEqual(["spec.analysis.webhooks"]);
  });
});
