// A whole release of the reference scenario through decide(): every phase transition in order, the
// reasons and events users see, and the timing of analysis steps (interval 45s, steps of 10 up to 50).
import { describe, expect, it } from "vitest";
import { CanaryStatusSchema } from "../../../src/api/canary.js";
import { decide, WAIT_REQUEUE_MS } from "../../../src/core/decide.js";
import { desiredCanaryScale, desiredRouting, routingEnabled } from "../../../src/core/desired.js";
import { catalogSpec, ID, notReady, primary, READY, REF, SEC, Sim, T0, target, world } from "./sim.js";

const spec = catalogSpec();
const INTERVAL = 45 * SEC;

describe("decide: initialization", () => {
  it('"" -> Initializing asks to create the primary, once per attempt, with a Synced event', () => {
    const sim = new Sim(spec);
    sim.createdPrimary = primary(notReady("0 of 3 updated replicas are available"));
    const d = sim.tick();
    expect(d.status.phase).toBe("Initializing");
    expect(d.status.canaryWeight).toBe(0);
    expect(d.status.phase).toBe("Initializing"); // the shell creates the primary in this phase
    expect(d.events).toEqual([
      {
        type: "Normal",
        reason: "Synced",
        message: `Initializing ${ID}: creating catalog-primary from catalog`,
      },
    ]);
    expect(d.requeueAfterMs).toBe(WAIT_REQUEUE_MS);
    expect(d.status.lastTransitionTime).toBe(new Date(T0).toISOString());
    // the apex Service still reaches the target: no VirtualService, canary scale not touched
    expect(routingEnabled(d.status)).toBe(false);
    expect(desiredCanaryScale(d.status)).toBe("leave");
  });

  it("waits in Initializing while the primary is not ready, without another transition or event", () => {
    const sim = new Sim(spec);
    sim.createdPrimary = primary(notReady("1 of 3 updated replicas are available"));
    const first = sim.tick();
    const wait = sim.advance(5 * SEC).tick();
    expect(wait.status.phase).toBe("Initializing");
    expect(wait.actions).toEqual([]);
    expect(wait.events).toEqual([]);
    expect(wait.reason).toBe(
      "waiting for catalog-primary to be ready: 1 of 3 updated replicas are available",
    );
    expect(wait.requeueAfterMs).toBe(WAIT_REQUEUE_MS);
    expect(wait.status.lastTransitionTime).toBe(first.status.lastTransitionTime);
    expect(wait.status.lastAppliedSpec).toBeUndefined();
  });

  it("warns when the primary misses its deadline during initialization, and keeps waiting", () => {
    const sim = new Sim(spec);
    sim.createdPrimary = primary(notReady("0 of 3 updated replicas are available", true));
    sim.tick();
    const d = sim.advance(5 * SEC).tick();
    expect(d.status.phase).toBe("Initializing");
    expect(d.events).toEqual([{ type: "Warning", reason: "PrimaryNotReady", message: d.reason }]);
  });

  it("creates the primary again (no duplicate event) when it still does not exist on the next tick", () => {
    const sim = new Sim(spec);
    sim.tick();
    sim.primary = undefined; // the create has not landed in the informer cache yet
    const d = sim.advance(5 * SEC).tick();
    expect(d.status.phase).toBe("Initializing");
    expect(d.status.phase).toBe("Initializing"); // the shell creates the primary in this phase
    expect(d.events).toEqual([]);
  });

  it("Initialized: weight 0, lastAppliedSpec = lastPromotedSpec = the target revision, tracked configs kept", () => {
    const sim = new Sim(spec, { target: target("rev-1") });
    sim.createdPrimary = primary(notReady());
    sim.tick();
    sim.advance(5 * SEC).tick();
    sim.primary = primary(READY);
    const d = sim.advance(5 * SEC).tick();
    expect(d.status).toMatchObject({
      phase: "Initialized",
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: "rev-1",
      lastPromotedSpec: "rev-1",
      trackedConfigs: { "configmap/catalog-config": "sum-rev-1" },
    });
    expect(d.reason).toBe(`Initialization done! ${ID}`);
    expect(d.events).toEqual([{ type: "Normal", reason: "Synced", message: `Initialization done! ${ID}` }]);
    expect(d.actions).toEqual([]);
    expect(routingEnabled(d.status)).toBe(true);
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
    expect(desiredCanaryScale(d.status)).toBe("zero");
  });

  it("stays Initialized with nothing to do while the revision does not change", () => {
    const sim = Sim.initialized(spec);
    const before = structuredClone(sim.status);
    const d = sim.advance(10 * 60 * SEC).tick();
    expect(d.status).toEqual(before);
    expect(d.actions).toEqual([]);
    expect(d.events).toEqual([]);
    expect(d.requeueAfterMs).toBeUndefined();
    expect(d.needsAnalysis).toBe(false);
  });
});

