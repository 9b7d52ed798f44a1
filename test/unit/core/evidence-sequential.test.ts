// The sequential judge's arithmetic: a canary as good as the primary is rarely called a regression,
// however often the judge looks (anytime validity, by simulation); a clearly worse one is caught in a
// few batches; the e-values move the right way and survive counts that cannot be counted.
import { describe, expect, it } from "vitest";
import {
  type Batch,
  decisive,
  freshLogE,
  mixtureLogE,
  RATE_RATIOS,
  updateLogE,
} from "../../../src/core/evidence/sequential.js";
import { seededRng } from "../../mesh/rng.js";

/** Seeded, so every run of the suite sees the same traffic. */
const rng = seededRng;

/** Binomial(n, q) by counting: exact, and fast enough for the sizes used here. */
function binomial(random: () => number, n: number, q: number): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (random() < q) k++;
  return k;
}

describe("sequential judge: false alarms under the null (anytime-valid)", () => {
  it("a canary with the primary's error probability is called a regression in at most 5% of runs, looking 100 times each", () => {
    const random = rng(20_250_101);
    const RUNS = 2_000;
    const LOOKS = 100;
    const ALPHA = 0.05;
    let alarms = 0;
    for (let run = 0; run < RUNS; run++) {
      // each run has its own error probability, the same for both versions
      const q = 0.005 + 0.05 * random();
      let logE = freshLogE();
      for (let l = 0; l < LOOKS; l++) {
        // the canary's share of the batch's requests varies from 10% to 50%
        const share = 0.1 + 0.4 * random();
        const total = 60 + Math.floor(80 * random());
        const canaryRequests = Math.round(total * share);
        const primaryRequests = total - canaryRequests;
        logE = updateLogE(logE, {
          canary: { requests: canaryRequests, events: binomial(random, canaryRequests, q) },
          primary: { requests: primaryRequests, events: binomial(random, primaryRequests, q) },
        });
        if (decisive(logE, ALPHA)) {
          alarms++;
          break;
        }
      }
    }
    // Ville: P(ever decisive) <= alpha; allow the binomial 3-sigma of the simulation itself
    const tolerance = 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / RUNS);
    expect(alarms / RUNS).toBeLessThanOrEqual(ALPHA + tolerance);
  });

  it("keeps the budget when events are rare and each batch has only a handful of them", () => {
    const random = rng(7);
    const RUNS = 2_000;
    const ALPHA = 0.01;
    let alarms = 0;
    for (let run = 0; run < RUNS; run++) {
      let logE = freshLogE();
      for (let l = 0; l < 100; l++) {
        const share = 0.1 + 0.4 * random();
        const canaryRequests = Math.round(100 * share);
        logE = updateLogE(logE, {
          canary: { requests: canaryRequests, events: binomial(random, canaryRequests, 0.01) },
          primary: { requests: 100 - canaryRequests, events: binomial(random, 100 - canaryRequests, 0.01) },
        });
        if (decisive(logE, ALPHA)) {
          alarms++;
          break;
        }
      }
    }
    expect(alarms / RUNS).toBeLessThanOrEqual(ALPHA + 3 * Math.sqrt((ALPHA * (1 - ALPHA)) / RUNS));
  });
});

describe("sequential judge: power", () => {
  it("20% canary errors against 0.1% on the primary at a 10% share is decisive within 3 batches", () => {
    const random = rng(42);
    const needed: number[] = [];
    for (let run = 0; run < 200; run++) {
      let logE = freshLogE();
      let batches = 0;
      while (!decisive(logE, 0.01) && batches < 50) {
        batches++;
        // 5 s at 100 requests/s, 10% to the canary
        logE = updateLogE(logE, {
          canary: { requests: 50, events: binomial(random, 50, 0.2) },
          primary: { requests: 450, events: binomial(random, 450, 0.001) },
        });
      }
      needed.push(batches);
    }
    expect(Math.max(...needed)).toBeLessThanOrEqual(3);
  });

  it("a canary that is better than the primary is never called a regression", () => {
    let logE = freshLogE();
    for (let i = 0; i < 100; i++)
      logE = updateLogE(logE, {
        canary: { requests: 100, events: 0 },
        primary: { requests: 900, events: 50 },
      });
    expect(decisive(logE, 0.2)).toBe(false);
    expect(mixtureLogE(logE)).toBeLessThan(0);
  });
});

