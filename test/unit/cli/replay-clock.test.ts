// The replay's virtual clock and its pure helpers: moving to each decision's requeue, and following the
// recorded check times where the controller's checks came a little after they were due.
import { describe, expect, it } from "vitest";
import type { CanaryStatus, CheckRecord } from "../../../src/api/canary.js";
import type { EffectiveSpec } from "../../../src/api/defaults.js";
import {
  analysisDueAt,
  offsetSeconds,
  ReplayClock,
  recordedTimeNear,
  runSpan,
} from "../../../src/cli/replay/clock.js";
import { nearestRecorded, sameOutcome } from "../../../src/cli/replay/compare.js";
import { finishedOutcome, weightReached } from "../../../src/cli/replay/steps.js";

const T0 = Date.parse("2026-12-02T10:00:00Z");
const ms = (s: number) => T0 + s * 1000;
const at = (s: number) => new Date(ms(s)).toISOString();

/** Only what the clock reads of the spec: a 10 s interval. */
const spec = { analysis: { intervalMs: 10_000 } } as EffectiveSpec;

const check = (s: number): CheckRecord => ({ time: at(s), canaryWeight: 10, verdict: "passed", metrics: [] });

/** A status whose last step was at `s` seconds: the next check is due an interval later. */
const steppedAt = (s: number): CanaryStatus => ({ phase: "Progressing", lastTransitionTime: at(s) });

describe("the run's time frame", () => {
  it("measures offsets from the traffic start, to a tenth of a second", () => {
    const span = runSpan({ startedAt: at(0), endedAt: at(20.4) });
    expect(span).toEqual({ start: ms(0), end: ms(20.4) });
    expect(offsetSeconds(span, ms(10.24))).toBe(10.2);
    expect(offsetSeconds(span, ms(10.26))).toBe(10.3);
  });

  it("refuses a run without a start or end time", () => {
    expect(() => runSpan({ startedAt: "", endedAt: at(1) })).toThrow("the run has no start or end time");
  });

  it("a check is due an interval after the last step (from the epoch when there was none)", () => {
    expect(analysisDueAt(steppedAt(0), 10_000)).toBe(ms(10));
    expect(analysisDueAt({}, 10_000)).toBe(10_000);
  });
});

describe("following the recorded check times", () => {
  const times = [ms(10.2), ms(20.4), ms(31)];

  it("takes the first recorded time at or within the tolerance after the due moment", () => {
    expect(recordedTimeNear(ms(10), times, new Set(), 5_000)).toBe(0);
    expect(recordedTimeNear(ms(20.4), times, new Set(), 5_000)).toBe(1);
  });

  it("never a time before the due moment, one too far after it, or one already followed", () => {
    // 10.2 is before 10.3, 20.4 more than 5 s after it.
    expect(recordedTimeNear(ms(10.3), times, new Set(), 5_000)).toBe(-1);
    expect(recordedTimeNear(ms(10.3), times, new Set(), 10_100)).toBe(1);
    expect(recordedTimeNear(ms(10), times, new Set([0]), 5_000)).toBe(-1);
  });
});

describe("the replay clock", () => {
  it("moves by the requeue, or by an interval when the decision asks none", () => {
    const clock = new ReplayClock(spec, []);
    expect(clock.next(ms(0), 2_000, steppedAt(0))).toBe(ms(2));
    expect(clock.next(ms(0), undefined, steppedAt(0))).toBe(ms(10));
    expect(clock.next(ms(0), 0, steppedAt(0))).toBe(ms(0) + 1);
  });

  it("at a due check, takes the recorded time within half an interval after it, each once", () => {
    const clock = new ReplayClock(spec, [check(10.2), check(20.4)]);
    expect(clock.next(ms(0), 10_000, steppedAt(0))).toBe(ms(10.2));
    expect(clock.next(ms(10.2), 10_000, steppedAt(0))).toBe(ms(20.4));
    // 20.4 was followed already: the nominal interval.
    expect(clock.next(ms(10.4), 10_000, steppedAt(0))).toBe(ms(20.4));
    expect(clock.next(ms(15), 10_000, steppedAt(0))).toBe(ms(25));
  });

  it("does not follow a recorded time more than half an interval away", () => {
    const clock = new ReplayClock(spec, [check(16)]);
    expect(clock.next(ms(0), 10_000, steppedAt(0))).toBe(ms(10));
  });

  it("moves by the requeue alone before the check is due (the sequential judge's looks)", () => {
    const clock = new ReplayClock(spec, [check(10.2)]);
    expect(clock.next(ms(0), 2_000, steppedAt(0))).toBe(ms(2));
    expect(clock.next(ms(8), 2_000, steppedAt(0))).toBe(ms(10.2));
  });
});

describe("steps and comparison helpers", () => {
  it("the run ends when promotion starts or it is rolled back", () => {
    expect(finishedOutcome({ phase: "Promoting" })).toBe("Succeeded");
    expect(finishedOutcome({ phase: "Failed" })).toBe("Failed");
    expect(finishedOutcome({ phase: "Progressing" })).toBeUndefined();
  });

  it("a rollback's weight 0 is not a weight reached", () => {
    expect(weightReached(10, { canaryWeight: 10 }, { phase: "Progressing", canaryWeight: 20 })).toBe(20);
    expect(weightReached(10, { canaryWeight: 20 }, { phase: "Failed", canaryWeight: 0 })).toBe(20);
  });

  it("pairs a replayed check with the nearest recorded one not yet taken, within the tolerance", () => {
    const recorded = [check(9), check(10.5), check(20)];
    expect(nearestRecorded(ms(10), recorded, new Set(), 5_000)).toBe(1);
    expect(nearestRecorded(ms(10), recorded, new Set([1]), 5_000)).toBe(0);
    expect(nearestRecorded(ms(15.1), recorded, new Set([0, 1]), 2_000)).toBe(-1);
  });

  it("a replay still running at the recorded end matches a superseded or running recorded run", () => {
    expect(sameOutcome("Running", "Superseded")).toBe(true);
    expect(sameOutcome("Running", "Running")).toBe(true);
    expect(sameOutcome("Failed", "Failed")).toBe(true);
    expect(sameOutcome("Running", "Failed")).toBe(false);
    expect(sameOutcome("Succeeded", "Superseded")).toBe(false);
  });
});
