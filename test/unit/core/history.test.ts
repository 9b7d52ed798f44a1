import { describe, expect, it } from "vitest";
import { type CanaryStatus, CanaryStatusSchema, type HistoryEntry } from "../../../src/api/canary.js";
import { HISTORY_REASON_MAX, HISTORY_SIZE, withRunEnded } from "../../../src/core/history.js";

const now = new Date("2026-11-27T20:10:00Z");

const running: CanaryStatus = {
  phase: "Progressing",
  canaryWeight: 30,
  failedChecks: 1,
  lastAppliedSpec: "rev-b",
  lastPromotedSpec: "rev-a",
  run: {
    revision: "rev-b",
    image: "docker.io/istioinaction/catalog:v3",
    trafficSince: "2026-11-27T20:05:00Z",
    canary: { requests: 221, errors: 34, slow: 5 },
    slowerThanMs: 500,
  },
};

const failed = (s: CanaryStatus): CanaryStatus => ({
  ...s,
  phase: "Failed",
  canaryWeight: 0,
  failedChecks: 5,
});

describe("withRunEnded", () => {
  it("records a rolled-back run with its harm, weight reached, duration and reason", () => {
    const next = withRunEnded(running, failed(running), { reason: "request-success-rate 80% < 99%", now });
    expect(next.history).toEqual([
      {
        run: 1,
        revision: "rev-b",
        image: "docker.io/istioinaction/catalog:v3",
        outcome: "Failed",
        startedAt: "2026-11-27T20:05:00Z",
        endedAt: "2026-11-27T20:10:00.000Z",
        durationSeconds: 300,
        canaryWeight: 30,
        failedChecks: 5,
        canary: { requests: 221, errors: 34, slow: 5 },
        slowerThanMs: 500,
        reason: "request-success-rate 80% < 99%",
      },
    ]);
    expect(CanaryStatusSchema.parse(next)).toEqual(next);
  });

  it("records a promotion as Succeeded", () => {
    const before: CanaryStatus = { ...running, phase: "Finalising", canaryWeight: 0, failedChecks: 0 };
    const after: CanaryStatus = { ...before, phase: "Succeeded" };
    const [entry] = withRunEnded(before, after, { reason: "Promotion completed!", now }).history ?? [];
    expect(entry?.outcome).toBe("Succeeded");
    expect(entry?.failedChecks).toBe(0);
  });

  it("is idempotent: the same run end recorded twice is one entry", () => {
    const once = withRunEnded(running, failed(running), { reason: "r", now });
    expect(withRunEnded(running, once, { reason: "r", now })).toBe(once);
    // Decided again from the ended status: not running any more, nothing to record.
    expect(withRunEnded(once, once, { reason: "r", now: new Date(now.getTime() + 5000) })).toBe(once);
  });

  it("is idempotent for a run that never had traffic", () => {
    const { trafficSince: _t, canary: _c, ...run } = running.run ?? { revision: "" };
    const before: CanaryStatus = { ...running, canaryWeight: 0, run };
    const once = withRunEnded(before, failed(before), { reason: "canary not ready", now });
    expect(once.history).toHaveLength(1);
    expect(once.history?.[0]?.startedAt).toBeUndefined();
    expect(once.history?.[0]?.durationSeconds).toBeUndefined();
    expect(withRunEnded(before, once, { reason: "canary not ready", now })).toBe(once);
    // The same revision failing again later (a retry) is another run.
    const later = new Date(now.getTime() + 60_000);
    const again = withRunEnded({ ...before, history: once.history }, failed(once), {
      reason: "again",
      now: later,
    });
    expect(again.history?.map((h) => h.run)).toEqual([1, 2]);
  });

  it("takes the counts from the ending status when it updates the same run", () => {
    const after: CanaryStatus = {
      ...failed(running),
      run: { ...(running.run ?? { revision: "" }), canary: { requests: 300, errors: 60 } },
    };
    const [entry] = withRunEnded(running, after, { reason: "regression", now }).history ?? [];
    expect(entry?.canary).toEqual({ requests: 300, errors: 60 });
  });

  it("records a superseded run from the status before the restart", () => {
    const restarted: CanaryStatus = {
      ...running,
      canaryWeight: 0,
      lastAppliedSpec: "rev-c",
      run: { revision: "rev-c" },
    };
    const next = withRunEnded(running, restarted, { reason: "new revision", now, outcome: "Superseded" });
    expect(next.history?.[0]).toMatchObject({ revision: "rev-b", outcome: "Superseded", canaryWeight: 30 });
    expect(next.run).toEqual({ revision: "rev-c" });
  });

  it("does not take a record left from another revision for this run", () => {
    const stale: CanaryStatus = { ...running, lastAppliedSpec: "rev-c" };
    const [entry] = withRunEnded(stale, failed(stale), { reason: "r", now }).history ?? [];
    expect(entry).toMatchObject({ revision: "rev-c", outcome: "Failed", canaryWeight: 30 });
    expect(entry?.canary).toBeUndefined();
    expect(entry?.startedAt).toBeUndefined();
  });

  it("records nothing when no run was under way or the run does not end", () => {
    const waiting: CanaryStatus = { ...running, phase: "Waiting" };
    expect(withRunEnded(waiting, failed(waiting), { reason: "r", now })).toEqual(failed(waiting));
    const advanced: CanaryStatus = { ...running, canaryWeight: 40 };
    expect(withRunEnded(running, advanced, { reason: "r", now })).toBe(advanced);
    const noRun: CanaryStatus = { phase: "Progressing" };
    expect(withRunEnded(noRun, { phase: "Failed" }, { reason: "r", now }).history).toBeUndefined();
  });

  it("keeps the latest runs only, numbering on past the dropped ones", () => {
    let status: CanaryStatus = { ...running, history: [] };
    for (let i = 0; i < HISTORY_SIZE + 5; i++) {
      const at = new Date(now.getTime() + i * 60_000);
      const before: CanaryStatus = {
        ...status,
        phase: "Progressing",
        lastAppliedSpec: `rev-${i}`,
        run: { revision: `rev-${i}`, trafficSince: new Date(at.getTime() - 30_000).toISOString() },
      };
      status = withRunEnded(
        before,
        { ...before, phase: i % 2 ? "Failed" : "Succeeded" },
        { reason: `${i}`, now: at },
      );
    }
    const history = status.history ?? [];
    expect(history).toHaveLength(HISTORY_SIZE);
    expect(history.map((h: HistoryEntry) => h.run)).toEqual(
      Array.from({ length: HISTORY_SIZE }, (_, i) => i + 6),
    );
    expect(history.at(-1)?.revision).toBe(`rev-${HISTORY_SIZE + 4}`);
  });

  it("shortens a long reason and stays small", () => {
    const next = withRunEnded(running, failed(running), { reason: "x".repeat(5000), now });
    expect(next.history?.[0]?.reason).toHaveLength(HISTORY_REASON_MAX);
    expect(next.history?.[0]?.reason.endsWith("…")).toBe(true);
    expect(JSON.stringify(next.history?.[0]).length).toBeLessThan(1000);
  });
});
