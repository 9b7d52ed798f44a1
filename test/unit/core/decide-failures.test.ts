// Failing releases: failed checks accumulate within a run, rollback at the threshold, a check without a
// value is a failure, and a canary that misses its progress deadline is rolled back.
import { describe, expect, it } from "vitest";
import { WAIT_REQUEUE_MS } from "../../../src/core/decide.js";
import { desiredCanaryScale, desiredRouting } from "../../../src/core/desired.js";
import { PROMOTED } from "../../../src/core/status.js";
import type { MetricResult } from "../../../src/core/world.js";
import { catalogSpec, ERRORS, HEALTHY, ID, notReady, READY, results, SEC, Sim, target } from "./sim.js";

const spec = catalogSpec();
const INTERVAL = 45 * SEC;

/** Initialized on rev-1, rev-2 pushed, the canary ready and the first step (weight 10) taken. */
function atFirstStep(s = spec): Sim {
  const sim = Sim.initialized(s, "rev-1");
  sim.target = target("rev-2", READY);
  sim.advance(30 * SEC).tick(); // Progressing/0
  sim.advance(5 * SEC).tick(); // Progressing/10, no metrics
  if (sim.status.canaryWeight !== 10 && s.analysis.strategy === "canary") throw new Error("not at weight 10");
  return sim;
}

describe("decide: failed checks and the threshold", () => {
  it("halts at the current weight on a failed check and counts it, with a Warning", () => {
    const sim = atFirstStep();
    sim.metrics = ERRORS;
    const d = sim.advance(INTERVAL).tick();
    expect(d.status).toMatchObject({ phase: "Progressing", canaryWeight: 10, failedChecks: 1 });
    expect(d.reason).toBe(`Halt ${ID} advancement: request-success-rate 97.10% < 99% (failed checks 1/5)`);
    expect(d.events).toEqual([{ type: "Warning", reason: "Halted", message: d.reason }]);
    expect(d.requeueAfterMs).toBe(INTERVAL);
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 90, canaryWeight: 10, mirror: false });
  });

  it("waits a whole interval after a failed check before checking again", () => {
    const sim = atFirstStep();
    sim.metrics = ERRORS;
    sim.advance(INTERVAL).tick();
    const early = sim.advance(INTERVAL - 1).tick();
    expect(early.needsAnalysis).toBe(false);
    expect(early.requeueAfterMs).toBe(1);
    expect(sim.analyses).toBe(1);
    sim.advance(1).tick();
    expect(sim.analyses).toBe(2);
    expect(sim.status.failedChecks).toBe(2);
  });

  it("rolls back when failed checks reach the threshold: Failed, weight 0, reason with the count and the metric", () => {
    const sim = atFirstStep();
    sim.metrics = ERRORS;
    for (let i = 1; i <= 4; i++) {
      const d = sim.advance(INTERVAL).tick();
      expect(d.status.phase).toBe("Progressing");
      expect(d.status.failedChecks).toBe(i);
      expect(d.reason).toContain(`(failed checks ${i}/5)`);
    }
    const d = sim.advance(INTERVAL).tick();
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0, failedChecks: 5 });
    expect(d.reason).toBe(
      `Rolling back ${ID}: request-success-rate 97.10% < 99% (failed checks 5/5); revision rev-2 served 100 requests, 0 failed before the rollback`,
    );
    expect(d.events).toEqual([{ type: "Warning", reason: "RolledBack", message: d.reason }]);
    expect(d.actions).toEqual([]); // the primary is not touched: it still runs the last promoted revision
    expect(d.status.lastPromotedSpec).toBe("rev-1");
    expect(d.status.lastAppliedSpec).toBe("rev-2");
    const promoted = d.status.conditions?.find((c) => c.type === PROMOTED);
    expect(promoted).toMatchObject({ status: "False", reason: "Failed" });
    expect(promoted?.message).toContain("request-success-rate 97.10% < 99%");
    expect(promoted?.message).toContain("(failed checks 5/5)");
    // traffic back on the primary, the canary scaled down
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
    expect(desiredCanaryScale(d.status)).toBe("zero");
  });

  it("keeps counting across passing checks within a run (a pass does not reset the count)", () => {
    const sim = atFirstStep();
    // fail, pass, fail, pass, ... : passes advance the weight, failures accumulate
    sim.metrics = (n) => results(spec, n % 2 === 1 ? ERRORS : HEALTHY);
    const trail: string[] = [];
    for (let i = 0; i < 9; i++) {
      const d = sim.advance(INTERVAL).tick();
      trail.push(`${d.status.phase}/${d.status.canaryWeight}/${d.status.failedChecks}`);
    }
    expect(trail).toEqual([
      "Progressing/10/1",
      "Progressing/20/1",
      "Progressing/20/2",
      "Progressing/30/2",
      "Progressing/30/3",
      "Progressing/40/3",
      "Progressing/40/4",
      "Progressing/50/4",
      "Failed/0/5",
    ]);
  });

  it("with the default threshold (1) the first failed check rolls back", () => {
    const s = catalogSpec({ analysis: { threshold: undefined } });
    expect(s.analysis.threshold).toBe(1);
    const sim = atFirstStep(s);
    sim.metrics = { "request-success-rate": 99.5, "request-duration": 612 };
    const d = sim.advance(INTERVAL).tick();
    expect(d.status.phase).toBe("Failed");
    expect(d.reason).toBe(
      `Rolling back ${ID}: request-duration 612ms > 500ms (failed checks 1/1); revision rev-2 served 100 requests, 0 failed before the rollback`,
    );
  });

  it("stays Failed (no new run, no events) while the revision does not change", () => {
    const sim = atFirstStep(catalogSpec({ analysis: { threshold: 1 } }));
    sim.metrics = ERRORS;
    const failed = sim.advance(INTERVAL).tick();
    const later = sim.advance(10 * INTERVAL).tick();
    expect(later.status).toEqual(failed.status);
    expect(later.events).toEqual([]);
    expect(later.needsAnalysis).toBe(false);
    expect(later.reason).toContain("request-success-rate 97.10% < 99%");
  });
});

