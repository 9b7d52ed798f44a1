// Release strategies through whole runs: weight lists, gradual promotion, skipAnalysis, A/B testing,
// blue/green and traffic mirroring, each checked by the weights/routes a user would see.
import { describe, expect, it } from "vitest";
import type { EffectiveSpec } from "../../../src/api/defaults.js";
import { desiredRouting } from "../../../src/core/desired.js";
import { catalogSpec, ERRORS, ID, notReady, primary, READY, SEC, Sim, target } from "./sim.js";

const INTERVAL = 45 * SEC;

/** Initialized on rev-1, then rev-2 pushed with its canary already ready. */
function newRevision(spec: EffectiveSpec): Sim {
  const sim = Sim.initialized(spec, "rev-1");
  sim.target = target("rev-2", READY);
  sim.advance(30 * SEC).tick();
  return sim;
}

/** The canary weights of the Progressing steps of a whole run (each distinct weight once). */
function progressingWeights(sim: Sim): number[] {
  const out: number[] = [];
  for (const r of sim.log) {
    const s = r.decision.status;
    if (s.phase === "Progressing" && (s.canaryWeight ?? 0) > 0 && out[out.length - 1] !== s.canaryWeight) {
      out.push(s.canaryWeight ?? 0);
    }
  }
  return out;
}

describe("decide: canary weights", () => {
  it("stepWeights are walked as listed; the last step is the maximum weight", () => {
    const spec = catalogSpec({
      analysis: { stepWeight: undefined, maxWeight: undefined, stepWeights: [1, 5, 25, 50] },
    });
    expect(spec.analysis.maxWeight).toBe(50);
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    expect(progressingWeights(sim)).toEqual([1, 5, 25, 50]);
    expect(sim.status.canaryWeight).toBe(50);
    expect(sim.analyses).toBe(4);
    expect(sim.log.map((r) => r.decision.reason)).toContain(
      `Advance ${ID} canary weight 25: request-success-rate 99.95% >= 99%, request-duration 120ms <= 500ms`,
    );
  });

  it("stepWeights ignore analysis.maxWeight, like Flagger (validation rejects the mix; withDefaults stays total)", () => {
    const spec = catalogSpec({
      analysis: { stepWeight: undefined, maxWeight: 50, stepWeights: [10, 20, 80] },
      allowInvalid: true,
    });
    expect(spec.analysis.maxWeight).toBe(80);
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    expect(progressingWeights(sim)).toEqual([10, 20, 80]);
  });

  it("stepWeight may overshoot maxWeight on the last step (maxWeight 50, step 20: 20, 40, 60), like Flagger", () => {
    const spec = catalogSpec({ analysis: { stepWeight: 20, maxWeight: 50 } });
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    expect(progressingWeights(sim)).toEqual([20, 40, 60]);
  });

  it("steps are capped at 100 (step 30, default maxWeight 100: 30, 60, 90, 100)", () => {
    const spec = catalogSpec({ analysis: { stepWeight: 30, maxWeight: undefined } });
    expect(spec.analysis.maxWeight).toBe(100);
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    expect(progressingWeights(sim)).toEqual([30, 60, 90, 100]);
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 0, canaryWeight: 100, mirror: false });
  });
});

