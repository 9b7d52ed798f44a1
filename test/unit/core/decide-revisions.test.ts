// Revision detection and an imperfect world: restarts on a new revision mid-analysis, manual reverts,
// retries after a failure, a missing target or primary, suspend, and the core never mutating its inputs.
import { describe, expect, it } from "vitest";
import type { CanaryStatus } from "../../../src/api/canary.js";
import { decide } from "../../../src/core/decide.js";
import { desiredCanaryScale, desiredRouting } from "../../../src/core/desired.js";
import {
  catalogSpec,
  deepFreeze,
  ERRORS,
  ID,
  notReady,
  primary,
  READY,
  REF,
  SEC,
  Sim,
  T0,
  target,
  world,
} from "./sim.js";

const spec = catalogSpec();
const INTERVAL = 45 * SEC;

/** rev-1 promoted, rev-2 under analysis at weight 30 with 2 failed checks. */
function midAnalysis(): Sim {
  const sim = Sim.initialized(spec, "rev-1");
  sim.target = target("rev-2", READY);
  sim.advance(30 * SEC).tick(); // Progressing/0
  sim.tick(); // 10
  sim.metrics = ERRORS;
  sim.advance(INTERVAL).tick(); // failed 1
  sim.advance(INTERVAL).tick(); // failed 2
  sim.metrics = { "request-success-rate": 99.9, "request-duration": 80 };
  sim.advance(INTERVAL).tick(); // 20
  sim.advance(INTERVAL).tick(); // 30
  expect(sim.status).toMatchObject({ phase: "Progressing", canaryWeight: 30, failedChecks: 2 });
  return sim;
}

/** rev-1 promoted, rev-2 rolled back (threshold 1). */
function failedRun(): Sim {
  const s = catalogSpec({ analysis: { threshold: 1 } });
  const sim = Sim.initialized(s, "rev-1");
  sim.target = target("rev-2", READY);
  sim.advance(30 * SEC).tick();
  sim.tick();
  sim.metrics = ERRORS;
  sim.advance(INTERVAL).tick();
  expect(sim.status).toMatchObject({ phase: "Failed", lastAppliedSpec: "rev-2", lastPromotedSpec: "rev-1" });
  return sim;
}

describe("decide: revision changes", () => {
  it("a new revision mid-analysis restarts the run: weight 0, failed checks 0, lastAppliedSpec updated, Warning", () => {
    const sim = midAnalysis();
    sim.target = target("rev-3", notReady("0 of 1 updated replicas are available"));
    const d = sim.advance(5 * SEC).tick();
    expect(d.status).toMatchObject({
      phase: "Progressing",
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: "rev-3",
      lastPromotedSpec: "rev-1",
      trackedConfigs: { "configmap/catalog-config": "sum-rev-3" },
    });
    expect(d.reason).toBe(`New revision detected! Restarting analysis for ${ID}`);
    expect(d.events).toEqual([{ type: "Warning", reason: "RevisionChanged", message: d.reason }]);
    expect(d.needsAnalysis).toBe(false);
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
    // the restarted run then goes on from weight 0 as a fresh one
    sim.target = target("rev-3", READY);
    expect(sim.advance(5 * SEC).tick().status.canaryWeight).toBe(10);
  });

  it("the restart is detected even while the interval has not elapsed (no waiting for the next check)", () => {
    const sim = midAnalysis();
    sim.target = target("rev-3", READY);
    const d = sim.advance(1).tick();
    expect(d.status.lastAppliedSpec).toBe("rev-3");
    expect(d.status.canaryWeight).toBe(0);
  });

  it("a changed tracked ConfigMap (a new revision hash) is a new revision too", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = { ...target("rev-1+cfg2"), trackedConfigs: { "configmap/catalog-config": "sum-2" } };
    const d = sim.advance(SEC).tick();
    expect(d.status.phase).toBe("Progressing");
    expect(d.status.trackedConfigs).toEqual({ "configmap/catalog-config": "sum-2" });
  });

  it("a manual revert to the promoted revision after a failure does not start a run", () => {
    const sim = failedRun();
    const failed = structuredClone(sim.status);
    sim.target = target("rev-1", READY);
    const d = sim.advance(INTERVAL).tick();
    expect(d.status).toEqual(failed);
    expect(d.events).toEqual([]);
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
    expect(desiredCanaryScale(d.status)).toBe("zero");
  });

  it("re-pushing the same failed revision does not start a run either", () => {
    const sim = failedRun();
    const failed = structuredClone(sim.status);
    const d = sim.advance(10 * INTERVAL).tick();
    expect(d.status).toEqual(failed);
  });

  it("a new revision after Failed starts a fresh run", () => {
    const sim = failedRun();
    sim.target = target("rev-3", notReady());
    const d = sim.advance(INTERVAL).tick();
    expect(d.status).toMatchObject({
      phase: "Progressing",
      canaryWeight: 0,
      failedChecks: 0,
      lastAppliedSpec: "rev-3",
      lastPromotedSpec: "rev-1",
    });
    expect(d.events).toEqual([
      { type: "Normal", reason: "Synced", message: "New revision detected! Scaling up catalog.test" },
    ]);
    expect(desiredCanaryScale(d.status)).toBe("up");
  });

  it("a new revision after Succeeded starts a run; the promoted one does not", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.runUntil("Succeeded");
    expect(sim.status).toMatchObject({ lastAppliedSpec: "rev-2", lastPromotedSpec: "rev-2" });
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Succeeded");
    sim.target = target("rev-3", READY);
    expect(sim.advance(SEC).tick().status.phase).toBe("Progressing");
  });

  it("a revision pushed during the promotion is analysed after it, not promoted with it", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.runUntil("Promoting");
    sim.target = target("rev-3", READY);
    sim.runUntil("Succeeded");
    expect(sim.status.lastPromotedSpec).toBe("rev-2");
    const d = sim.advance(SEC).tick();
    expect(d.status).toMatchObject({
      phase: "Progressing",
      lastAppliedSpec: "rev-3",
      lastPromotedSpec: "rev-2",
    });
  });
});

