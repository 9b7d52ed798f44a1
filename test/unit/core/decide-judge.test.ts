// The judge inside runs: each revision judged on its own traffic against the primary, the sequential
// judge looking between checks, shared incidents held, low traffic waited for, and the harm counted.

import { describe, expect, it } from "vitest";
import type { CanarySpec } from "../../../src/api/canary.js";
import { ignoredJudgeSettings, withJudgeDefault } from "../../../src/api/defaults.js";
import { canarySpecProblems, validateCanary } from "../../../src/api/validate.js";
import { decide, MIN_INCIDENT_HOLD_MS } from "../../../src/core/decide.js";
import type { CanaryEvent } from "../../../src/core/decision.js";
import type { MetricResult, ServedCounts } from "../../../src/core/world.js";
import { catalogExample } from "../../fixtures/catalog-example.js";
import { catalogSpec, deepFreeze, ID, REF, SEC, Sim, type SpecPatch, target, world } from "./sim.js";

const INTERVAL = 45 * SEC;
const LOOK = 5 * SEC;
const sequential = (patch: SpecPatch["analysis"] = {}) =>
  catalogSpec({ analysis: { judge: { mode: "sequential" }, ...patch } });
const SEQ = sequential();
const THR = catalogSpec({ analysis: { judge: { mode: "threshold" } } });

interface Traffic {
  /** requests per second over both versions */
  rps: number;
  canaryErrors: number;
  primaryErrors: number;
}

/** Served counts since the run's traffic start, split by the current weight. */
function trafficOf(sim: Sim, t: () => Traffic): (at: Date) => ServedCounts {
  return (at) => {
    const { rps, canaryErrors, primaryErrors } = t();
    const since = Date.parse(sim.status.run?.trafficSince ?? at.toISOString());
    const seconds = Math.max(0, (at.getTime() - since) / 1000);
    const share = (sim.status.canaryWeight ?? 0) / 100;
    const canary = Math.round(rps * share * seconds);
    const primary = Math.round(rps * (1 - share) * seconds);
    return {
      at,
      canary: { requests: canary, errors: Math.round(canary * canaryErrors) },
      primary: { requests: primary, errors: Math.round(primary * primaryErrors) },
    };
  };
}

interface Check {
  rate: number;
  primaryRate?: number;
  canaryRequests?: number;
}

/** Built-in metric results with the primary beside the canary, as run-checks makes them. */
function builtins(sim: Sim, check: (n: number) => Check): (n: number) => MetricResult[] {
  return (n) => {
    const c = check(n);
    const canaryRequests = c.canaryRequests ?? 400;
    return sim.spec.analysis.metrics.map((m) => {
      const rate = m.name === "request-success-rate";
      return {
        name: m.name,
        thresholdRange: m.thresholdRange,
        unit: rate ? "%" : "ms",
        value: rate ? c.rate : 120,
        primaryValue: rate ? (c.primaryRate ?? 99.95) : 110,
        canaryRequests,
        primaryRequests: canaryRequests * 9,
        window: "45s",
      } satisfies MetricResult;
    });
  };
}

/** Initialized on rev-1, rev-2 pushed, the first step (weight 10) taken: the canary has traffic. */
function atFirstStep(spec = SEQ, image?: string): Sim {
  const sim = Sim.initialized(spec, "rev-1");
  sim.holdEvidence = true;
  sim.target = { ...target("rev-2"), ...(image ? { image } : {}) };
  sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.001, primaryErrors: 0.001 }));
  sim.metrics = builtins(sim, () => ({ rate: 99.9 }));
  sim.advance(30 * SEC).tick(); // Progressing/0
  sim.advance(5 * SEC).tick(); // Progressing/10: traffic starts
  if (sim.status.canaryWeight !== 10) throw new Error(`not at weight 10: ${sim.status.canaryWeight}`);
  return sim;
}

const eventsSince = (sim: Sim, from: number): CanaryEvent[] =>
  sim.log.slice(from).flatMap((r) => r.decision.events);