describe("sequential judge: how the e-values move", () => {
  const someEvidence = updateLogE(freshLogE(), {
    canary: { requests: 100, events: 3 },
    primary: { requests: 900, events: 4 },
  });

  it("starts at e = 1 for every alternative, and is not decisive at any sensible level", () => {
    expect(freshLogE()).toEqual(RATE_RATIOS.map(() => 0));
    expect(mixtureLogE(freshLogE())).toBe(0);
    expect(decisive(freshLogE(), 0.2)).toBe(false);
  });

  it("a batch without events changes nothing", () => {
    expect(
      updateLogE(someEvidence, {
        canary: { requests: 500, events: 0 },
        primary: { requests: 500, events: 0 },
      }),
    ).toEqual(someEvidence);
  });

  it("a batch in which only one version served requests changes nothing (no exposure to compare)", () => {
    const onlyCanary: Batch = { canary: { requests: 50, events: 10 }, primary: { requests: 0, events: 0 } };
    const onlyPrimary: Batch = { canary: { requests: 0, events: 0 }, primary: { requests: 50, events: 10 } };
    expect(updateLogE(someEvidence, onlyCanary)).toEqual(someEvidence);
    expect(updateLogE(someEvidence, onlyPrimary)).toEqual(someEvidence);
  });

  it("a batch with only primary events lowers every log e-value", () => {
    const after = updateLogE(someEvidence, {
      canary: { requests: 100, events: 0 },
      primary: { requests: 900, events: 5 },
    });
    after.forEach((l, i) => {
      expect(l).toBeLessThan(someEvidence[i] ?? Number.NaN);
    });
  });

  it("a batch with only canary events raises every log e-value", () => {
    const after = updateLogE(someEvidence, {
      canary: { requests: 100, events: 2 },
      primary: { requests: 900, events: 0 },
    });
    after.forEach((l, i) => {
      expect(l).toBeGreaterThan(someEvidence[i] ?? Number.NaN);
    });
  });

  it("does not mutate the state it is given", () => {
    const before = Object.freeze([...someEvidence]);
    updateLogE(before, { canary: { requests: 10, events: 5 }, primary: { requests: 10, events: 0 } });
    expect(before).toEqual(someEvidence);
  });

  it("decisive exactly when the mixture e-value reaches 1/alpha", () => {
    const logE = RATE_RATIOS.map(() => Math.log(20));
    expect(mixtureLogE(logE)).toBeCloseTo(Math.log(20), 12);
    expect(decisive(logE, 0.05)).toBe(true);
    expect(decisive(logE, 0.04)).toBe(false);
  });
});

describe("sequential judge: counts that cannot be counted", () => {
  const base = updateLogE(freshLogE(), {
    canary: { requests: 100, events: 2 },
    primary: { requests: 900, events: 6 },
  });

  it("NaN or infinite counts are no requests: nothing changes, nothing becomes NaN", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const a = updateLogE(base, {
        canary: { requests: bad, events: 3 },
        primary: { requests: 900, events: 1 },
      });
      const b = updateLogE(base, {
        canary: { requests: 100, events: bad },
        primary: { requests: bad, events: bad },
      });
      expect(a).toEqual(base);
      expect(b).toEqual(base);
    }
  });

  it("negative counts are zero", () => {
    expect(
      updateLogE(base, { canary: { requests: -50, events: -3 }, primary: { requests: 900, events: 4 } }),
    ).toEqual(base);
    expect(
      updateLogE(base, { canary: { requests: 100, events: -3 }, primary: { requests: 900, events: 4 } }),
    ).toEqual(
      updateLogE(base, { canary: { requests: 100, events: 0 }, primary: { requests: 900, events: 4 } }),
    );
  });

  it("more events than requests count as every request failing", () => {
    expect(
      updateLogE(base, { canary: { requests: 10, events: 40 }, primary: { requests: 90, events: 0 } }),
    ).toEqual(
      updateLogE(base, { canary: { requests: 10, events: 10 }, primary: { requests: 90, events: 0 } }),
    );
  });

  it("a stored state of the wrong length starts afresh", () => {
    const batch: Batch = { canary: { requests: 10, events: 1 }, primary: { requests: 90, events: 1 } };
    expect(updateLogE([1, 2, 3], batch)).toEqual(updateLogE(freshLogE(), batch));
  });

  it("huge counts keep the mixture finite", () => {
    const logE = updateLogE(freshLogE(), {
      canary: { requests: 1e9, events: 1e8 },
      primary: { requests: 9e9, events: 1e3 },
    });
    expect(Number.isFinite(mixtureLogE(logE))).toBe(true);
    expect(decisive(logE, 0.0001)).toBe(true);
  });
});
