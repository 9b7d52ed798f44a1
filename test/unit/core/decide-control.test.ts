// Runtime control (docs/control.md): promote, abort, retry, pause and resume requests, consumed once
// (status.control), in every phase they apply to and ignored with a reason elsewhere. The Sim hands the
// request to the core as world.request and removes it as the shell does once status.control has its id.
import { describe, expect, it } from "vitest";
import type { CanaryWebhook } from "../../../src/api/canary.js";
import { CanaryStatusSchema } from "../../../src/api/canary.js";
import { decide } from "../../../src/core/decide.js";
import { desiredRouting } from "../../../src/core/desired.js";
import { catalogSpec, ERRORS, HEALTHY, ID, primary, READY, REF, SEC, Sim, target, world } from "./sim.js";

const INTERVAL = 45 * SEC;
const spec = catalogSpec();
const hook = (type: CanaryWebhook["type"], name = String(type)): CanaryWebhook => ({
  name,
  type,
  url: `http://gate.test/${name}`,
});

/** A run of rev-2 at weight 10 (its first step), the next check an interval away. */
function running(s = spec): Sim {
  const sim = Sim.initialized(s, "rev-1");
  sim.target = target("rev-2", READY);
  sim.advance(SEC).tick(); // Progressing, weight 0
  sim.advance(SEC).tick(); // first step: weight 10
  expect(sim.status).toMatchObject({ phase: "Progressing", canaryWeight: 10 });
  return sim;
}

/** Follows the checks (one interval each) until the weight is reached. */
function toWeight(sim: Sim, weight: number): void {
  for (let i = 0; i < 20 && sim.status.canaryWeight !== weight; i++) sim.advance(INTERVAL).tick();
  expect(sim.status.canaryWeight).toBe(weight);
}

const eventReasons = (sim: Sim, from: number) =>
  sim.log.slice(from).flatMap((r) => r.decision.events.map((e) => `${e.type}/${e.reason}`));

describe("control: abort", () => {
  it("rolls a progressing run back at once, naming who and why, and records the request as done", () => {
    const sim = running(catalogSpec({ analysis: { webhooks: [hook("post-rollout", "notify")] } }));
    toWeight(sim, 20);
    const d = sim.ask("abort", { by: "alice", reason: "bad dashboard" });
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0 });
    expect(d.reason).toContain(`Rolling back ${ID}: aborted by alice: bad dashboard`);
    expect(d.events).toEqual([{ type: "Warning", reason: "Aborted", message: d.reason }]);
    expect(d.actions).toEqual([{ kind: "post-rollout" }]);
    expect(d.status.control).toEqual({
      id: "req-1",
      action: "abort",
      by: "alice",
      reason: "bad dashboard",
      at: sim.now.toISOString(),
      result: "done",
    });
    expect(desiredRouting(sim.spec, d.status).canaryWeight).toBe(0);
    expect(CanaryStatusSchema.safeParse(d.status).success).toBe(true);
    // consumed: the annotation is gone and the run stays failed on the same revision
    expect(sim.request).toBeUndefined();
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Failed");
  });

  it("rolls back while waiting for promotion approval", () => {
    const sim = running(catalogSpec({ analysis: { webhooks: [hook("confirm-promotion", "approve")] } }));
    sim.hooks["confirm-promotion"] = { ok: false, message: "approve: HTTP 403" };
    sim.runUntil("WaitingPromotion");
    const d = sim.ask("abort");
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0 });
    expect(d.events.map((e) => e.reason)).toEqual(["Aborted"]);
  });

  it("rejects a revision waiting for confirm-rollout: it does not come back until retried", () => {
    const sim = Sim.initialized(catalogSpec({ analysis: { webhooks: [hook("confirm-rollout", "ok")] } }));
    sim.hooks["confirm-rollout"] = { ok: false, message: "ok: HTTP 403" };
    sim.target = target("rev-2", READY);
    expect(sim.advance(SEC).tick().status.phase).toBe("Waiting");
    const d = sim.ask("abort");
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0, lastAppliedSpec: "rev-2" });
    expect(d.reason).not.toContain("served"); // no harm of an earlier run is blamed on this one
    const asked = sim.hookCalls.length;
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Failed");
    expect(sim.hookCalls.length).toBe(asked);
  });

  it("is ignored outside a run, and during a promotion, with the reason in status and a Warning", () => {
    const sim = Sim.initialized(spec);
    const before = sim.status;
    const d = sim.ask("abort");
    expect(d.status.phase).toBe("Initialized");
    expect(d.status.control?.result).toBe("ignored: no run in progress (phase Initialized)");
    expect(d.events).toEqual([
      {
        type: "Warning",
        reason: "RequestIgnored",
        message: "abort request by alice: testing ignored: no run in progress (phase Initialized)",
      },
    ]);
    const { control: _c, ...rest } = d.status;
    expect(rest).toEqual(before);
    expect(sim.request).toBeUndefined();

    const promoting = running();
    promoting.runUntil("Promoting");
    const p = promoting.ask("abort");
    expect(p.status.phase).toBe("Promoting");
    expect(p.status.control?.result).toMatch(
      /^ignored: the run passed analysis and catalog-primary is being promoted/,
    );
  });
});