describe("sequential judge: a bad canary rolls back between checks", () => {
  it("20% canary errors against a healthy primary roll back at the first look, before the interval is over", () => {
    const sim = atFirstStep();
    const trafficSince = Date.parse(sim.status.run?.trafficSince ?? "");
    expect(trafficSince).toBe(sim.clock);
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.2, primaryErrors: 0.001 }));
    sim.metrics = builtins(sim, () => ({ rate: 80 }));

    const d = sim.next();
    expect(sim.clock - trafficSince).toBe(LOOK);
    expect(sim.analyses).toBe(0); // no check was due: the look decided alone
    expect(d.status).toMatchObject({ phase: "Failed", canaryWeight: 0 });
    expect(d.reason).toMatch(
      new RegExp(
        `^Rolling back ${ID.replace(".", "\\.")}: canary 5xx 20\\.0% vs primary 0% over 50 vs 450 requests; regression certain at the 1% false-alarm level after 5 s \\(e-value (>1e6|\\d+)\\); revision rev-2 served 50 requests, 10 failed before the rollback$`,
      ),
    );
    expect(d.events).toEqual([{ type: "Warning", reason: "RolledBack", message: d.reason }]);
    const run = d.status.run;
    expect(run).toMatchObject({
      revision: "rev-2",
      canary: { requests: 50, errors: 10 },
      primary: { requests: 450, errors: 0 },
      servedAsOf: sim.now.toISOString(),
    });
    expect(run?.evidence).toMatchObject({
      asOf: sim.now.toISOString(),
      canary: { requests: 50, errors: 10 },
    });
    expect(d.status.conditions?.find((c) => c.type === "Promoted")?.message).toContain("regression certain");
  });

  it("a regression that builds up over several looks rolls back at the look that makes it decisive", () => {
    const sim = atFirstStep();
    const trafficSince = sim.clock;
    // 3% canary errors against 0.1%: not decisive at the first look, well before the first check
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.03, primaryErrors: 0.001 }));
    sim.runUntil("Failed", 20);
    expect(sim.clock - trafficSince).toBeGreaterThan(LOOK);
    expect(sim.clock - trafficSince).toBeLessThan(INTERVAL);
    expect(sim.analyses).toBe(0);
    expect(sim.servedReads).toBeGreaterThan(1);
  });

  it("threshold mode with the same traffic does not roll back early: it needs the failed checks", () => {
    const sim = atFirstStep(THR);
    const trafficSince = sim.clock;
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.2, primaryErrors: 0.001 }));
    sim.metrics = builtins(sim, () => ({ rate: 80 }));
    const first = sim.next();
    expect(sim.clock - trafficSince).toBe(INTERVAL); // no look in between
    expect(first.status).toMatchObject({ phase: "Progressing", canaryWeight: 10, failedChecks: 1 });
    expect(first.reason).toContain("request-success-rate 80.00% < 99%");
    sim.runUntil("Failed", 10);
    expect(sim.analyses).toBe(THR.analysis.threshold);
    expect(sim.status.failedChecks).toBe(THR.analysis.threshold);
    const last = sim.log[sim.log.length - 1]?.decision;
    expect(last?.reason).not.toContain("regression certain");
    expect(last?.reason).toContain("revision rev-2 served");
  });

  it("a canary as good as the primary is not rolled back by the looks and the run succeeds", () => {
    const sim = atFirstStep();
    sim.runUntil("Succeeded", 400);
    expect(sim.log.some((r) => r.decision.status.phase === "Failed")).toBe(false);
    expect(sim.servedReads).toBeGreaterThan(sim.analyses);
  });
});