describe("decide: missing objects and suspend", () => {
  it("a missing target outside a run is a warning with a hint, not a crash, and changes neither phase nor weight", () => {
    for (const status of [
      {} as CanaryStatus,
      { phase: "Initialized", lastAppliedSpec: "rev-1", lastPromotedSpec: "rev-1" } as CanaryStatus,
      { phase: "Failed", lastAppliedSpec: "rev-2", lastPromotedSpec: "rev-1" } as CanaryStatus,
    ]) {
      const d = decide(REF, spec, deepFreeze(status), world({ now: T0, target: undefined }));
      expect(d.status.phase).toBe(status.phase);
      expect(d.status.canaryWeight).toBe(status.canaryWeight);
      expect(d.actions).toEqual([]);
      expect(d.needsAnalysis).toBe(false);
      expect(d.reason).toBe("target Deployment catalog.test not found: create it or fix spec.targetRef.name");
      expect(d.events).toEqual([{ type: "Warning", reason: "TargetNotFound", message: d.reason }]);
    }
  });

  it("a target deleted mid-run ends the run at once with all traffic on the primary", () => {
    for (const phase of ["Progressing", "WaitingPromotion", "Waiting"] as const) {
      const status: CanaryStatus = {
        phase,
        canaryWeight: 30,
        lastAppliedSpec: "rev-2",
        lastPromotedSpec: "rev-1",
      };
      const d = decide(REF, spec, deepFreeze(status), world({ now: T0, target: undefined }));
      expect(d.status.phase).toBe("Failed");
      expect(d.status.canaryWeight).toBe(0);
      expect(d.status.lastPromotedSpec).toBe("rev-1");
      expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
      expect(d.reason).toBe(
        "Rolling back catalog.test: target Deployment catalog.test not found during the run: all traffic is back on catalog-primary",
      );
      expect(d.events.map((e) => e.reason)).toEqual(["RolledBack"]);
    }
  });

  it("a target deleted after the promotion was copied to the primary finishes the promotion", () => {
    const status: CanaryStatus = {
      phase: "Promoting",
      canaryWeight: 50,
      lastAppliedSpec: "rev-2",
      lastPromotedSpec: "rev-1",
    };
    const promoted = { ...primary(), revision: "rev-2" };
    const d = decide(REF, spec, deepFreeze(status), world({ now: T0, target: undefined, primary: promoted }));
    expect(d.status).toMatchObject({ phase: "Finalising", canaryWeight: 0, lastPromotedSpec: "rev-2" });
    const notCopied = decide(
      REF,
      spec,
      deepFreeze(status),
      world({ now: T0, target: undefined, primary: { ...primary(), revision: "rev-1" } }),
    );
    expect(notCopied.status).toMatchObject({ phase: "Failed", canaryWeight: 0, lastPromotedSpec: "rev-1" });
  });

  it("a missing primary after initialization is restored by the shell, never re-initialized from the target", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.runUntil("Succeeded");
    sim.target = target("rev-3", READY); // a new revision is waiting to be analysed
    sim.primary = undefined; // someone deleted catalog-primary
    const d = sim.advance(SEC).tick();
    expect(d.status.phase).toBe("Succeeded");
    expect(d.status.lastPromotedSpec).toBe("rev-2");
    expect(d.actions).toEqual([]);
    expect(d.reason).toBe(
      "primary Deployment catalog-primary.test is missing: restoring it on the last promoted revision rev-2; the run holds until it is ready",
    );
    expect(d.events).toEqual([{ type: "Warning", reason: "PrimaryMissing", message: d.reason }]);
    // Restored (the sim stands in for converge.ts): rev-3 is then analysed like any new revision.
    const next = sim.advance(SEC).tick();
    expect(next.status).toMatchObject({
      phase: "Progressing",
      lastAppliedSpec: "rev-3",
      lastPromotedSpec: "rev-2",
    });
  });

  it("a primary deleted mid-analysis holds the run (no step, no promotion) until it is back, then continues", () => {
    const sim = midAnalysis();
    const before = structuredClone(sim.status);
    sim.primary = undefined;
    const d = sim.advance(INTERVAL).tick();
    expect(d.status.phase).toBe(before.phase);
    expect(d.status.canaryWeight).toBe(before.canaryWeight);
    expect(d.status.lastPromotedSpec).toBe(before.lastPromotedSpec);
    expect(d.needsAnalysis).toBe(false);
    const resumed = sim.advance(SEC).tick();
    expect(resumed.status.phase).toBe("Progressing");
    expect(resumed.status.canaryWeight ?? 0).toBeGreaterThan(before.canaryWeight ?? 0);
  });

  it("suspend: no transition, no analysis, no actions, even when a step is due or the revision changes", () => {
    const sim = midAnalysis();
    const suspended = catalogSpec({ spec: { suspend: true } });
    const before = structuredClone(sim.status);
    for (const t of [target("rev-2", READY), target("rev-3", READY), target("rev-2", notReady("x", true))]) {
      const d = decide(
        REF,
        suspended,
        deepFreeze(structuredClone(before)),
        world({ now: T0 + 3_600_000, target: t }),
      );
      expect(d.needsAnalysis).toBe(false);
      expect(d.actions).toEqual([]);
      expect(d.events).toEqual([]);
      const { conditions: _c, ...rest } = d.status;
      const { conditions: _b, ...restBefore } = before;
      expect(rest).toEqual(restBefore);
      expect(d.reason).toBe("spec.suspend is true: analysis paused, routes and scale left as they are");
    }
  });

  it("Terminating and Terminated are left alone", () => {
    for (const phase of ["Terminating", "Terminated"] as const) {
      const status: CanaryStatus = { phase, lastAppliedSpec: "rev-1", lastPromotedSpec: "rev-1" };
      const d = decide(REF, spec, deepFreeze(status), world({ now: T0 }));
      expect(d.status).toBe(status);
      expect(d.actions).toEqual([]);
      expect(d.events).toEqual([]);
    }
  });
});

describe("decide: purity", () => {
  it("never mutates the spec, the status or the world it is given (all frozen through a failed and a good run)", () => {
    const frozenSpec = deepFreeze(catalogSpec());
    const sim = Sim.initialized(frozenSpec, "rev-1"); // the Sim freezes status and world on every tick
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.metrics = ERRORS;
    sim.runUntil("Failed");
    sim.metrics = { "request-success-rate": 100, "request-duration": 1 };
    sim.target = target("rev-3", READY);
    sim.advance(SEC).tick();
    sim.runUntil("Succeeded");
    expect(sim.status.lastPromotedSpec).toBe("rev-3");
  });
});
