// The traffic split check (core/split): the binomial band, its verdicts with the numbers in the reasons,
// what is verified for which strategy, and how a decisive mismatch halts a step through decide().
import { describe, expect, it } from "vitest";
import { binomialCdf, binomialQuantile } from "../../../src/core/split/binomial.js";
import { SPLIT_SETTLE_MS, splitPlan } from "../../../src/core/split/plan.js";
import { judgeSplit, requestsNeeded, splitBand } from "../../../src/core/split/verdict.js";
import { catalogSpec, ID, READY, SEC, Sim, T0, target } from "./sim.js";

const at = new Date(T0);
const spec = catalogSpec();
const status = {
  phase: "Progressing" as const,
  canaryWeight: 20,
  lastTransitionTime: new Date(T0).toISOString(),
};
const plan = splitPlan(spec, status);
const judge = (canary: number, primary: number, p = plan) =>
  judgeSplit(p, { at, canary, primary }, "canary catalog");

/** P(X <= k) by summing the pmf term by term: an independent check of the incomplete-beta form. */
function pmfSum(k: number, n: number, p: number): number {
  let term = (1 - p) ** n;
  let total = term;
  for (let i = 1; i <= k; i++) {
    term *= ((n - i + 1) / i) * (p / (1 - p));
    total += term;
  }
  return total;
}

describe("binomial tail and quantiles", () => {
  it("match the pmf summed term by term", () => {
    for (const [k, n, p] of [
      [0, 212, 0.2],
      [31, 212, 0.2],
      [42, 212, 0.2],
      [3, 10, 0.3],
      [480, 1000, 0.5],
    ] as const)
      expect(binomialCdf(k, n, p)).toBeCloseTo(pmfSum(k, n, p), 10);
    // The 95% interval of 212 requests at 20%: 31..54 (14.6%-25.5%), the brief's example band.
    expect([binomialQuantile(0.025, 212, 0.2), binomialQuantile(0.975, 212, 0.2)]).toEqual([31, 54]);
  });
});

describe("judgeSplit: the canary's share against the routed weight", () => {
  it("a canary that got none of 212 requests at weight 20 is a decisive mismatch, with the numbers", () => {
    const band = splitBand(212, 0.2);
    const v = judge(0, 212);
    expect(v?.kind).toBe("mismatch");
    expect(v?.reason).toContain(
      `traffic split not as routed: canary catalog served 0 of 212 requests from app=webapp since weight 20 (0%; expected 20%, 99.9% band ${(100 * band.low).toFixed(1)}-${(100 * band.high).toFixed(1)}%)`,
    );
    // 99.9% is wider than the 95% interval and narrower than +-10 points at this sample size.
    expect(band.low).toBeLessThan(31 / 212);
    expect(band.low).toBeGreaterThan(0.1);
  });

  it("a split near the weight passes; so does one inside the wide band that a 95% band would reject", () => {
    expect(judge(42, 170)?.kind).toBe("as-routed");
    expect(judge(42, 170)?.reason).toMatch(
      /^traffic split as routed: canary catalog served 42 of 212 requests/,
    );
    expect(judge(28, 184)?.kind).toBe("as-routed"); // 13.2%: below 14.6%, not decisive at 99.9%
  });

  it("too few requests give no verdict and say how many are needed (never a halt for lack of traffic)", () => {
    const p10 = splitPlan(spec, { ...status, canaryWeight: 10 });
    expect(requestsNeeded(0.1)).toBe(73); // 0.9^73 < 0.0005 <= 0.9^72
    const v = judge(0, 50, p10);
    expect(v).toEqual({
      kind: "no-verdict",
      reason: "traffic split not verified: 50 requests from app=webapp since weight 10, 73 needed to tell",
    });
    expect(judge(0, 80, p10)?.kind).toBe("mismatch");
  });

  it("more than the weight is told, not held against the run (load tests reach the canary Service directly)", () => {
    const v = judge(100, 112);
    expect(v?.kind).toBe("above");
    expect(v?.reason).toContain("traffic split above the weight: canary catalog served 100 of 212");
  });

  it("Prometheus unreachable is no verdict, never a mismatch", () => {
    expect(judgeSplit(plan, { at, error: "Prometheus unreachable: ECONNREFUSED" }, "canary catalog")).toEqual(
      {
        kind: "no-verdict",
        reason: "traffic split not verified: Prometheus unreachable: ECONNREFUSED",
      },
    );
  });

  it("A/B with a sourceLabels match: the matched sources all go to the canary; a tenth on the primary halts", () => {
    const ab = catalogSpec({ analysis: { iterations: 5, stepWeight: undefined, maxWeight: undefined } });
    const p = splitPlan(ab, { ...status, canaryWeight: 100 });
    expect(p).toMatchObject({ kind: "verify", weight: 100, sources: { app: "webapp" } });
    expect(judge(180, 20, p)?.kind).toBe("mismatch");
    expect(judge(199, 1, p)?.kind).toBe("as-routed"); // within 2 points: not worth a halt
  });
});