describe("sequential judge: shared incidents", () => {
  it("an incident that outlasts progressDeadlineSeconds (at least 10 minutes) stops holding: the thresholds decide", () => {
    // A canary that breaks what both versions depend on (a shared pool) must not hold the run forever.
    const sim = atFirstStep();
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.05, primaryErrors: 0.05 }));
    sim.metrics = builtins(sim, () => ({ rate: 95, primaryRate: 95 }));
    const first = sim.clock;
    sim.runUntil("Failed", 1000);
    const verdicts = sim.status.run?.checks?.map((c) => c.verdict) ?? [];
    expect(verdicts[0]).toBe("held");
    expect(verdicts.slice(-SEQ.analysis.threshold)).toEqual(Array(SEQ.analysis.threshold).fill("failed"));
    // held for 10 minutes (the catalog's deadline is 60 s: an incident outlasts a rollout), not longer
    const firstFailed = sim.log.find((r) => (r.decision.status.failedChecks ?? 0) > 0)?.at ?? 0;
    expect(firstFailed - first).toBeGreaterThan(MIN_INCIDENT_HOLD_MS);
    expect(firstFailed - first).toBeLessThanOrEqual(MIN_INCIDENT_HOLD_MS + 2 * 45_000);
  });

  it("canary and primary both failing the threshold hold the weight, say so once, and the run goes on after", () => {
    // An incident may hold the run for progressDeadlineSeconds (below); this one is shorter than that.
    const sim = atFirstStep(
      catalogSpec({ analysis: { judge: { mode: "sequential" } }, spec: { progressDeadlineSeconds: 600 } }),
    );
    // the same 3% errors on both: the sequential test sees no difference
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.03, primaryErrors: 0.03 }));
    let incident = true;
    sim.metrics = builtins(sim, () => (incident ? { rate: 97, primaryRate: 97.2 } : { rate: 99.9 }));
    const from = sim.log.length;

    // three checks during the incident, with looks in between
    while (sim.analyses < 3) {
      const d = sim.next();
      expect(d.status).toMatchObject({ phase: "Progressing", canaryWeight: 10 });
      expect(d.status.failedChecks ?? 0).toBe(0);
    }
    const last = sim.log[sim.log.length - 1]?.decision;
    expect(last?.reason).toContain("the primary fails it too (a shared incident), holding");
    expect(last?.reason).toContain(`Halt ${ID} advancement at weight 10`);
    expect(sim.status.run?.checks?.map((c) => c.verdict)).toEqual(["held", "held", "held"]);
    const events = eventsSince(sim, from);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: "Warning", reason: "SharedIncident" });
    expect(events[0]?.message).toContain("request-success-rate 97.00% < 99% (primary 97.20%");

    // the incident ends: the next check advances
    incident = false;
    const before = sim.analyses;
    let d = sim.next();
    while (sim.analyses === before) d = sim.next();
    expect(d.status).toMatchObject({ phase: "Progressing", canaryWeight: 20, failedChecks: 0 });
    expect(d.events.map((e) => e.reason)).toEqual(["Progressing"]);
    expect(sim.status.run?.holdingSince).toBeUndefined();
  });

  it("the errors of a shared incident do not count against the promotion evidence", () => {
    const sim = atFirstStep(
      catalogSpec({ analysis: { judge: { mode: "sequential" } }, spec: { progressDeadlineSeconds: 600 } }),
    );
    // 3% errors on both during the incident, none after it: over the whole run the canary is above 1%,
    // and so is the primary: those errors are the incident's, not the release's
    let incident = true;
    let frozen = { canary: 0, primary: 0 };
    sim.served = (at) => {
      const base = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.03, primaryErrors: 0.03 }))(at);
      if (incident) frozen = { canary: base.canary.errors, primary: base.primary.errors };
      return {
        ...base,
        slowerThanMs: 500,
        canary: { ...base.canary, errors: frozen.canary, slow: 0 },
        primary: { ...base.primary, errors: frozen.primary, slow: 0 },
      };
    };
    sim.metrics = builtins(sim, () => (incident ? { rate: 97, primaryRate: 97.2 } : { rate: 100 }));
    for (let i = 0; i < 100 && sim.analyses < 2; i++) sim.next();
    const during = sim.status.run?.promotionCountsFrom?.errors ?? 0;
    expect(during).toBeGreaterThan(10);
    expect(sim.status.phase).toBe("Progressing");
    incident = false;
    const d = sim.runUntil("Promoting", 400).at(-1);
    expect(d?.reason).toMatch(/evidence: canary failed < 1% and slower than 500ms < 1%/);
    expect(d?.reason).toMatch(/\(0 of [\d,]+ failed, 0 of [\d,]+ slower than 500ms\)/);
    expect(d?.reason).not.toContain("after progressDeadlineSeconds");
  });

  it("an incident that ends and comes back is reported again", () => {
    const sim = atFirstStep();
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.03, primaryErrors: 0.03 }));
    sim.metrics = builtins(sim, (n) => (n === 2 ? { rate: 99.9 } : { rate: 97, primaryRate: 97 }));
    const from = sim.log.length;
    while (sim.analyses < 3) sim.next();
    expect(eventsSince(sim, from).map((e) => e.reason)).toEqual([
      "SharedIncident",
      "Progressing",
      "SharedIncident",
    ]);
  });
  it("an incident that starts while the check waits for evidence is announced with a Warning", () => {
    const sim = atFirstStep();
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.03, primaryErrors: 0.03 }));
    sim.metrics = builtins(sim, (n) =>
      n === 1 ? { rate: 100, canaryRequests: 5 } : { rate: 97, primaryRate: 97, canaryRequests: 400 },
    );
    const from = sim.log.length;
    while (sim.analyses < 2) sim.next();
    expect(sim.status.run?.checks?.map((c) => c.verdict)).toEqual(["held", "held"]);
    expect(eventsSince(sim, from).map((e) => `${e.type}/${e.reason}`)).toEqual([
      "Normal/WaitingForEvidence",
      "Warning/SharedIncident",
    ]);
  });
});