describe("decide: gradual promotion (stepWeightPromotion)", () => {
  it("moves traffic back to the primary in steps, one per interval, then finalises", () => {
    const spec = catalogSpec({ analysis: { stepWeightPromotion: 20 } });
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    const promotedAt = sim.clock;
    // the primary rolls out the promoted template first
    sim.primary = primary(notReady("2 of 3 updated replicas are available"));
    expect(sim.next().status.canaryWeight).toBe(50);
    sim.primary = primary(READY);
    const early = sim.next();
    expect(early.status.canaryWeight).toBe(50);
    expect(early.requeueAfterMs).toBe(promotedAt + INTERVAL - sim.clock);

    const s1 = sim.next();
    expect(sim.clock).toBe(promotedAt + INTERVAL);
    expect(s1.status).toMatchObject({ phase: "Promoting", canaryWeight: 30 });
    expect(s1.reason).toBe(`Advance ${ID} primary weight 70`);
    expect(s1.events).toEqual([{ type: "Normal", reason: "Promoting", message: s1.reason }]);
    expect(s1.actions).toEqual([]); // the template is copied once, at the start of the promotion
    expect(desiredRouting(spec, s1.status)).toEqual({ primaryWeight: 70, canaryWeight: 30, mirror: false });

    const s2 = sim.next();
    expect(s2.status.canaryWeight).toBe(10);
    expect(s2.reason).toBe(`Advance ${ID} primary weight 90`);

    const fin = sim.next();
    expect(fin.status).toMatchObject({ phase: "Finalising", canaryWeight: 0, lastPromotedSpec: "rev-2" });
    expect(sim.next().status.phase).toBe("Succeeded");
    // Promoting is entered once: the template is copied once, at the start of the promotion.
    const phases = sim.trail().map((t) => t.split("/")[0]);
    expect(phases.filter((p, i) => p === "Promoting" && phases[i - 1] !== "Promoting").length).toBe(1);
  });

  it("a promotion step that lands exactly on 0 finalises instead of promoting at weight 0", () => {
    const spec = catalogSpec({ analysis: { stepWeightPromotion: 25 } });
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    sim.runUntil("Finalising");
    expect(sim.trail().slice(-3)).toEqual(["Promoting/50", "Promoting/25", "Finalising/0"]);
  });

  it("without stepWeightPromotion all traffic goes back to the primary in one go", () => {
    const sim = newRevision(catalogSpec());
    sim.runUntil("Promoting");
    const fin = sim.next();
    expect(fin.status).toMatchObject({ phase: "Finalising", canaryWeight: 0 });
  });
});

describe("decide: skipAnalysis", () => {
  it("promotes as soon as the canary is ready, without metric checks", () => {
    const spec = catalogSpec({ spec: { skipAnalysis: true } });
    const sim = Sim.initialized(spec, "rev-1");
    sim.metrics = ERRORS; // would fail if asked
    sim.target = target("rev-2", notReady());
    expect(sim.advance(SEC).tick().status.phase).toBe("Progressing");
    expect(sim.advance(5 * SEC).tick().status.phase).toBe("Progressing"); // canary still rolling out
    sim.target = target("rev-2", READY);
    const d = sim.advance(5 * SEC).tick();
    expect(d.status.phase).toBe("Promoting");
    expect(d.status.canaryWeight).toBe(0);
    expect(d.status.phase).toBe("Promoting"); // the shell copies the template in this phase
    expect(d.reason).toBe(
      "spec.skipAnalysis is true: copying catalog.test template spec to catalog-primary.test",
    );
    sim.runUntil("Succeeded");
    expect(sim.analyses).toBe(0);
    expect(sim.status.lastPromotedSpec).toBe("rev-2");
  });

  it("still rolls back a canary that misses its progress deadline", () => {
    const spec = catalogSpec({ spec: { skipAnalysis: true } });
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", notReady("0 of 1 updated replicas are available", true));
    sim.advance(SEC).tick();
    const d = sim.advance(5 * SEC).tick();
    expect(d.status.phase).toBe("Failed");
    expect(d.actions).toEqual([]);
  });
});