describe("control: double, stale and odd requests", () => {
  it("a request whose id is already in status.control changes nothing (re-applied, or a crash before its removal)", () => {
    const sim = running();
    sim.ask("pause", { id: "p-1" });
    const after = structuredClone(sim.status);
    sim.request = { action: "pause", id: "p-1", by: "alice" }; // put back, as a GitOps tool would
    const d = sim.advance(SEC).tick();
    expect(d.events).toEqual([]);
    expect(d.status.control).toEqual(after.control);
    expect(sim.request).toBeUndefined(); // the shell removes it again
    // and abort twice: the second is ignored with a reason, the run stays failed
    sim.ask("abort", { id: "a-1" });
    const again = sim.ask("abort", { id: "a-2" });
    expect(again.status.phase).toBe("Failed");
    expect(again.status.control?.result).toBe("ignored: no run in progress (phase Failed)");
  });

  it("an unknown action is ignored, naming the ones there are", () => {
    const sim = running();
    const d = sim.ask("promot");
    expect(d.status.canaryWeight).toBe(10);
    expect(d.status.control?.result).toBe(
      'ignored: unknown action "promot": use promote, abort, retry, pause or resume',
    );
  });

  it("is ignored while spec.suspend is true, and while the Canary initializes", () => {
    const live = running();
    const sim = new Sim(catalogSpec({ spec: { suspend: true } }), {
      status: live.status,
      clock: live.clock,
      target: live.target,
      primary: live.primary ?? primary(),
    });
    const d = sim.ask("abort");
    expect(d.status).toMatchObject({ phase: "Progressing", canaryWeight: 10 });
    expect(d.status.control?.result).toMatch(/^ignored: spec.suspend is true/);
    const init = new Sim(spec);
    const i = init.ask("promote");
    expect(i.status.phase).toBeUndefined();
    expect(init.tick().status.phase).toBe("Initializing"); // and initialization goes on
    expect(i.status.control?.result).toBe("ignored: the Canary is initializing: there is no run to steer");
  });

  it("a decision on a request never asks for inputs (so it never has to be decided again)", () => {
    const setups: Array<[string, () => Sim]> = [
      [
        "Progressing",
        () => running(catalogSpec({ analysis: { webhooks: [hook("rollout"), hook("confirm-promotion")] } })),
      ],
      ["Initialized", () => Sim.initialized(spec)],
    ];
    for (const [, make] of setups) {
      for (const action of ["promote", "abort", "retry", "pause", "resume", "nope"]) {
        const sim = make();
        const d = decide(
          REF,
          sim.spec,
          sim.status,
          world({
            now: sim.clock + INTERVAL,
            target: target("rev-2"),
            request: { action, id: "x" },
          }),
        );
        expect([d.needsAnalysis, d.needsServed, d.needsHooks]).toEqual([false, false, []]);
        expect(d.status.control?.id).toBe("x");
      }
    }
  });
});