describe("sequential judge: low traffic", () => {
  it("holds while the canary has fewer than minRequests, reading since the traffic start, then passes", () => {
    const sim = atFirstStep();
    const trafficSince = sim.status.run?.trafficSince;
    let requests = 5;
    sim.metrics = builtins(sim, () => ({ rate: 100, canaryRequests: requests }));
    const from = sim.log.length;
    while (sim.analyses < 1) sim.next();
    const held = sim.log[sim.log.length - 1]?.decision;
    expect(held?.status).toMatchObject({ phase: "Progressing", canaryWeight: 10 });
    expect(held?.status.failedChecks ?? 0).toBe(0);
    expect(held?.reason).toBe(
      `Halt ${ID} advancement at weight 10: waiting for evidence: request-success-rate: 5 of ${SEQ.analysis.judge.minRequests} canary requests needed, waiting for evidence: request-duration: 5 of ${SEQ.analysis.judge.minRequests} canary requests needed`,
    );
    expect(sim.status.run?.windowFrom).toBe(trafficSince);
    expect(eventsSince(sim, from)).toEqual([
      { type: "Normal", reason: "WaitingForEvidence", message: held?.reason },
    ]);

    requests = 40;
    while (sim.analyses < 2) sim.next();
    expect(sim.status).toMatchObject({ phase: "Progressing", canaryWeight: 20 });
    expect(sim.status.run?.windowFrom).toBeUndefined();
    expect(sim.status.run?.holdingSince).toBeUndefined();
  });

  it("after progressDeadlineSeconds of holding, each further check without evidence fails", () => {
    const sim = atFirstStep(); // progressDeadlineSeconds 60
    // the canary gets no requests at all: no canary series, no value
    sim.metrics = (): MetricResult[] =>
      sim.spec.analysis.metrics.map((m) => ({
        name: m.name,
        thresholdRange: m.thresholdRange,
        unit: m.name === "request-success-rate" ? "%" : "ms",
        error: "no values found (no canary requests in 45s?)",
        noData: true,
        canaryRequests: 0,
        primaryRequests: 4000,
        window: "45s",
      }));
    while (sim.analyses < 1) sim.next();
    const holdStart = sim.clock;
    expect(sim.status.run?.holdingSince).toBe(new Date(holdStart).toISOString());
    expect(sim.status.failedChecks ?? 0).toBe(0);
    while (sim.analyses < 2) sim.next();
    expect(sim.clock - holdStart).toBeLessThanOrEqual(60 * SEC);
    expect(sim.status.failedChecks ?? 0).toBe(0);
    while (sim.analyses < 3) sim.next();
    expect(sim.clock - holdStart).toBeGreaterThan(60 * SEC);
    const d = sim.log[sim.log.length - 1]?.decision;
    expect(d?.status).toMatchObject({ phase: "Progressing", canaryWeight: 10, failedChecks: 1 });
    expect(d?.reason).toContain("request-success-rate: no values found");
    expect(d?.reason).toContain("progressDeadlineSeconds 60s");
    expect(d?.events.map((e) => e.reason)).toEqual(["Halted"]);
    // judged on what there is: the metric's own window again (an early outlier must age out), the wait's
    // start kept (so further checks without evidence fail too)
    expect(sim.status.run?.windowFrom).toBeUndefined();
    expect(sim.status.run?.holdingSince).toBe(new Date(holdStart).toISOString());
    while (sim.analyses < 4) sim.next();
    expect(sim.status.failedChecks).toBe(2);
    sim.runUntil("Failed", 100);
    expect(sim.status.failedChecks).toBe(SEQ.analysis.threshold);
  });

  it("noData: fail makes too few requests a failed check at once", () => {
    const spec = sequential({
      metrics: [
        { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m", noData: "fail" },
      ],
    });
    const sim = atFirstStep(spec);
    sim.metrics = builtins(sim, () => ({ rate: 100, canaryRequests: 5 }));
    while (sim.analyses < 1) sim.next();
    expect(sim.status.failedChecks).toBe(1);
    expect(sim.status.run?.windowFrom).toBeUndefined();
  });
});

describe("sequential judge: pacing", () => {
  const LOOK_3S = 3 * SEC;
  const spec = sequential({
    judge: { mode: "sequential", lookInterval: "3s" },
    webhooks: [{ name: "approve", type: "confirm-promotion", url: "http://gate.test/approve" }],
  });

  it("never waits longer than judge.lookInterval while the canary has traffic: steps, holds, failed checks, approvals", () => {
    const sim = atFirstStep(spec);
    // a failed check, a shared incident, a pass, a hold for evidence, then healthy
    sim.metrics = builtins(sim, (n) =>
      n === 1
        ? { rate: 97, primaryRate: 99.9 }
        : n === 2
          ? { rate: 97, primaryRate: 97 }
          : n === 4
            ? { rate: 100, canaryRequests: 3 }
            : { rate: 99.9 },
    );
    sim.hooks["confirm-promotion"] = { ok: false, message: "not approved yet" };
    const from = sim.log.length - 1; // the step that started the traffic
    for (let i = 0; i < 300 && sim.status.phase !== "WaitingPromotion"; i++) sim.next();
    expect(sim.status.phase).toBe("WaitingPromotion");
    for (let i = 0; i < 40; i++) sim.next();
    expect(sim.status.phase).toBe("WaitingPromotion");
    sim.hooks["confirm-promotion"] = { ok: true, message: "approved" };
    sim.runUntil("Succeeded", 100);

    const watched = sim.log
      .slice(from)
      .filter((r) => ["Progressing", "WaitingPromotion"].includes(r.decision.status.phase ?? ""));
    expect(watched.length).toBeGreaterThan(50);
    for (const r of watched) {
      expect(r.decision.requeueAfterMs).toBeDefined();
      expect(r.decision.requeueAfterMs ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(LOOK_3S);
    }
    const reasons = sim.log.slice(from).flatMap((r) => r.decision.events.map((e) => e.reason));
    expect(reasons).toEqual(
      expect.arrayContaining(["Halted", "WaitingForEvidence", "SharedIncident", "WaitingPromotion"]),
    );
  });

  it("threshold mode keeps Flagger's pace: one wake-up per interval", () => {
    const sim = atFirstStep(THR);
    expect(sim.log[sim.log.length - 1]?.decision.requeueAfterMs).toBe(INTERVAL);
    sim.next();
    expect(sim.log[sim.log.length - 1]?.decision.requeueAfterMs).toBe(INTERVAL);
  });
});

describe("sequential judge: decisions that ask for inputs", () => {
  it("a look between checks asks for the served counts without changing status, then writes nothing", () => {
    const sim = atFirstStep();
    const status = deepFreeze(structuredClone(sim.status));
    const at = sim.clock + LOOK;
    const ask = decide(REF, SEQ, status, world({ now: at, target: target("rev-2") }));
    expect(ask.needsServed).toBe(true);
    expect(ask.needsAnalysis).toBe(false);
    expect(ask.status).toBe(status);
    expect(ask.events).toEqual([]);

    const served = sim.served(new Date(at));
    const looked = decide(REF, SEQ, status, world({ now: at, target: target("rev-2"), served }));
    expect(looked.needsServed).toBe(false);
    // the evidence goes to the shell's memory, not to status: no write between checks
    expect(looked.status).toBe(status);
    expect(looked.evidence).toMatchObject({ asOf: new Date(at).toISOString(), canary: served.canary });
    expect(looked.requeueAfterMs).toBe(LOOK);
  });

  it("the shell's newer evidence means no read until the next look is due", () => {
    const sim = atFirstStep();
    sim.next(); // a look: the evidence is held by the shell
    const reads = sim.servedReads;
    const d = sim.advance(1 * SEC).tick();
    expect(sim.servedReads).toBe(reads);
    expect(d.needsServed).toBe(false);
    expect(d.requeueAfterMs).toBeLessThanOrEqual(LOOK);
  });

  it("Prometheus unreachable for the counts: no look, and no rollback from the judge", () => {
    const sim = atFirstStep();
    const status = deepFreeze(structuredClone(sim.status));
    const at = new Date(sim.clock + LOOK);
    const d = decide(
      REF,
      SEQ,
      status,
      world({
        now: at,
        target: target("rev-2"),
        served: { at, error: "Prometheus x unreachable: ECONNREFUSED" },
      }),
    );
    expect(d.status).toBe(status);
    expect(d.needsServed).toBe(false);
    expect(d.requeueAfterMs).toBeLessThanOrEqual(LOOK);
  });
});

describe("runs and their records", () => {
  it("a new revision mid-run starts a fresh run record: the old run's counts and evidence are not carried", () => {
    const sim = atFirstStep();
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.01, primaryErrors: 0.01 }));
    while (sim.analyses < 1) sim.next();
    expect(sim.status.canaryWeight).toBe(20);
    expect(sim.status.run?.canary?.requests).toBeGreaterThan(0);
    expect(sim.status.run?.checks).toHaveLength(1);

    sim.target = target("rev-3");
    const restart = sim.next();
    expect(restart.events.map((e) => e.reason)).toEqual(["RevisionChanged"]);
    expect(restart.status).toMatchObject({ phase: "Progressing", canaryWeight: 0, lastAppliedSpec: "rev-3" });
    expect(restart.status.run).toEqual({ revision: "rev-3" });

    sim.next(); // the first step of the new run: its own traffic start
    expect(sim.status.canaryWeight).toBe(10);
    const since = Date.parse(sim.status.run?.trafficSince ?? "");
    expect(since).toBe(sim.clock);
    while (sim.analyses < 2) sim.next();
    const run = sim.status.run;
    expect(run?.revision).toBe("rev-3");
    expect(run?.checks).toHaveLength(1);
    // counts since the new traffic start only: 45 s at 10% of 100 requests/s
    expect(run?.canary).toEqual({
      requests: Math.round(100 * 0.1 * ((sim.clock - since) / 1000)),
      errors: 5,
    });
    expect(Date.parse(run?.evidence?.asOf ?? "")).toBeGreaterThan(since);
  });

  it("the Succeeded event says what the release served, and how much of it failed", () => {
    const sim = atFirstStep(SEQ, "docker.io/istioinaction/catalog:v3");
    sim.served = trafficOf(sim, () => ({ rps: 100, canaryErrors: 0.002, primaryErrors: 0.002 }));
    sim.runUntil("Succeeded", 400);
    const d = sim.log[sim.log.length - 1]?.decision;
    const served = sim.status.run?.canary;
    expect(served?.requests).toBeGreaterThan(0);
    const expected = `Promotion completed! Scaling down catalog.test; catalog:v3 served ${served?.requests.toLocaleString("en-US")} requests, ${served?.errors} failed`;
    expect(d?.reason).toBe(expected);
    expect(d?.events).toEqual([{ type: "Normal", reason: "Succeeded", message: expected }]);
  });
});