describe("decide: A/B testing (match + iterations)", () => {
  const spec = catalogSpec({ analysis: { iterations: 3, stepWeight: undefined, maxWeight: undefined } });

  it("is the chosen strategy", () => {
    expect(spec.analysis.strategy).toBe("ab-testing");
  });

  it("sends the matched traffic to the canary for the whole run and counts iterations", () => {
    const sim = newRevision(spec);
    const first = sim.advance(5 * SEC).tick();
    expect(first.status).toMatchObject({ phase: "Progressing", iterations: 1, canaryWeight: 100 });
    expect(first.reason).toBe(`Advance ${ID} canary iteration 1/3`);
    expect(sim.analyses).toBe(0);
    expect(desiredRouting(spec, first.status)).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirror: false,
    });

    const early = sim.advance(INTERVAL - 1).tick();
    expect(early.needsAnalysis).toBe(false);
    const second = sim.advance(1).tick();
    expect(second.status).toMatchObject({ iterations: 2, canaryWeight: 100 });
    expect(second.reason).toBe(
      `Advance ${ID} canary iteration 2/3: request-success-rate 99.95% >= 99%, request-duration 120ms <= 500ms`,
    );
    const third = sim.advance(INTERVAL).tick();
    expect(third.status.iterations).toBe(3);

    const promote = sim.advance(INTERVAL).tick();
    expect(promote.status.phase).toBe("Promoting");
    expect(promote.status.phase).toBe("Promoting"); // the shell copies the template in this phase
    expect(promote.reason).toMatch(new RegExp(`^Canary analysis of ${ID} completed 3 iterations: `));
    expect(sim.analyses).toBe(3);
    sim.runUntil("Succeeded");
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
  });

  it("a failed check does not count as an iteration", () => {
    const sim = newRevision(spec);
    sim.advance(5 * SEC).tick();
    sim.metrics = ERRORS;
    const d = sim.advance(INTERVAL).tick();
    expect(d.status).toMatchObject({ iterations: 1, failedChecks: 1, canaryWeight: 100 });
    expect(d.reason).toContain("(failed checks 1/5)");
  });
});

describe("decide: blue/green (iterations without match)", () => {
  const spec = catalogSpec({
    analysis: { iterations: 3, stepWeight: undefined, maxWeight: undefined, match: undefined },
  });

  it("is the chosen strategy", () => {
    expect(spec.analysis.strategy).toBe("blue-green");
  });

  it("runs the iterations with weight 0, then routes all traffic to the canary while promoting", () => {
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    const iterating = sim.log.filter((r) => r.decision.status.phase === "Progressing");
    expect(iterating.every((r) => (r.decision.status.canaryWeight ?? 0) === 0)).toBe(true);
    expect(iterating.map((r) => r.decision.status.iterations)).toEqual([0, 1, 2, 3]);
    expect(sim.analyses).toBe(3);
    expect(sim.status.canaryWeight).toBe(100);
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 0, canaryWeight: 100, mirror: false });
    sim.runUntil("Succeeded");
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
  });
});

describe("decide + desiredRouting: traffic mirroring", () => {
  it("blue/green with mirror: mirrored during the iterations (each one measured), not while promoting", () => {
    const spec = catalogSpec({
      analysis: {
        iterations: 2,
        stepWeight: undefined,
        maxWeight: undefined,
        match: undefined,
        mirror: true,
      },
    });
    const sim = newRevision(spec);
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: true });
    // the mirrored traffic starts with the run, so even the first iteration waits for and reads metrics
    const early = sim.advance(5 * SEC).tick();
    expect(early.needsAnalysis).toBe(false);
    expect(early.status.iterations).toBe(0);
    sim.runUntil("Promoting");
    expect(sim.analyses).toBe(3); // the mirrored first step and the two iterations
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 0, canaryWeight: 100, mirror: false });
  });

  it("canary with mirror: the first step mirrors at weight 0 and is measured, later steps shift traffic without mirroring", () => {
    const spec = catalogSpec({ analysis: { mirror: true } });
    const sim = newRevision(spec);
    const startedAt = sim.clock;
    expect(desiredRouting(spec, sim.status)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: true });
    const early = sim.advance(5 * SEC).tick();
    expect(early.status.canaryWeight).toBe(0);
    expect(early.needsAnalysis).toBe(false);
    sim.clock = startedAt + INTERVAL;
    const first = sim.tick();
    expect(sim.analyses).toBe(1);
    expect(first.status.canaryWeight).toBe(10);
    expect(desiredRouting(spec, first.status)).toEqual({
      primaryWeight: 90,
      canaryWeight: 10,
      mirror: false,
    });
    sim.runUntil("Promoting");
    expect(progressingWeights(sim)).toEqual([10, 20, 30, 40, 50]);
  });

  it("no mirror without analysis.mirror", () => {
    const spec = catalogSpec();
    const sim = newRevision(spec);
    sim.runUntil("Promoting");
    for (const r of sim.log) expect(desiredRouting(spec, r.decision.status).mirror).toBe(false);
  });
});