describe("control: promote", () => {
  it("while progressing: waits for the next passed check, then promotes skipping the remaining steps", () => {
    const sim = running();
    toWeight(sim, 20);
    const from = sim.log.length;
    const p = sim.ask("promote", { by: "bob", reason: "urgent fix" });
    expect(p.status).toMatchObject({ phase: "Progressing", canaryWeight: 20 });
    expect(p.status.control?.result).toBe(
      "pending: promotes at the next check that passes, skipping the remaining steps",
    );
    expect(p.status.run?.promoteRequested).toEqual({
      id: "req-1",
      by: "bob",
      reason: "urgent fix",
      at: sim.now.toISOString(),
    });
    expect(p.status.lastTransitionTime).toBe(sim.log[from - 1]?.decision.status.lastTransitionTime);
    // the check is still an interval after the last step: nothing happens before it
    expect(sim.advance(SEC).tick().status.phase).toBe("Progressing");
    const analyses = sim.analyses;
    const d = sim.runUntil("Promoting");
    expect(sim.analyses).toBe(analyses + 1);
    const last = d.at(-1);
    expect(last?.reason).toContain(
      `Promoting ${ID} on request by bob: urgent fix, skipping the remaining steps: check at weight 20 passed`,
    );
    expect(last?.events.map((e) => e.reason)).toEqual(["PromotedByRequest"]);
    expect(last?.status.control?.result).toBe("done");
    expect(sim.trail(from)).not.toContain("Progressing/30");
    expect(eventReasons(sim, from)).toEqual(["Normal/PromotionRequested", "Normal/PromotedByRequest"]);
    sim.runUntil("Succeeded");
    expect(sim.status.lastPromotedSpec).toBe("rev-2");
  });

  it("never promotes on a failing check: failures count, the next passed check promotes", () => {
    const sim = running();
    sim.ask("promote");
    sim.metrics = ERRORS;
    const failed = sim.advance(INTERVAL).tick();
    expect(failed.status).toMatchObject({ phase: "Progressing", canaryWeight: 10, failedChecks: 1 });
    expect(failed.status.run?.promoteRequested?.id).toBe("req-1");
    sim.metrics = HEALTHY;
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Promoting");
  });

  it("before the first step: the first step goes as usual and the first check that passes promotes", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", READY);
    expect(sim.advance(SEC).tick().status).toMatchObject({ phase: "Progressing", canaryWeight: 0 });
    sim.ask("promote");
    expect(sim.advance(SEC).tick().status).toMatchObject({ phase: "Progressing", canaryWeight: 10 });
    expect(sim.status.run?.promoteRequested).toBeDefined();
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Promoting");
  });

  it("waiting for promotion approval after a passed check: approves at once (the gate opens once)", () => {
    const sim = running(catalogSpec({ analysis: { webhooks: [hook("confirm-promotion", "approve")] } }));
    sim.hooks["confirm-promotion"] = { ok: false, message: "approve: HTTP 403" };
    sim.runUntil("WaitingPromotion");
    const asked = sim.hookCalls.length;
    const d = sim.ask("promote", { by: "carol" });
    expect(d.status.phase).toBe("Promoting");
    expect(d.reason).toMatch(/^Promotion of catalog.test approved by carol: testing: copying catalog.test/);
    expect(d.events.map((e) => e.reason)).toEqual(["PromotedByRequest"]);
    expect(sim.hookCalls.length).toBe(asked);
    sim.runUntil("Succeeded");
  });

  it("waiting for promotion approval after a failed check: promotes at the next passed check", () => {
    const sim = running(catalogSpec({ analysis: { webhooks: [hook("confirm-promotion", "approve")] } }));
    sim.hooks["confirm-promotion"] = { ok: false, message: "approve: HTTP 403" };
    sim.runUntil("WaitingPromotion");
    sim.metrics = ERRORS;
    expect(sim.advance(INTERVAL).tick().status).toMatchObject({ phase: "WaitingPromotion", failedChecks: 1 });
    const p = sim.ask("promote");
    expect(p.status.phase).toBe("WaitingPromotion");
    expect(p.status.control?.result).toMatch(/^pending/);
    sim.metrics = HEALTHY;
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Promoting");
  });

  it("waiting for confirm-rollout: starts the run once; the run is analysed as any other", () => {
    const sim = Sim.initialized(catalogSpec({ analysis: { webhooks: [hook("confirm-rollout", "ok")] } }));
    sim.hooks["confirm-rollout"] = { ok: false, message: "ok: HTTP 403" };
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    const d = sim.ask("promote", { by: "dave", reason: undefined });
    expect(d.status).toMatchObject({ phase: "Progressing", canaryWeight: 0, lastAppliedSpec: "rev-2" });
    expect(d.events).toEqual([
      {
        type: "Normal",
        reason: "RolloutApproved",
        message: `Rollout of ${ID} approved by dave: scaling up catalog.test`,
      },
    ]);
    const from = sim.log.length;
    sim.runUntil("Promoting");
    expect(sim.trail(from)).toContain("Progressing/50");
  });

  it("under the sequential judge: waives the wait for promotion evidence, not the thresholds", () => {
    const seq = catalogSpec({
      analysis: { judge: { mode: "sequential" } },
      spec: { progressDeadlineSeconds: 600 },
    });
    const sim = running(seq);
    let d = sim.log.at(-1)?.decision;
    for (
      let i = 0;
      i < 60 && !(d?.status.canaryWeight === 50 && d.status.run?.checks?.at(-1)?.hold === "promotion");
      i++
    )
      d = sim.next();
    expect(d?.status).toMatchObject({ phase: "Progressing", canaryWeight: 50 });
    expect(d?.status.run?.checks?.at(-1)?.hold).toBe("promotion");
    sim.ask("promote");
    sim.metrics = ERRORS;
    let failed = sim.next();
    while (sim.status.failedChecks === 0) failed = sim.next();
    expect(failed.status.phase).toBe("Progressing"); // a failing check never promotes
    sim.metrics = HEALTHY;
    const promoted = sim.runUntil("Promoting").at(-1);
    expect(promoted?.reason).toContain("on request by alice: testing");
    expect(promoted?.status.run?.checks?.at(-1)?.verdict).toBe("passed");
  });

  it("is ignored outside a run", () => {
    const sim = Sim.initialized(spec);
    expect(sim.ask("promote").status.control?.result).toBe("ignored: no run in progress (phase Initialized)");
  });
});