describe("splitPlan: what is verified, and what is skipped with its reason", () => {
  it("catalog: the webapp's requests, from 3 s after the step", () => {
    expect(plan).toEqual({
      kind: "verify",
      weight: 20,
      from: new Date(T0 + SPLIT_SETTLE_MS),
      sources: { app: "webapp" },
      sourceText: " from app=webapp",
    });
  });

  it("skips blue/green, mirroring, session affinity, header matches and routes not applied to the mesh", () => {
    const reason = (s: ReturnType<typeof catalogSpec>, weight = 20) => {
      const p = splitPlan(s, { ...status, canaryWeight: weight });
      return p.kind === "skip" ? p.reason : "verified";
    };
    const noMatch = { match: undefined };
    expect(
      reason(
        catalogSpec({ analysis: { ...noMatch, iterations: 3, stepWeight: undefined, maxWeight: undefined } }),
        0,
      ),
    ).toMatch(/^blue\/green/);
    expect(reason(catalogSpec({ analysis: { ...noMatch, mirror: true } }), 0)).toMatch(/^mirrored copies/);
    expect(
      reason(catalogSpec({ analysis: { ...noMatch, sessionAffinity: { cookieName: "canary" } } })),
    ).toMatch(/^with session affinity/);
    expect(
      reason(catalogSpec({ analysis: { match: [{ headers: { "x-cohort": { exact: "beta" } } }] } })),
    ).toMatch(/cannot tell those from the rest \(headers\)/);
    expect(reason(catalogSpec({ analysis: { match: [{ sourceLabels: { team: "web" } }] } }))).toMatch(
      /sourceLabels team/,
    );
    expect(reason(catalogSpec({ analysis: noMatch }))).toBe("verified");
  });

  it("skips a route the user owns (spec.service.routeRef): its matches and other routes are not the metrics'", () => {
    const plain = catalogSpec({ analysis: { match: undefined } });
    const routeRef = { kind: "VirtualService" as const, name: "catalog-routes", routes: ["catalog-canary"] };
    const adopted = { ...plain, source: { ...plain.source, service: { ...plain.source.service, routeRef } } };
    const p = splitPlan(adopted, status);
    expect(p.kind === "skip" && p.reason).toMatch(/^the route is yours \(spec\.service\.routeRef\)/);
  });
});

describe("decide: a decisive mismatch halts the step", () => {
  function atWeight10() {
    const sim = Sim.initialized(spec, "rev-1");
    sim.target = target("rev-2", READY);
    sim.advance(30 * SEC).tick(); // run starts
    const first = sim.advance(5 * SEC).tick(); // first step: weight 10
    expect(first.status.canaryWeight).toBe(10);
    return sim;
  }

  it("holds the weight, counts a failed check, warns with the observed split; once fixed, it advances", () => {
    const sim = atWeight10();
    sim.split = (now) => ({ at: now, canary: 0, primary: 400 });
    const halted = sim.advance(45 * SEC).tick();
    expect(sim.splitReads).toBe(1);
    expect(halted.status.canaryWeight).toBe(10);
    expect(halted.status.failedChecks).toBe(1);
    expect(halted.reason).toMatch(
      new RegExp(
        `^Halt ${ID} advancement: traffic split not as routed: canary catalog served 0 of 400 requests from app=webapp since weight 10 \\(0%; expected 10%, 99\\.9% band [\\d.]+-[\\d.]+%\\).* \\(failed checks 1/5\\)$`,
      ),
    );
    expect(halted.events).toEqual([
      { type: "Warning", reason: "TrafficSplitMismatch", message: halted.reason },
    ]);

    sim.split = (now) => ({ at: now, canary: 41, primary: 359 });
    const next = sim.next();
    expect(next.status.canaryWeight).toBe(20);
    expect(next.reason).toMatch(/; traffic split as routed: canary catalog served 41 of 400 requests/);
  });

  it("a mismatch at every check rolls back at the threshold, like failed checks, with the split as the reason", () => {
    const sim = atWeight10();
    sim.split = (now) => ({ at: now, canary: 0, primary: 400 });
    sim.advance(45 * SEC).tick();
    const end = sim.runUntil("Failed");
    const last = end[end.length - 1];
    expect(last?.status.canaryWeight).toBe(0);
    expect(last?.reason).toMatch(
      /Rolling back catalog\.test: traffic split not as routed: .*\(failed checks 5\/5\)/,
    );
  });

  it("too little traffic or Prometheus down does not halt: the step goes on and says the split was not verified", () => {
    const sim = atWeight10();
    sim.split = (now) => ({ at: now, error: "Prometheus unreachable: ECONNREFUSED" });
    const d = sim.advance(45 * SEC).tick();
    expect(d.status.canaryWeight).toBe(20);
    expect(d.reason).toMatch(/; traffic split not verified: Prometheus unreachable: ECONNREFUSED$/);
  });
});