describe("decide: a check without a value is a failure, never a pass", () => {
  const cases: Array<[string, Record<string, number | { error: string } | undefined>, string]> = [
    ["no values found", { "request-duration": 120 }, "request-success-rate: no values found"],
    [
      "a query error",
      { "request-success-rate": { error: "query failed: bad_data: parse error" }, "request-duration": 120 },
      "request-success-rate: query failed: bad_data: parse error",
    ],
    [
      "Prometheus unreachable",
      {
        "request-success-rate": { error: "Prometheus http://prometheus:9090 unreachable: ECONNREFUSED" },
        "request-duration": { error: "Prometheus http://prometheus:9090 unreachable: ECONNREFUSED" },
      },
      "request-success-rate: Prometheus http://prometheus:9090 unreachable: ECONNREFUSED",
    ],
  ];
  for (const [what, values, text] of cases) {
    it(`${what} counts as a failed check`, () => {
      const sim = atFirstStep();
      sim.metrics = values;
      const d = sim.advance(INTERVAL).tick();
      expect(d.status.canaryWeight).toBe(10);
      expect(d.status.failedChecks).toBe(1);
      expect(d.reason).toContain(text);
    });
  }

  it("NaN as a value is a failed check", () => {
    const sim = atFirstStep();
    const nan: MetricResult[] = results(spec, HEALTHY).map((r) =>
      r.name === "request-duration" ? { ...r, value: Number.NaN } : r,
    );
    sim.metrics = () => nan;
    const d = sim.advance(INTERVAL).tick();
    expect(d.status.failedChecks).toBe(1);
    expect(d.reason).toContain("request-duration: no values found");
  });

  it("a canary whose checks never return values is rolled back at the threshold, never promoted", () => {
    const sim = atFirstStep();
    sim.metrics = {};
    const run = sim.runUntil("Failed", 20);
    expect(run.every((d) => d.status.phase !== "Promoting")).toBe(true);
    expect(sim.status.failedChecks).toBe(5);
    expect(sim.status.canaryWeight).toBe(0);
  });
});

describe("decide: progress deadline", () => {
  it("rolls back a canary whose rollout exceeded progressDeadlineSeconds, with the reason", () => {
    const sim = atFirstStep();
    sim.advance(INTERVAL).tick(); // weight 20
    sim.target = target("rev-2", notReady("0 of 1 updated replicas are available", true));
    const d = sim.advance(5 * SEC).tick();
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0 });
    expect(d.reason).toBe(
      `Rolling back ${ID}: canary deployment catalog not ready within progressDeadlineSeconds 60s: 0 of 1 updated replicas are available; revision rev-2 served 100 requests, 0 failed before the rollback`,
    );
    expect(d.events).toEqual([{ type: "Warning", reason: "RolledBack", message: d.reason }]);
    expect(sim.analyses).toBe(1);
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
  });

  it("rolls back a new revision that never becomes ready (still at weight 0)", () => {
    const sim = Sim.initialized(spec);
    sim.target = target("rev-2", notReady("0 of 1 updated replicas are available"));
    sim.advance(SEC).tick();
    sim.target = target("rev-2", notReady("0 of 1 updated replicas are available", true));
    const d = sim.advance(61 * SEC).tick();
    expect(d.status.phase).toBe("Failed");
    expect(d.reason).toContain("progressDeadlineSeconds 60s");
  });

  it("a canary not ready within the deadline only waits: no transition, no analysis, no event", () => {
    const sim = atFirstStep();
    const before = structuredClone(sim.status);
    sim.target = target("rev-2", notReady("1 of 2 updated replicas are available"));
    const d = sim.advance(INTERVAL * 3).tick();
    expect(d.needsAnalysis).toBe(false);
    expect(d.events).toEqual([]);
    expect(d.requeueAfterMs).toBe(WAIT_REQUEUE_MS);
    expect(d.status.phase).toBe(before.phase);
    expect(d.status.canaryWeight).toBe(before.canaryWeight);
    expect(d.status.failedChecks).toBe(before.failedChecks);
    expect(d.status.lastTransitionTime).toBe(before.lastTransitionTime);
    expect(d.reason).toBe("waiting for canary catalog rollout: 1 of 2 updated replicas are available");
  });

  it("a primary that is not ready halts advancement without counting a failure", () => {
    const sim = atFirstStep();
    sim.primary = { readiness: notReady("2 of 3 updated replicas are available") };
    const d = sim.advance(INTERVAL).tick();
    expect(d.status.canaryWeight).toBe(10);
    expect(d.status.failedChecks ?? 0).toBe(0);
    expect(d.needsAnalysis).toBe(false);
    expect(d.reason).toBe(
      "Halt advancement: catalog-primary not ready: 2 of 3 updated replicas are available",
    );
  });
});
