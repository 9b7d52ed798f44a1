// One look of the sequential judge: counts since the traffic start become a batch against the previous
// look; counts that go backwards are no batch; a decisive regression is explained with its numbers.
import { describe, expect, it } from "vitest";
import type { EvidenceState, RunRecord } from "../../../src/api/canary.js";
import { latestState, look } from "../../../src/core/evidence/look.js";
import { freshLogE, mixtureLogE, updateLogE } from "../../../src/core/evidence/sequential.js";
import type { ServedCounts } from "../../../src/core/world.js";

const SINCE = new Date("2025-01-01T10:00:00.000Z");
const at = (seconds: number) => new Date(SINCE.getTime() + seconds * 1000);
const eValue = (logE: readonly number[]) => String(Math.round(Math.exp(mixtureLogE(logE))));

function served(
  seconds: number,
  canary: ServedCounts["canary"],
  primary: ServedCounts["primary"],
  slowerThanMs?: number,
): ServedCounts {
  return { at: at(seconds), canary, primary, ...(slowerThanMs !== undefined ? { slowerThanMs } : {}) };
}

describe("look: folding counts into the judge's state", () => {
  it("the first look counts everything since the traffic start as one batch", () => {
    const r = look(
      undefined,
      served(5, { requests: 50, errors: 1 }, { requests: 450, errors: 2 }),
      0.01,
      SINCE,
    );
    expect(r.regression).toBeUndefined();
    expect(r.state).toEqual({
      asOf: at(5).toISOString(),
      canary: { requests: 50, errors: 1 },
      primary: { requests: 450, errors: 2 },
      errorsLogE: updateLogE(freshLogE(), {
        canary: { requests: 50, events: 1 },
        primary: { requests: 450, events: 2 },
      }),
    });
  });

  it("growing counts: each look adds only what was served since the previous one", () => {
    const first = look(
      undefined,
      served(5, { requests: 50, errors: 1 }, { requests: 450, errors: 2 }),
      0.01,
      SINCE,
    );
    const second = look(
      first.state,
      served(10, { requests: 120, errors: 2 }, { requests: 900, errors: 5 }),
      0.01,
      SINCE,
    );
    expect(second.state.asOf).toBe(at(10).toISOString());
    expect(second.state.canary).toEqual({ requests: 120, errors: 2 });
    expect(second.state.primary).toEqual({ requests: 900, errors: 5 });
    expect(second.state.errorsLogE).toEqual(
      updateLogE(first.state.errorsLogE, {
        canary: { requests: 70, events: 1 },
        primary: { requests: 450, events: 3 },
      }),
    );
  });

  it("the same counts looked at twice add nothing", () => {
    const counts = served(5, { requests: 50, errors: 1 }, { requests: 450, errors: 2 });
    const first = look(undefined, counts, 0.01, SINCE);
    const again = look(first.state, { ...counts, at: at(10) }, 0.01, SINCE);
    expect(again.state.errorsLogE).toEqual(first.state.errorsLogE);
  });

  it("counts that go backwards (increase() extrapolation) are a batch of zero, and the higher counts stay the reference", () => {
    const first = look(
      undefined,
      served(10, { requests: 100, errors: 5 }, { requests: 900, errors: 2 }),
      0.05,
      SINCE,
    );
    const back = look(
      first.state,
      served(15, { requests: 96, errors: 4 }, { requests: 950, errors: 3 }),
      0.05,
      SINCE,
    );
    // the canary's batch is zero requests: without both versions the batch says nothing
    expect(back.state.errorsLogE).toEqual(first.state.errorsLogE);
    expect(back.state.canary).toEqual({ requests: 100, errors: 5 });
    expect(back.state.primary).toEqual({ requests: 950, errors: 3 });
    // the next look counts from the high-water mark, not from the dip
    const next = look(
      back.state,
      served(20, { requests: 110, errors: 5 }, { requests: 1000, errors: 3 }),
      0.05,
      SINCE,
    );
    expect(next.state.errorsLogE).toEqual(
      updateLogE(first.state.errorsLogE, {
        canary: { requests: 10, events: 0 },
        primary: { requests: 50, events: 0 },
      }),
    );
    expect(next.state.canary).toEqual({ requests: 110, errors: 5 });
  });

  it("does not change the state it is given", () => {
    const first = look(
      undefined,
      served(5, { requests: 50, errors: 1 }, { requests: 450, errors: 2 }),
      0.01,
      SINCE,
    );
    const frozen = structuredClone(first.state);
    look(first.state, served(10, { requests: 80, errors: 9 }, { requests: 700, errors: 2 }), 0.01, SINCE);
    expect(first.state).toEqual(frozen);
  });
});