describe("control: retry", () => {
  function failedRun(): Sim {
    const sim = running();
    sim.metrics = ERRORS;
    sim.runUntil("Failed");
    sim.metrics = HEALTHY;
    return sim;
  }

  it("re-runs the analysis of the failed revision from weight 0, without touching the pod template", () => {
    const sim = failedRun();
    // without a request a failed revision stays failed
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Failed");
    const from = sim.log.length;
    const d = sim.ask("retry", { by: "erin", reason: "flaky dependency fixed" });
    expect(d.status).toMatchObject({
      phase: "Progressing",
      canaryWeight: 0,
      failedChecks: 0,
      iterations: 0,
      lastAppliedSpec: "rev-2",
      lastPromotedSpec: "rev-1",
    });
    expect(d.status.run?.revision).toBe("rev-2");
    expect(d.status.run?.checks).toBeUndefined();
    expect(d.events).toEqual([
      {
        type: "Normal",
        reason: "Retried",
        message: `Retrying the analysis of ${ID} by erin: flaky dependency fixed: scaling up catalog.test`,
      },
    ]);
    expect(sim.target?.revision).toBe("rev-2");
    sim.runUntil("Succeeded");
    expect(sim.status.lastPromotedSpec).toBe("rev-2");
    expect(sim.trail(from)).toContain("Progressing/50");
  });

  it("a retried run that fails again can be retried again; a stale retry is harmless", () => {
    const sim = failedRun();
    sim.ask("retry", { id: "r-1" });
    sim.metrics = ERRORS;
    sim.runUntil("Failed");
    sim.metrics = HEALTHY;
    sim.request = { action: "retry", id: "r-1" }; // the first one, re-applied
    expect(sim.advance(SEC).tick().status.phase).toBe("Failed");
    expect(sim.ask("retry", { id: "r-2" }).status.phase).toBe("Progressing");
  });

  it("is ignored while a run is in progress, and when the target went back to the promoted revision", () => {
    const sim = running();
    expect(sim.ask("retry").status.control?.result).toBe(
      "ignored: only a failed run can be retried (phase Progressing)",
    );
    const failed = failedRun();
    failed.target = target("rev-1", READY);
    expect(failed.ask("retry").status.control?.result).toBe(
      "ignored: the target runs the promoted revision again: there is nothing to retry",
    );
    expect(failed.status.phase).toBe("Failed");
  });
});

