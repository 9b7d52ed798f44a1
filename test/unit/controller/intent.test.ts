import { describe, expect, it } from "vitest";
import type { CanaryStatus } from "../../../src/api/canary.js";
import { CanaryStatusSchema } from "../../../src/api/canary.js";
import { composeIntent } from "../../../src/controller/intent.js";
import type { Decision } from "../../../src/core/decision.js";
import { DECISION_LOG_SIZE, recordDecision, unreported } from "../../../src/core/decision-log.js";

const NOW = new Date("2026-12-01T12:00:00Z");

function decision(status: CanaryStatus, over: Partial<Decision> = {}): Decision {
  return {
    status,
    actions: [],
    events: [],
    reason: "why",
    requeueAfterMs: undefined,
    needsAnalysis: false,
    needsHooks: [],
    needsServed: false,
    ...over,
  };
}

const step: CanaryStatus = { phase: "Progressing", canaryWeight: 20 };

describe("composeIntent: the status a reconcile records", () => {
  it("records the decision's status with its events in the decision log, and Ready=True", () => {
    const event = { type: "Normal" as const, reason: "Progressing", message: "Advance weight 20" };
    const next = composeIntent({
      before: { phase: "Progressing", canaryWeight: 10 },
      decision: decision(step, { events: [event], reason: "Advance weight 20" }),
      obstacle: undefined,
      notes: [],
      generation: 3,
      reportedSeq: undefined,
      now: NOW,
    });
    expect(next).toMatchObject({ phase: "Progressing", canaryWeight: 20, observedGeneration: 3 });
    expect(next.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "Reconciled",
    });
    expect(next.decisions).toEqual([
      {
        seq: 1,
        time: NOW.toISOString(),
        phase: "Progressing",
        canaryWeight: 20,
        reason: "Advance weight 20",
        events: [event],
      },
    ]);
    expect(unreported(next).map((d) => d.seq)).toEqual([1]);
    expect(CanaryStatusSchema.safeParse(next).success).toBe(true);
  });

  it("an obstacle keeps the old status (no step the world cannot follow) and is told once", () => {
    const before: CanaryStatus = { phase: "Progressing", canaryWeight: 10 };
    const obstacle = {
      reason: "Blocked" as const,
      message: "VirtualService catalog is owned by someone else",
    };
    const first = composeIntent({
      before,
      decision: decision(step),
      obstacle,
      notes: [],
      generation: 1,
      reportedSeq: undefined,
      now: NOW,
    });
    expect(first.canaryWeight).toBe(10);
    expect(first.conditions?.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "Blocked",
      message: obstacle.message,
    });
    expect(first.decisions?.[0]?.events).toEqual([
      { type: "Warning", reason: "Blocked", message: obstacle.message },
    ]);
    const again = composeIntent({
      before: { ...first, reportedSeq: 1 },
      decision: undefined,
      obstacle,
      notes: [],
      generation: 1,
      reportedSeq: 1,
      now: NOW,
    });
    expect(again.decisions).toHaveLength(1); // nothing new to tell
    expect(unreported(again)).toEqual([]);
  });

  it("post-rollout hooks are recorded with the decision that ends the run", () => {
    const next = composeIntent({
      before: step,
      decision: decision({ phase: "Failed", canaryWeight: 0 }, { actions: [{ kind: "post-rollout" }] }),
      obstacle: undefined,
      notes: [],
      generation: 1,
      reportedSeq: undefined,
      now: NOW,
    });
    expect(next.decisions?.[0]?.postRollout).toBe(true);
  });

  it("never lowers reportedSeq, and takes the reporter's when it knows more", () => {
    const before: CanaryStatus = { ...step, reportedSeq: 4 };
    const a = composeIntent({
      before,
      decision: decision(step),
      obstacle: undefined,
      notes: [],
      generation: 1,
      reportedSeq: 2,
      now: NOW,
    });
    expect(a.reportedSeq).toBe(4);
    const b = composeIntent({
      before,
      decision: decision(step),
      obstacle: undefined,
      notes: [],
      generation: 1,
      reportedSeq: 6,
      now: NOW,
    });
    expect(b.reportedSeq).toBe(6);
  });
});

describe("decision log", () => {
  it("numbers records after everything reported or kept, and keeps a bounded tail", () => {
    let status: CanaryStatus = { phase: "Progressing" };
    for (let i = 0; i < DECISION_LOG_SIZE + 5; i++) {
      status = recordDecision(
        status,
        { reason: `r${i}`, events: [{ type: "Normal", reason: "X", message: `m${i}` }], postRollout: false },
        NOW,
      );
    }
    expect(status.decisions).toHaveLength(DECISION_LOG_SIZE);
    expect(status.decisions?.[0]?.seq).toBe(6);
    expect(status.decisions?.at(-1)?.seq).toBe(DECISION_LOG_SIZE + 5);
    // After a restart with everything reported and the log emptied, numbering never reuses a seq.
    const fresh = recordDecision(
      { reportedSeq: 30 },
      { reason: "x", events: [{ type: "Normal", reason: "X", message: "y" }], postRollout: false },
      NOW,
    );
    expect(fresh.decisions?.[0]?.seq).toBe(31);
  });

  it("a decision with nothing to tell adds no record", () => {
    const status: CanaryStatus = { phase: "Progressing" };
    expect(recordDecision(status, { reason: "next check at ...", events: [], postRollout: false }, NOW)).toBe(
      status,
    );
  });
});

describe("composeIntent: no loop on our own writes", () => {
  it("an obstacle with notes settles: the second reconcile records nothing new and writes the same status", () => {
    const obstacle = {
      reason: "Blocked" as const,
      message: "Deployment catalog is already the target of Canary a",
    };
    const notes = ["configmap settings used by catalog does not exist: create it"];
    let status: CanaryStatus = { phase: "Initialized" };
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      status = composeIntent({
        before: status,
        decision: undefined,
        obstacle,
        notes,
        generation: 1,
        reportedSeq: undefined,
        now: NOW,
      });
      seen.push(JSON.stringify(status));
    }
    expect(new Set(seen.slice(1)).size).toBe(1);
    expect(status.decisions).toHaveLength(1);
    expect(status.decisions?.[0]?.events.map((e) => e.reason)).toEqual(["Blocked", "Synced"]);
    expect(status.conditions?.find((c) => c.type === "Ready")?.message).toBe(
      `${obstacle.message}; ${notes[0]}`,
    );
  });
});
