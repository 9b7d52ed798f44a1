// Flagger's webhooks as gates: approvals hold a run where it is, load tests and rollout hooks count as
// checks, a rollback hook ends the run, and post-rollout hooks are told the outcome.
import { describe, expect, it } from "vitest";
import type { CanaryWebhook } from "../../../src/api/canary.js";
import { desiredCanaryScale, desiredRouting } from "../../../src/core/desired.js";
import { catalogSpec, READY, SEC, Sim, target } from "./sim.js";

const INTERVAL = 45 * SEC;
const hook = (type: CanaryWebhook["type"], name = type ?? "hook"): CanaryWebhook => ({
  name: String(name),
  type,
  url: `http://gate.test/${String(name)}`,
});

function runWith(webhooks: CanaryWebhook[]): Sim {
  const sim = Sim.initialized(catalogSpec({ analysis: { webhooks } }), "rev-1");
  sim.target = target("rev-2", READY);
  return sim;
}

describe("decide: webhooks", () => {
  it("confirm-rollout: waits (canary not scaled up, no traffic) until the gate opens, then starts the run", () => {
    const sim = runWith([hook("confirm-rollout", "approve")]);
    sim.hooks["confirm-rollout"] = { ok: false, message: "approve: HTTP 403" };
    const waiting = sim.advance(SEC).tick();
    expect(waiting.status.phase).toBe("Waiting");
    expect(waiting.reason).toContain("waiting for approval: approve: HTTP 403");
    expect(desiredCanaryScale(waiting.status)).toBe("zero");
    expect(desiredRouting(sim.spec, waiting.status).canaryWeight).toBe(0);
    // Still closed an interval later: still waiting, no new event.
    const again = sim.advance(INTERVAL).tick();
    expect(again.status.phase).toBe("Waiting");
    expect(again.events).toEqual([]);
    sim.hooks["confirm-rollout"] = { ok: true, message: "approve: HTTP 200" };
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Progressing");
    expect(sim.hookCalls.filter((t) => t === "confirm-rollout")).toHaveLength(3);
  });

  it("pre-rollout: a failing load test before any traffic counts as a failed check", () => {
    const sim = runWith([hook("pre-rollout", "smoke")]);
    sim.hooks["pre-rollout"] = { ok: false, message: "smoke: HTTP 500" };
    sim.advance(SEC).tick(); // Progressing, weight 0
    const d = sim.advance(SEC).tick();
    expect(d.status.canaryWeight).toBe(0);
    expect(d.status.failedChecks).toBe(1);
    expect(d.reason).toContain("pre-rollout webhook failed: smoke: HTTP 500 (failed checks 1/5)");
  });

  it("rollout: runs before every check and a failure is a failed check even when the metrics pass", () => {
    const sim = runWith([hook("rollout", "load-test")]);
    sim.advance(SEC).tick();
    expect(sim.advance(SEC).tick().status.canaryWeight).toBe(10);
    sim.hooks.rollout = { ok: false, message: "load-test: ECONNREFUSED" };
    const d = sim.advance(INTERVAL).tick();
    expect(d.status.canaryWeight).toBe(10);
    expect(d.status.failedChecks).toBe(1);
    expect(d.reason).toContain("rollout webhook failed: load-test: ECONNREFUSED");
    expect(sim.analyses).toBe(1); // the metrics were queried alongside, in the same pass
  });

  it("rollback: a hook answering 200 during the analysis rolls back at once", () => {
    const sim = runWith([hook("rollback", "manual")]);
    sim.hooks.rollback = { ok: false, message: "manual: HTTP 404" };
    sim.advance(SEC).tick();
    sim.advance(SEC).tick();
    expect(sim.advance(INTERVAL).tick().status.canaryWeight).toBe(20);
    sim.hooks.rollback = { ok: true, message: "manual: HTTP 200" };
    const d = sim.advance(INTERVAL).tick();
    expect(d.status.phase).toBe("Failed");
    expect(d.reason).toContain("a rollback webhook asked for it");
  });

  it("confirm-traffic-increase: holds the weight until approved, without counting a failure", () => {
    const sim = runWith([hook("confirm-traffic-increase", "step-gate")]);
    sim.hooks["confirm-traffic-increase"] = { ok: false, message: "step-gate: HTTP 403" };
    sim.advance(SEC).tick();
    const held = sim.advance(SEC).tick();
    expect(held.status.canaryWeight).toBe(0);
    expect(held.status.failedChecks ?? 0).toBe(0);
    expect(held.reason).toContain("waiting for approval to increase traffic to 10");
    sim.hooks["confirm-traffic-increase"] = { ok: true, message: "step-gate: HTTP 200" };
    expect(sim.advance(INTERVAL).tick().status.canaryWeight).toBe(10);
  });

  it("confirm-promotion: WaitingPromotion keeps the traffic split and the checks going, then promotes when approved", () => {
    const sim = runWith([hook("confirm-promotion", "release-manager")]);
    sim.hooks["confirm-promotion"] = { ok: false, message: "release-manager: HTTP 403" };
    sim.runUntil("WaitingPromotion");
    expect(sim.status.canaryWeight).toBe(50);
    expect(desiredRouting(sim.spec, sim.status)).toMatchObject({ primaryWeight: 50, canaryWeight: 50 });
    const analysesBefore = sim.analyses;
    sim.next();
    expect(sim.status.phase).toBe("WaitingPromotion");
    expect(sim.analyses).toBe(analysesBefore + 1);
    sim.hooks["confirm-promotion"] = { ok: true, message: "release-manager: HTTP 200" };
    const d = sim.next();
    expect(d.status.phase).toBe("Promoting");
    expect(d.status.phase).toBe("Promoting"); // the shell copies the template in this phase
  });

  it("post-rollout: asked to notify when a run ends, only when such hooks exist", () => {
    const withHook = runWith([hook("post-rollout", "notify")]);
    const ended = withHook.runUntil("Succeeded");
    expect(ended[ended.length - 1]?.actions).toEqual([{ kind: "post-rollout" }]);
    const without = runWith([]);
    const plain = without.runUntil("Succeeded");
    expect(plain[plain.length - 1]?.actions).toEqual([]);
  });

  it("a failing pre-rollout hook is retried an interval later, not on the watch event of its own status write", () => {
    const sim = runWith([hook("pre-rollout", "smoke")]);
    sim.hooks["pre-rollout"] = { ok: false, message: "smoke: HTTP 500" };
    sim.advance(SEC).tick();
    expect(sim.advance(SEC).tick().status.failedChecks).toBe(1);
    const soon = sim.advance(100).tick(); // our status write comes back as an event right away
    expect(soon.status.failedChecks).toBe(1);
    expect(soon.requeueAfterMs).toBeGreaterThan(40 * SEC);
    expect(sim.hookCalls.filter((t) => t === "pre-rollout")).toHaveLength(1);
    expect(sim.advance(INTERVAL).tick().status.failedChecks).toBe(2);
  });

  it("a closed traffic gate at weight 0 and a closed promotion gate with skipAnalysis do not loop", () => {
    const gated = runWith([hook("confirm-traffic-increase", "step-gate")]);
    gated.hooks["confirm-traffic-increase"] = { ok: false, message: "step-gate: HTTP 403" };
    gated.advance(SEC).tick();
    const held = gated.advance(SEC).tick();
    const again = gated.advance(100).tick();
    expect(again.status).toEqual(held.status); // nothing new to write, so no watch event to loop on
    expect(held.requeueAfterMs).toBe(INTERVAL);

    const sim = Sim.initialized(
      catalogSpec({
        analysis: { webhooks: [hook("confirm-promotion", "rm")] },
        spec: { skipAnalysis: true },
      }),
      "rev-1",
    );
    sim.target = target("rev-2", READY);
    sim.hooks["confirm-promotion"] = { ok: false, message: "rm: HTTP 403" };
    sim.advance(SEC).tick(); // Progressing
    expect(sim.advance(SEC).tick().status.phase).toBe("WaitingPromotion");
    const asked = sim.hookCalls.length;
    sim.advance(100).tick();
    sim.advance(100).tick();
    expect(sim.hookCalls.length).toBe(asked);
    sim.hooks["confirm-promotion"] = { ok: true, message: "rm: HTTP 200" };
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Promoting");
  });
});