describe("control: pause and resume", () => {
  it("pause holds the weight across intervals while checks go on; resume continues an interval later", () => {
    const sim = running();
    toWeight(sim, 20);
    const from = sim.log.length;
    const p = sim.ask("pause", { by: "frank", reason: "watching a dashboard" });
    expect(p.status.paused).toBe(true);
    expect(p.events).toEqual([
      {
        type: "Normal",
        reason: "Paused",
        message: `Paused ${ID} at weight 20 by frank: watching a dashboard: checks go on and failures still roll back, the weight holds until resume`,
      },
    ]);
    const analyses = sim.analyses;
    for (let i = 0; i < 4; i++) {
      const d = sim.advance(INTERVAL).tick();
      expect(d.status).toMatchObject({ phase: "Progressing", canaryWeight: 20, paused: true });
      expect(d.reason).toContain(`${ID} is paused by frank: watching a dashboard`);
      expect(d.events).toEqual([]);
    }
    expect(sim.analyses).toBe(analyses + 4);
    const r = sim.ask("resume", { by: "frank" });
    expect(r.status.paused).toBeUndefined();
    expect(r.status.lastTransitionTime).toBe(sim.now.toISOString());
    expect(r.events.map((e) => e.reason)).toEqual(["Resumed"]);
    expect(sim.advance(INTERVAL - SEC).tick().status.canaryWeight).toBe(20);
    expect(sim.advance(SEC).tick().status.canaryWeight).toBe(30);
    expect(sim.trail(from).every((t) => t === "Progressing/20" || t === "Progressing/30")).toBe(true);
    expect(eventReasons(sim, from)).toEqual(["Normal/Paused", "Normal/Resumed", "Normal/Progressing"]);
  });

  it("a failing canary still rolls back while paused, and the rollback ends the pause", () => {
    const sim = running();
    sim.ask("pause");
    sim.metrics = ERRORS;
    const d = sim.runUntil("Failed").at(-1);
    expect(d?.status.canaryWeight).toBe(0);
    expect(d?.status.paused).toBeUndefined();
  });

  it("paused before the first step: no traffic until resume", () => {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.ask("pause");
    for (let i = 0; i < 3; i++) expect(sim.advance(INTERVAL).tick().status.canaryWeight).toBe(0);
    sim.ask("resume");
    expect(sim.advance(SEC).tick().status.canaryWeight).toBe(10);
  });

  it("paused while waiting for promotion approval: a promote request waits for resume", () => {
    const sim = running(catalogSpec({ analysis: { webhooks: [hook("confirm-promotion", "approve")] } }));
    sim.hooks["confirm-promotion"] = { ok: false, message: "approve: HTTP 403" };
    sim.runUntil("WaitingPromotion");
    sim.ask("pause");
    const p = sim.ask("promote");
    expect(p.status.control?.result).toBe(
      "pending: promotes at the first check that passes after resume, skipping the remaining steps",
    );
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("WaitingPromotion");
    sim.ask("resume");
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Promoting");
  });

  it("pause twice, resume when not paused, pause outside a run: ignored with a reason", () => {
    const sim = running();
    sim.ask("pause");
    expect(sim.ask("pause").status.control?.result).toBe("ignored: already paused");
    expect(sim.status.paused).toBe(true);
    sim.ask("resume");
    expect(sim.ask("resume").status.control?.result).toBe("ignored: not paused");
    const idle = Sim.initialized(spec);
    expect(idle.ask("pause").status.control?.result).toBe("ignored: no run in progress (phase Initialized)");
    expect(idle.status.paused).toBeUndefined();
  });

  it("paused while waiting for confirm-rollout: the run does not start until resume", () => {
    const sim = Sim.initialized(catalogSpec({ analysis: { webhooks: [hook("confirm-rollout", "ok")] } }));
    sim.hooks["confirm-rollout"] = { ok: false, message: "ok: HTTP 403" };
    sim.target = target("rev-2", READY);
    sim.advance(SEC).tick();
    sim.ask("pause");
    sim.hooks["confirm-rollout"] = { ok: true, message: "ok: HTTP 200" };
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Waiting");
    sim.ask("resume");
    expect(sim.advance(INTERVAL).tick().status.phase).toBe("Progressing");
  });
});