describe("look: the regression reason", () => {
  it("says the rates, the requests, the false-alarm level, the time since traffic and the e-value", () => {
    const r = look(
      undefined,
      served(10, { requests: 20, errors: 4 }, { requests: 180, errors: 0 }),
      0.01,
      SINCE,
    );
    expect(r.regression).toBe(
      `canary 5xx 20.0% vs primary 0% over 20 vs 180 requests; regression certain at the 1% false-alarm level after 10 s (e-value ${eValue(r.state.errorsLogE)})`,
    );
    expect(Number(eValue(r.state.errorsLogE))).toBeGreaterThanOrEqual(100);
  });

  it("counts over the whole run, not the last batch, and formats thousands and long times", () => {
    const first = look(
      undefined,
      served(60, { requests: 1200, errors: 1 }, { requests: 10_800, errors: 10 }),
      0.05,
      SINCE,
    );
    expect(first.regression).toBeUndefined();
    const r = look(
      first.state,
      served(150, { requests: 2500, errors: 60 }, { requests: 22_500, errors: 22 }),
      0.05,
      SINCE,
    );
    expect(r.regression).toMatch(
      /^canary 5xx 2\.40% vs primary 0\.098% over 2,500 vs 22,500 requests; regression certain at the 5% false-alarm level after 2m30s \(e-value (>1e6|\d+)\)$/,
    );
  });

  it("a tiny false-alarm rate reads as a percentage without float noise", () => {
    const r = look(
      undefined,
      served(30, { requests: 200, errors: 100 }, { requests: 1800, errors: 0 }),
      0.001,
      SINCE,
    );
    expect(r.regression).toContain(
      "regression certain at the 0.1% false-alarm level after 30 s (e-value >1e6)",
    );
  });

  it("no regression when the canary fails no more often than the primary", () => {
    const r = look(
      undefined,
      served(10, { requests: 100, errors: 2 }, { requests: 900, errors: 18 }),
      0.01,
      SINCE,
    );
    expect(r.regression).toBeUndefined();
  });
});

