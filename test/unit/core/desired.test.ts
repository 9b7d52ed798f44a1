// The level-triggered half: routes and canary scale derived from a status alone, so a restarted controller
// (or a drifted VirtualService) converges to what the status says.
import { describe, expect, it } from "vitest";
import { CANARY_PHASES, type CanaryPhase } from "../../../src/api/canary.js";
import { desiredCanaryScale, desiredRouting, routingEnabled } from "../../../src/core/desired.js";
import { catalogSpec } from "./sim.js";

const canary = catalogSpec();
const blueGreenMirror = catalogSpec({
  analysis: { iterations: 5, stepWeight: undefined, maxWeight: undefined, match: undefined, mirror: true },
});
const canaryMirror = catalogSpec({ analysis: { mirror: true, mirrorWeight: 50 } });

describe("routingEnabled", () => {
  it("is off before the primary is ready (the apex still reaches the target) and on afterwards", () => {
    expect(routingEnabled({})).toBe(false);
    expect(routingEnabled({ phase: "Initializing" })).toBe(false);
    for (const phase of CANARY_PHASES.filter((p) => p !== "" && p !== "Initializing")) {
      expect(routingEnabled({ phase })).toBe(true);
    }
  });

  it("while Initializing, is on as soon as the primary is ready (routes exist before Initialized is recorded)", () => {
    expect(routingEnabled({ phase: "Initializing" }, true)).toBe(true);
    expect(routingEnabled({}, true)).toBe(false);
  });
});

describe("desiredRouting", () => {
  it("splits traffic by status.canaryWeight while a run is on", () => {
    for (const phase of ["Progressing", "WaitingPromotion", "Promoting"] as const) {
      expect(desiredRouting(canary, { phase, canaryWeight: 30 })).toEqual({
        primaryWeight: 70,
        canaryWeight: 30,
        mirror: false,
      });
    }
  });

  it("sends everything to the primary in every other phase, whatever weight the status carries", () => {
    const idle: CanaryPhase[] = [
      "",
      "Initializing",
      "Initialized",
      // Waiting for confirm-rollout comes before the run: the canary is not even scaled up yet.
      "Waiting",
      "Finalising",
      "Succeeded",
      "Failed",
      "Terminating",
      "Terminated",
    ];
    for (const phase of idle) {
      expect(desiredRouting(canary, { phase, canaryWeight: 40 })).toEqual({
        primaryWeight: 100,
        canaryWeight: 0,
        mirror: false,
      });
    }
    expect(desiredRouting(canary, {})).toEqual({ primaryWeight: 100, canaryWeight: 0, mirror: false });
  });

  it("clamps a corrupt weight into 0..100 so the weights always sum to 100", () => {
    expect(desiredRouting(canary, { phase: "Progressing", canaryWeight: 140 })).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirror: false,
    });
    expect(desiredRouting(canary, { phase: "Progressing", canaryWeight: -5 })).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirror: false,
    });
    expect(desiredRouting(canary, { phase: "Progressing" })).toEqual({
      primaryWeight: 100,
      canaryWeight: 0,
      mirror: false,
    });
  });

  it("mirrors for the whole blue/green run with analysis.mirror, but not while promoting", () => {
    expect(desiredRouting(blueGreenMirror, { phase: "Progressing", iterations: 3 }).mirror).toBe(true);
    expect(desiredRouting(blueGreenMirror, { phase: "Promoting", canaryWeight: 100 })).toEqual({
      primaryWeight: 0,
      canaryWeight: 100,
      mirror: false,
    });
    expect(desiredRouting(blueGreenMirror, { phase: "Succeeded" }).mirror).toBe(false);
    expect(desiredRouting(blueGreenMirror, { phase: "Failed" }).mirror).toBe(false);
  });

  it("mirrors a canary release only on its weight-0 first step", () => {
    expect(desiredRouting(canaryMirror, { phase: "Progressing", canaryWeight: 0 }).mirror).toBe(true);
    expect(desiredRouting(canaryMirror, { phase: "Progressing", canaryWeight: 10 }).mirror).toBe(false);
    expect(desiredRouting(canaryMirror, { phase: "Promoting", canaryWeight: 50 }).mirror).toBe(false);
  });

  it("never mirrors without analysis.mirror", () => {
    for (const phase of CANARY_PHASES)
      expect(desiredRouting(canary, { phase, canaryWeight: 0 }).mirror).toBe(false);
  });
});

describe("desiredCanaryScale", () => {
  it("runs the canary during a run, scales it to zero when idle, leaves it before initialization and while deleting", () => {
    const expected: Record<CanaryPhase, string> = {
      "": "leave",
      Initializing: "leave",
      Initialized: "zero",
      Waiting: "zero",
      Progressing: "up",
      WaitingPromotion: "up",
      Promoting: "up",
      Finalising: "zero",
      Succeeded: "zero",
      Failed: "zero",
      Terminating: "leave",
      Terminated: "leave",
    };
    for (const phase of CANARY_PHASES)
      expect([phase, desiredCanaryScale({ phase })]).toEqual([phase, expected[phase]]);
    expect(desiredCanaryScale({})).toBe("leave");
  });
});
