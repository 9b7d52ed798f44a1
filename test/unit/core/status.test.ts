// The Promoted condition: `kubectl wait --for=condition=Promoted` and dashboards read it, so its status per
// phase and its lastTransitionTime (kept while the status value does not change) must be right.
import { describe, expect, it } from "vitest";
import type { CanaryCondition } from "../../../src/api/canary.js";
import { note, PROMOTED, promotedCondition, step, withCondition } from "../../../src/core/status.js";
import { catalogSpec, ERRORS, READY, SEC, Sim, T0, target } from "./sim.js";

const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();

describe("promotedCondition", () => {
  it("is True once initialized and after a success, False after a failure, Unknown in between", () => {
    expect(promotedCondition("Initialized")).toEqual({ status: "True", reason: "Initialized" });
    expect(promotedCondition("Succeeded")).toEqual({ status: "True", reason: "Succeeded" });
    expect(promotedCondition("Failed")).toEqual({ status: "False", reason: "Failed" });
    expect(promotedCondition("")).toEqual({ status: "Unknown", reason: "Initializing" });
    expect(promotedCondition("Initializing")).toEqual({ status: "Unknown", reason: "Initializing" });
    expect(promotedCondition("Progressing")).toEqual({ status: "Unknown", reason: "Progressing" });
    for (const phase of [
      "Waiting",
      "WaitingPromotion",
      "Promoting",
      "Finalising",
      "Terminating",
      "Terminated",
    ] as const) {
      // Flagger writes the phase as the reason; dashboards and `kubectl wait` built for it rely on that.
      expect(promotedCondition(phase)).toEqual({ status: "Unknown", reason: phase });
    }
  });
});

describe("withCondition", () => {
  const base = { type: PROMOTED, status: "Unknown" as const, reason: "Progressing", message: "a" };

  it("adds a condition stamped with now", () => {
    expect(withCondition(undefined, base, at(0))).toEqual([
      { ...base, lastUpdateTime: iso(0), lastTransitionTime: iso(0) },
    ]);
  });

  it("keeps lastTransitionTime when the status value does not change, bumps lastUpdateTime", () => {
    const first = withCondition(undefined, base, at(0));
    const second = withCondition(first, { ...base, message: "b" }, at(45 * SEC));
    expect(second).toEqual([
      { ...base, message: "b", lastUpdateTime: iso(45 * SEC), lastTransitionTime: iso(0) },
    ]);
    const third = withCondition(second, { ...base, reason: "Waiting", message: "c" }, at(90 * SEC));
    expect(third[0]?.lastTransitionTime).toBe(iso(0));
  });

  it("moves lastTransitionTime when the status value changes", () => {
    const first = withCondition(undefined, base, at(0));
    const done = withCondition(first, { ...base, status: "True", reason: "Succeeded" }, at(60 * SEC));
    expect(done).toEqual([
      {
        ...base,
        status: "True",
        reason: "Succeeded",
        lastUpdateTime: iso(60 * SEC),
        lastTransitionTime: iso(60 * SEC),
      },
    ]);
  });

  it("returns an equal list (no timestamp churn) when nothing changed, so no status write is needed", () => {
    const first = withCondition(undefined, base, at(0));
    expect(withCondition(first, base, at(99 * SEC))).toEqual(first);
  });

  it("leaves other condition types alone and does not mutate its input", () => {
    const other: CanaryCondition = {
      type: "Ready",
      status: "True",
      reason: "x",
      lastTransitionTime: iso(-1),
    };
    const input = Object.freeze([Object.freeze(other)]);
    const out = withCondition(input, base, at(0));
    expect(out).toHaveLength(2);
    expect(out.find((c) => c.type === "Ready")).toEqual(other);
    expect(input).toHaveLength(1);
  });

  it("stamps a missing lastTransitionTime of an unchanged-status condition with now", () => {
    const legacy: CanaryCondition = {
      type: PROMOTED,
      status: "Unknown",
      reason: "Progressing",
      message: "old",
    };
    const out = withCondition([legacy], base, at(5 * SEC));
    expect(out[0]?.lastTransitionTime).toBe(iso(5 * SEC));
  });
});

describe("step and note", () => {
  it("step sets the phase fields, lastTransitionTime and a Promoted condition carrying the reason", () => {
    const next = step(
      { phase: "Progressing", canaryWeight: 10 },
      { phase: "Progressing", canaryWeight: 20 },
      "why",
      at(0),
    );
    expect(next).toMatchObject({ phase: "Progressing", canaryWeight: 20, lastTransitionTime: iso(0) });
    expect(next.conditions).toEqual([
      {
        type: PROMOTED,
        status: "Unknown",
        reason: "Progressing",
        message: "why",
        lastUpdateTime: iso(0),
        lastTransitionTime: iso(0),
      },
    ]);
  });

  it("note refreshes only the condition message: phase, weight and lastTransitionTime stay", () => {
    const s = step({}, { phase: "Progressing", canaryWeight: 10 }, "stepped", at(0));
    const n = note(s, "waiting", at(10 * SEC));
    expect(n.lastTransitionTime).toBe(iso(0));
    expect(n.canaryWeight).toBe(10);
    expect(n.conditions?.[0]).toMatchObject({
      message: "waiting",
      lastTransitionTime: iso(0),
      lastUpdateTime: iso(10 * SEC),
    });
  });
});

describe("Promoted condition through a whole run", () => {
  it("tracks the phases and keeps lastTransitionTime while the status stays Unknown", () => {
    const sim = Sim.initialized(catalogSpec(), "rev-1");
    const cond = () => sim.status.conditions?.find((c) => c.type === PROMOTED);
    expect(cond()).toMatchObject({
      status: "True",
      reason: "Initialized",
      message: "Initialization done! catalog.test",
    });
    const initializedAt = cond()?.lastTransitionTime;

    sim.target = target("rev-2", READY);
    sim.advance(30 * SEC).tick();
    const startedAt = sim.clock;
    expect(cond()).toMatchObject({ status: "Unknown", reason: "Progressing" });
    expect(cond()?.lastTransitionTime).toBe(new Date(startedAt).toISOString());
    expect(cond()?.lastTransitionTime).not.toBe(initializedAt);

    sim.runUntil("Promoting");
    sim.next(); // Finalising
    // still Unknown: the transition time is the start of the run, the message the latest reason
    expect(cond()).toMatchObject({
      status: "Unknown",
      lastTransitionTime: new Date(startedAt).toISOString(),
    });
    expect(cond()?.message).toBe("Routing all traffic to primary catalog-primary");

    sim.next();
    expect(sim.status.phase).toBe("Succeeded");
    expect(cond()).toMatchObject({
      status: "True",
      reason: "Succeeded",
      lastTransitionTime: new Date(sim.clock).toISOString(),
    });
    expect(sim.status.conditions?.filter((c) => c.type === PROMOTED)).toHaveLength(1);
  });

  it("is False with the failure in its message after a rollback", () => {
    const sim = Sim.initialized(catalogSpec({ analysis: { threshold: 2 } }), "rev-1");
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.metrics = ERRORS;
    sim.runUntil("Failed");
    const c = sim.status.conditions?.find((x) => x.type === PROMOTED);
    expect(c).toMatchObject({
      status: "False",
      reason: "Failed",
      lastTransitionTime: new Date(sim.clock).toISOString(),
    });
    expect(c?.message).toBe("Canary analysis failed: request-success-rate 97.10% < 99% (failed checks 2/2)");
  });
});