describe("look: latency (requests over slowerThanMs) shares the false-alarm budget", () => {
  it("tests slow requests like errors and explains a latency regression", () => {
    const r = look(
      undefined,
      served(10, { requests: 20, errors: 0, slow: 4 }, { requests: 180, errors: 0, slow: 0 }, 500),
      0.01,
      SINCE,
    );
    expect(r.state.slowLogE).toBeDefined();
    expect(r.regression).toBe(
      `canary requests over 500ms 20.0% vs primary 0% over 20 vs 180 requests; latency regression certain at the 1% false-alarm level after 10 s (e-value ${eValue(r.state.slowLogE ?? [])})`,
    );
  });

  it("with two tests each needs alpha/2 (Bonferroni): evidence enough at alpha alone is not enough for either", () => {
    // 8 of 100 canary requests vs 0 of 100 primary ones: an e-value of about 113, between 1/0.01 and 2/0.01
    const errorsOnly = look(
      undefined,
      served(10, { requests: 100, errors: 8 }, { requests: 100, errors: 0 }),
      0.01,
      SINCE,
    );
    const e = Math.exp(mixtureLogE(errorsOnly.state.errorsLogE));
    expect(e).toBeGreaterThanOrEqual(100);
    expect(e).toBeLessThan(200);
    expect(errorsOnly.regression).toBeDefined();

    const errorsWithLatency = look(
      undefined,
      served(10, { requests: 100, errors: 8, slow: 0 }, { requests: 100, errors: 0, slow: 0 }, 500),
      0.01,
      SINCE,
    );
    expect(errorsWithLatency.regression).toBeUndefined();
    const slowOnly = look(
      undefined,
      served(10, { requests: 100, errors: 0, slow: 8 }, { requests: 100, errors: 0, slow: 0 }, 500),
      0.01,
      SINCE,
    );
    expect(slowOnly.regression).toBeUndefined();
  });

  it("without a latency threshold there is no latency test and the whole budget goes to errors", () => {
    const r = look(
      undefined,
      served(10, { requests: 100, errors: 8 }, { requests: 100, errors: 0 }),
      0.01,
      SINCE,
    );
    expect(r.state.slowLogE).toBeUndefined();
    expect(r.regression).toBeDefined();
  });

  it("a latency threshold without slow counts yet still leaves the error test half the budget", () => {
    const r = look(
      undefined,
      served(10, { requests: 100, errors: 8 }, { requests: 100, errors: 0 }, 500),
      0.01,
      SINCE,
    );
    expect(r.regression).toBeUndefined();
  });

  it("slow counts grow like the others: batch deltas, high-water marks", () => {
    const first = look(
      undefined,
      served(5, { requests: 50, errors: 0, slow: 2 }, { requests: 450, errors: 0, slow: 3 }, 500),
      0.01,
      SINCE,
    );
    const second = look(
      first.state,
      served(10, { requests: 100, errors: 0, slow: 1 }, { requests: 900, errors: 0, slow: 6 }, 500),
      0.01,
      SINCE,
    );
    expect(second.state.canary).toEqual({ requests: 100, errors: 0, slow: 2 });
    expect(second.state.slowLogE).toEqual(
      updateLogE(first.state.slowLogE ?? [], {
        canary: { requests: 50, events: 0 },
        primary: { requests: 450, events: 3 },
      }),
    );
  });
});

describe("look: a look without slow counts (the bucket query failed)", () => {
  const withSlow = look(
    undefined,
    served(5, { requests: 50, errors: 0, slow: 3 }, { requests: 450, errors: 0, slow: 1 }, 500),
    0.01,
    SINCE,
  );

  it("keeps the latency evidence gathered so far", () => {
    expect(withSlow.state.slowLogE).toBeDefined();
    const without = look(
      withSlow.state,
      served(10, { requests: 100, errors: 0 }, { requests: 900, errors: 0 }),
      0.01,
      SINCE,
    );
    expect(without.state.slowLogE).toEqual(withSlow.state.slowLogE);
  });

  it("still gives the error test only its half of the false-alarm budget", () => {
    // 8 of 100 canary errors vs 0 of 100: decisive at 1%, not at 0.5% (see the Bonferroni test above)
    const start = look(
      undefined,
      served(5, { requests: 1, errors: 0, slow: 0 }, { requests: 1, errors: 0, slow: 0 }, 500),
      0.01,
      SINCE,
    );
    const r = look(
      start.state,
      served(10, { requests: 101, errors: 8 }, { requests: 101, errors: 0 }),
      0.01,
      SINCE,
    );
    expect(Math.exp(mixtureLogE(r.state.errorsLogE))).toBeLessThan(200);
    expect(r.regression).toBeUndefined();
  });
});

describe("latestState", () => {
  const state = (asOf: string): EvidenceState => ({
    asOf,
    canary: { requests: 1, errors: 0 },
    primary: { requests: 1, errors: 0 },
    errorsLogE: freshLogE(),
  });
  const older = state("2025-01-01T10:00:05.000Z");
  const newer = state("2025-01-01T10:00:10.000Z");
  const run = (evidence?: EvidenceState): RunRecord => ({
    revision: "rev-2",
    ...(evidence ? { evidence } : {}),
  });

  it("picks the newer of the stored state and the shell's", () => {
    expect(latestState(run(older), newer)).toBe(newer);
    expect(latestState(run(newer), older)).toBe(newer);
  });

  it("takes whichever exists, or none", () => {
    expect(latestState(run(older), undefined)).toBe(older);
    expect(latestState(run(), newer)).toBe(newer);
    expect(latestState(undefined, newer)).toBe(newer);
    expect(latestState(run(), undefined)).toBeUndefined();
    expect(latestState(undefined, undefined)).toBeUndefined();
  });
});