describe("decide: a release of the catalog scenario", () => {
  /** Initialized on rev-1, then rev-2 pushed and the canary scaling up. */
  function started() {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", notReady("0 of 1 updated replicas are available"));
    const start = sim.advance(30 * SEC).tick();
    return { sim, start };
  }

  it("a new revision starts a run: Progressing, weight 0, failed checks reset, lastAppliedSpec = new revision", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.status = { ...sim.status, failedChecks: 3, iterations: 2 }; // leftovers must not carry over
    sim.target = target("rev-2", notReady());
    const d = sim.advance(30 * SEC).tick();
    expect(d.status).toMatchObject({
      phase: "Progressing",
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: "rev-2",
      lastPromotedSpec: "rev-1",
      trackedConfigs: { "configmap/catalog-config": "sum-rev-2" },
    });
    expect(d.reason).toBe(`New revision detected! Scaling up catalog.test`);
    expect(d.events).toEqual([{ type: "Normal", reason: "Synced", message: d.reason }]);
    expect(d.needsAnalysis).toBe(false);
    expect(desiredCanaryScale(d.status)).toBe("up");
    expect(desiredRouting(spec, d.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
  });

  it("waits for the canary rollout without a transition, then takes the first step at once, without metrics", () => {
    const { sim, start } = started();
    const wait = sim.advance(5 * SEC).tick();
    expect(wait.status.phase).toBe("Progressing");
    expect(wait.status.canaryWeight).toBe(0);
    expect(wait.status.lastTransitionTime).toBe(start.status.lastTransitionTime);
    expect(wait.reason).toBe("waiting for canary catalog rollout: 0 of 1 updated replicas are available");
    expect(wait.requeueAfterMs).toBe(WAIT_REQUEUE_MS);
    expect(wait.events).toEqual([]);

    sim.target = target("rev-2", READY);
    const first = sim.advance(5 * SEC).tick(); // 10 s after the start: well inside the 45 s interval
    expect(sim.analyses).toBe(0);
    expect(first.status.phase).toBe("Progressing");
    expect(first.status.canaryWeight).toBe(10);
    expect(first.reason).toBe(`Advance ${ID} canary weight 10`);
    expect(first.events).toEqual([{ type: "Normal", reason: "Progressing", message: first.reason }]);
    expect(first.requeueAfterMs).toBe(INTERVAL);
    expect(desiredRouting(spec, first.status)).toEqual({
      primaryWeight: 90,
      canaryWeight: 10,
      mirror: false,
    });
  });

  it("asks for analysis only once the interval has elapsed; before, it requeues for the remaining time", () => {
    const { sim } = started();
    sim.target = target("rev-2", READY);
    const first = sim.advance(5 * SEC).tick();
    const steppedAt = sim.clock;

    for (const elapsed of [1, 10 * SEC, 44 * SEC, INTERVAL - 1]) {
      sim.clock = steppedAt + elapsed;
      const d = sim.tick();
      expect(d.needsAnalysis).toBe(false);
      expect(d.requeueAfterMs).toBe(INTERVAL - elapsed);
      expect(d.status).toEqual(first.status);
      expect(d.events).toEqual([]);
      expect(d.reason).toBe(`next check of ${ID} at ${new Date(steppedAt + INTERVAL).toISOString()}`);
    }
    expect(sim.analyses).toBe(0);

    sim.clock = steppedAt + INTERVAL;
    const second = sim.tick();
    expect(sim.analyses).toBe(1);
    expect(second.status.canaryWeight).toBe(20);
    expect(second.reason).toBe(
      `Advance ${ID} canary weight 20: request-success-rate 99.95% >= 99%, request-duration 120ms <= 500ms`,
    );
  });

  it("the decision that asks for analysis changes nothing and has no actions or events", () => {
    const { sim } = started();
    sim.target = target("rev-2", READY);
    const first = sim.advance(5 * SEC).tick();
    // call decide through the sim but look at the pre-analysis decision via a failing metrics function
    let asked = false;
    sim.metrics = () => {
      asked = true;
      throw new Error("stop here");
    };
    expect(() => sim.advance(INTERVAL).tick()).toThrow("stop here");
    expect(asked).toBe(true);
    expect(sim.status).toEqual(first.status);
  });

  it("walks 10, 20, 30, 40, 50, promotes, waits for the primary, finalises and succeeds", () => {
    const { sim } = started();
    sim.target = target("rev-2", READY);
    sim.advance(5 * SEC).tick();
    sim.runUntil("Promoting");
    expect(sim.trail()).toEqual([
      "Initializing/0",
      "Initialized/0",
      "Progressing/0",
      "Progressing/10",
      "Progressing/20",
      "Progressing/30",
      "Progressing/40",
      "Progressing/50",
      "Promoting/50",
    ]);
    expect(sim.analyses).toBe(5); // at 10, 20, 30, 40 and 50
    const stepTimes = sim.log.slice(3).map((r) => r.at - (sim.log[3]?.at ?? 0));
    expect(stepTimes).toEqual([0, INTERVAL, 2 * INTERVAL, 3 * INTERVAL, 4 * INTERVAL, 5 * INTERVAL]);

    const promote = sim.log[sim.log.length - 1]?.decision;
    expect(promote?.status.phase).toBe("Promoting"); // the shell copies the template in this phase
    expect(promote?.reason).toBe(
      `Canary analysis of ${ID} passed at weight 50: request-success-rate 99.95% >= 99%, request-duration 120ms <= 500ms: copying catalog.test template spec to catalog-primary.test`,
    );
    expect(promote?.events).toEqual([{ type: "Normal", reason: "Promoting", message: promote?.reason }]);
    // the canary keeps its traffic while the primary rolls out the promoted template
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 50, canaryWeight: 50, mirror: false });
    expect(desiredCanaryScale(sim.status)).toBe("up");

    // the shell copies the template: the primary is rolling out
    sim.primary = primary(notReady("2 of 3 updated replicas are available"));
    const wait = sim.next();
    expect(wait.status.phase).toBe("Promoting");
    expect(wait.actions).toEqual([]); // the copy is not repeated
    expect(wait.reason).toBe(
      "waiting for catalog-primary to roll out the promoted template: 2 of 3 updated replicas are available",
    );
    expect(wait.requeueAfterMs).toBe(WAIT_REQUEUE_MS);
    expect(wait.status.lastPromotedSpec).toBe("rev-1");

    sim.primary = primary(READY);
    const fin = sim.next();
    expect(fin.status).toMatchObject({ phase: "Finalising", canaryWeight: 0, lastPromotedSpec: "rev-2" });
    expect(fin.reason).toBe("Routing all traffic to primary catalog-primary");
    expect(fin.requeueAfterMs).toBe(0);
    expect(desiredRouting(spec, fin.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
    expect(desiredCanaryScale(fin.status)).toBe("zero");

    const done = sim.next();
    expect(done.status).toMatchObject({
      phase: "Succeeded",
      canaryWeight: 0,
      failedChecks: 0,
      lastAppliedSpec: "rev-2",
      lastPromotedSpec: "rev-2",
    });
    expect(done.reason).toBe(
      "Promotion completed! Scaling down catalog.test; revision rev-2 served 100 requests, 0 failed",
    );
    expect(done.events).toEqual([{ type: "Normal", reason: "Succeeded", message: done.reason }]);
    expect(desiredCanaryScale(done.status)).toBe("zero");

    // nothing more to do until the next revision
    const idle = sim.advance(INTERVAL).tick();
    expect(idle.status).toEqual(done.status);
    expect(idle.requeueAfterMs).toBeUndefined();
    expect(idle.events).toEqual([]);
  });

  it("the status of every tick parses as a Canary status and never shows a weight outside 0..100", () => {
    const { sim } = started();
    sim.target = target("rev-2", READY);
    sim.runUntil("Succeeded");
    for (const r of sim.log) {
      expect(() => CanaryStatusSchema.parse(r.decision.status)).not.toThrow();
      const w = r.decision.status.canaryWeight ?? 0;
      expect(w).toBeGreaterThanOrEqual(0);
      expect(w).toBeLessThanOrEqual(100);
    }
  });

  it("a decision tick is pure: same inputs, same decision", () => {
    const status = {
      phase: "Progressing" as const,
      canaryWeight: 20,
      lastAppliedSpec: "rev-2",
      lastPromotedSpec: "rev-1",
    };
    const w = world({ now: T0, target: target("rev-2") });
    expect(decide(REF, spec, status, w)).toEqual(decide(REF, spec, status, w));
  });
});