describe("validation of judge settings", () => {
  const spec = (judge: Record<string, unknown>, interval = "45s"): CanarySpec => {
    const example = catalogExample("test");
    return {
      ...example.spec,
      analysis: { ...example.spec.analysis, interval, judge },
    } as unknown as CanarySpec;
  };
  const canary = (judge: Record<string, unknown>) => {
    const example = catalogExample("test");
    return { ...example, spec: { ...example.spec, analysis: { ...example.spec.analysis, judge } } };
  };

  it("accepts a look interval from 1s to the analysis interval", () => {
    expect(canarySpecProblems(spec({ mode: "sequential", lookInterval: "1s" }))).toEqual([]);
    expect(canarySpecProblems(spec({ mode: "sequential", lookInterval: "45s" }))).toEqual([]);
    expect(validateCanary(canary({ mode: "sequential", lookInterval: "5s", minRequests: 50 })).ok).toBe(true);
  });

  it("a look interval below 1s or above the analysis interval is a problem naming the field", () => {
    for (const lookInterval of ["500ms", "46s", "2m"]) {
      const problems = canarySpecProblems(spec({ mode: "sequential", lookInterval }));
      expect(problems).toHaveLength(1);
      expect(problems[0]?.field).toBe("spec.analysis.judge.lookInterval");
      expect(problems[0]?.message).toBe(
        `spec.analysis.judge.lookInterval (${lookInterval}) must be from 1s to the analysis interval (45s)`,
      );
    }
  });

  it("sequential-only settings with mode threshold are problems naming them", () => {
    const one = canarySpecProblems(spec({ mode: "threshold", falseAlarmRate: 0.05 }));
    expect(one).toEqual([
      {
        field: "spec.analysis.judge.falseAlarmRate",
        message:
          "spec.analysis.judge.falseAlarmRate is used by the sequential judge only, and mode is threshold",
        fix: "set spec.analysis.judge.mode: sequential, or remove falseAlarmRate",
      },
    ]);
    const two = canarySpecProblems(spec({ mode: "threshold", minRequests: 50, lookInterval: "5s" }));
    expect(two).toHaveLength(1);
    expect(two[0]?.message).toContain("lookInterval, minRequests are used by the sequential judge only");
  });

  it("validateCanary rejects them (InvalidSpec) with the field", () => {
    const v = validateCanary(canary({ mode: "threshold", minRequests: 50 }));
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.problems.map((p) => p.field)).toEqual(["spec.analysis.judge.minRequests"]);
    const w = validateCanary(canary({ mode: "sequential", lookInterval: "0s" }));
    expect(w.ok).toBe(false);
    if (!w.ok) expect(w.problems.map((p) => p.field)).toContain("spec.analysis.judge.lookInterval");
  });

  it("out-of-range numbers are rejected by the schema", () => {
    for (const judge of [
      { falseAlarmRate: 0.5 },
      { falseAlarmRate: 0 },
      { minRequests: 0 },
      { mode: "bayes" },
    ]) {
      const v = validateCanary(canary(judge));
      expect(v.ok).toBe(false);
      if (!v.ok) expect(v.problems.some((p) => p.field.startsWith("spec.analysis.judge"))).toBe(true);
    }
  });
});

describe("judge settings under the controller's default", () => {
  it("sequential settings without a mode, under --judge threshold, are named as having no effect", () => {
    const spec = catalogSpec({ analysis: { judge: { falseAlarmRate: 0.05, minRequests: 50 } } });
    expect(ignoredJudgeSettings(withJudgeDefault(spec, "threshold"))).toBe(
      "analysis.judge.falseAlarmRate, minRequests have no effect: this controller's --judge is threshold and analysis.judge.mode is unset; set mode: sequential to use them",
    );
    expect(ignoredJudgeSettings(withJudgeDefault(spec, "sequential"))).toBeUndefined();
    expect(ignoredJudgeSettings(withJudgeDefault(SEQ, "threshold"))).toBeUndefined();
  });
});
