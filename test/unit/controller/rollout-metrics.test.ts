// /metrics after scripted rollouts: the real decision core decides every reconcile (test/unit/core/sim.ts),
// and each one is recorded the way the reconciler records it (rollout-metrics.ts). With --flagger-metrics
// the text carries Flagger's names, labels and values as Flagger v1.36.1 sets them; without it, none.
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { CanaryStatus } from "../../../src/api/canary.js";
import type { EffectiveSpec } from "../../../src/api/defaults.js";
import { canaryCounter, RolloutMetrics } from "../../../src/controller/rollout-metrics.js";
import { GO_DEFAULT_BUCKETS } from "../../../src/observability/flagger-metrics.js";
import { ControllerMetrics } from "../../../src/observability/metrics.js";
import { SERIN_VERSION } from "../../../src/version.js";
import { catalogSpec, ERRORS, HEALTHY, SEC, Sim, target } from "../core/sim.js";

/** The Canary is named apart from its target, as in examples/catalog: Flagger labels by the target. */
const REF = { name: "catalog-release", namespace: "test" };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The exposition text as samples (the format Prometheus scrapes). */
async function scrape(metrics: ControllerMetrics): Promise<Sample[]> {
  const text = await metrics.registry.metrics();
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ""] = l[2] ?? "";
    out.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return out;
}

const find = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const single = (samples: Sample[], name: string, labels: Record<string, string>) => {
  const found = find(samples, name, labels);
  if (found.length !== 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0]?.value;
};

/** One rollout, reconcile by reconcile, with a scrape after each. */
class Rollout {
  readonly metrics: ControllerMetrics;
  readonly rollout: RolloutMetrics;
  readonly sim: Sim;
  readonly scrapes: Array<{ phase: string; samples: Sample[] }> = [];

  constructor(spec: EffectiveSpec, flagger: boolean) {
    this.metrics = new ControllerMetrics({
      processMetrics: false,
      ...(flagger ? { flagger: { version: SERIN_VERSION } } : {}),
    });
    this.rollout = new RolloutMetrics(this.metrics);
    this.sim = new Sim(spec, { target: target("rev-1") });
  }

  /** A reconcile as reconciler.ts records it: checks when they ran, then what reached status. */
  async reconcile(waitMs: number): Promise<void> {
    const { sim } = this;
    const before: CanaryStatus = structuredClone(sim.status);
    const hooksBefore = sim.hookCalls.length;
    const d = sim.advance(waitMs).tick();
    const analysed = sim.log[sim.log.length - 1]?.analysed;
    if (analysed) this.rollout.checks(REF, sim.spec, analysed);
    this.rollout.record({
      ref: REF,
      spec: sim.spec,
      before,
      recorded: d.status,
      // writeStatus writes only a changed status
      decided: JSON.stringify(before) !== JSON.stringify(d.status),
      events: d.events,
      evidence: d.evidence,
      analysed: analysed !== undefined || sim.hookCalls.length > hooksBefore,
      seconds: 0.02,
    });
    this.scrapes.push({ phase: d.status.phase ?? "", samples: await scrape(this.metrics) });
  }

  /** Initialized on rev-1, then rev-2 pushed and followed until it ends. */
  async run(): Promise<string> {
    await this.reconcile(0);
    await this.reconcile(5 * SEC);
    this.sim.target = target("rev-2");
    for (let i = 0; i < 60; i++) {
      await this.reconcile(this.sim.log[this.sim.log.length - 1]?.decision.requeueAfterMs ?? 0);
      const phase = this.sim.status.phase;
      if (phase === "Succeeded" || phase === "Failed") return phase;
    }
    throw new Error(`no end: ${this.sim.trail().join(" ")}`);
  }

  last(): Sample[] {
    return this.scrapes[this.scrapes.length - 1]?.samples ?? [];
  }
}

const TARGET = { name: "catalog", namespace: "test" };

describe("Flagger's metrics (--flagger-metrics), set from the reconcile's decisions", () => {
  it("a healthy canary release: info, status codes, both workloads' weights, analysis values, duration, one success", async () => {
    const r = new Rollout(catalogSpec(), true);
    expect(await r.run()).toBe("Succeeded");
    const last = r.last();
    expect(single(last, "flagger_info", { version: SERIN_VERSION, mesh_provider: "istio" })).toBe(1);

    // Nothing before initialization; status from Initialized on, weights only from the first rollout on.
    const [initializing, initialized] = r.scrapes;
    expect(initializing?.phase).toBe("Initializing");
    expect(initializing?.samples.filter((s) => s.name.startsWith("flagger_canary_"))).toEqual([]);
    expect(initialized?.phase).toBe("Initialized");
    expect(single(initialized?.samples ?? [], "flagger_canary_status", TARGET)).toBe(1);
    expect(find(initialized?.samples ?? [], "flagger_canary_weight")).toEqual([]);

    // flagger_canary_status: 0 while Progressing, 1 in every other phase but Failed.
    for (const s of r.scrapes.slice(2)) {
      const expected = s.phase === "Progressing" ? 0 : s.phase === "Failed" ? 2 : 1;
      expect([s.phase, single(s.samples, "flagger_canary_status", TARGET)]).toEqual([s.phase, expected]);
    }
    // flagger_canary_weight for BOTH workloads, summing to 100, through the steps and back.
    const canaryWeights = r.scrapes.slice(2).map((s) => {
      const canary = single(s.samples, "flagger_canary_weight", { workload: "catalog", namespace: "test" });
      const primary = single(s.samples, "flagger_canary_weight", {
        workload: "catalog-primary",
        namespace: "test",
      });
      expect((canary ?? 0) + (primary ?? 0)).toBe(100);
      return canary;
    });
    expect(canaryWeights.filter((w, i) => w !== canaryWeights[i - 1])).toEqual([0, 10, 20, 30, 40, 50, 0]);
    expect(
      find(last, "flagger_canary_weight")
        .map((s) => s.labels.workload)
        .sort(),
    ).toEqual(["catalog", "catalog-primary"]);

    // The last value of each check, request-duration in seconds as Flagger reports it.
    expect(
      single(last, "flagger_canary_metric_analysis", { ...TARGET, metric: "request-success-rate" }),
    ).toBe(HEALTHY["request-success-rate"]);
    expect(single(last, "flagger_canary_metric_analysis", { ...TARGET, metric: "request-duration" })).toBe(
      HEALTHY["request-duration"] / 1000,
    );

    // One observation per analysis tick, in Go's default buckets.
    const analysisTicks = r.sim.analyses;
    expect(analysisTicks).toBeGreaterThanOrEqual(5);
    expect(single(last, "flagger_canary_duration_seconds_count", TARGET)).toBe(analysisTicks);
    expect(find(last, "flagger_canary_duration_seconds_bucket", TARGET).map((s) => s.labels.le)).toEqual([
      ...GO_DEFAULT_BUCKETS.map(String),
      "+Inf",
    ]);

    expect(
      single(last, "flagger_canary_successes_total", {
        ...TARGET,
        deployment_strategy: "canary",
        analysis_status: "completed",
      }),
    ).toBe(1);
    expect(find(last, "flagger_canary_failures_total")).toEqual([]);
    // Labelled by the target, never by the Canary's own name.
    expect(last.filter((s) => s.name.startsWith("flagger_") && s.labels.name === REF.name)).toEqual([]);
  });

  it("a release that fails its checks: status 2, weights back to 100/0, one failure and no success", async () => {
    const r = new Rollout(catalogSpec(), true);
    r.sim.metrics = ERRORS;
    expect(await r.run()).toBe("Failed");
    const last = r.last();
    expect(single(last, "flagger_canary_status", TARGET)).toBe(2);
    expect(single(last, "flagger_canary_weight", { workload: "catalog", namespace: "test" })).toBe(0);
    expect(single(last, "flagger_canary_weight", { workload: "catalog-primary", namespace: "test" })).toBe(
      100,
    );
    expect(
      single(last, "flagger_canary_metric_analysis", { ...TARGET, metric: "request-success-rate" }),
    ).toBe(ERRORS["request-success-rate"]);
    expect(
      single(last, "flagger_canary_failures_total", {
        ...TARGET,
        deployment_strategy: "canary",
        analysis_status: "completed",
      }),
    ).toBe(1);
    expect(find(last, "flagger_canary_successes_total")).toEqual([]);
  });

  it("A/B testing sends the matched traffic to the canary (weights 0/100); skipAnalysis counts as skipped", async () => {
    const ab = new Rollout(
      catalogSpec({ analysis: { iterations: 2, stepWeight: undefined, maxWeight: undefined } }),
      true,
    );
    expect(await ab.run()).toBe("Succeeded");
    const progressing = ab.scrapes.find((s) => s.phase === "Progressing" && s !== ab.scrapes[2]);
    expect(
      single(progressing?.samples ?? [], "flagger_canary_weight", {
        workload: "catalog",
        namespace: "test",
      }),
    ).toBe(100);
    expect(
      single(ab.last(), "flagger_canary_successes_total", {
        ...TARGET,
        deployment_strategy: "ab-testing",
        analysis_status: "completed",
      }),
    ).toBe(1);

    const skipped = new Rollout(catalogSpec({ spec: { skipAnalysis: true } }), true);
    expect(await skipped.run()).toBe("Succeeded");
    expect(
      single(skipped.last(), "flagger_canary_successes_total", {
        ...TARGET,
        deployment_strategy: "canary",
        analysis_status: "skipped",
      }),
    ).toBe(1);
    expect(find(skipped.last(), "flagger_canary_duration_seconds_count")).toEqual([]);
  });

  it("counts an outcome once: not while its status write has not gone through, not when seen again", async () => {
    const metrics = new ControllerMetrics({ processMetrics: false, flagger: { version: SERIN_VERSION } });
    const rollout = new RolloutMetrics(metrics);
    const spec = catalogSpec();
    const succeeded = { type: "Normal", reason: "Succeeded", message: "Promotion completed!" } as const;
    const record = (decided: boolean, before: CanaryStatus, events = [succeeded]) =>
      rollout.record({
        ref: REF,
        spec,
        before,
        recorded: { phase: "Succeeded", canaryWeight: 0 },
        decided,
        events,
        evidence: undefined,
        analysed: false,
        seconds: 0.01,
      });
    const successes = async () =>
      find(await scrape(metrics), "flagger_canary_successes_total", TARGET).map((s) => s.value);
    const finalising: CanaryStatus = { phase: "Finalising", canaryWeight: 0 };
    record(false, finalising); // 409: decided again next time
    expect(await successes()).toEqual([]);
    record(true, finalising);
    record(true, { phase: "Succeeded" }, []); // a later write that stays in Succeeded (a note)
    expect(await successes()).toEqual([1]);
    expect(
      single(await scrape(metrics), "serin_canary_decisions_total", { ...REF, reason: "Succeeded" }),
    ).toBe(1);
  });

  it("a deleted Canary takes its per-target series along (the counters stay, as counters do)", async () => {
    const r = new Rollout(catalogSpec(), true);
    await r.run();
    r.rollout.forget(REF);
    const after = await scrape(r.metrics);
    for (const name of ["flagger_canary_status", "flagger_canary_weight", "flagger_canary_metric_analysis"])
      expect(find(after, name)).toEqual([]);
    expect(find(after, "flagger_canary_duration_seconds_count")).toEqual([]);
    expect(find(after, "flagger_canary_successes_total", TARGET)).toHaveLength(1);
    for (const name of ["serin_canary_phase", "serin_canary_info", "serin_canary_metric_value"])
      expect(find(after, name, REF)).toEqual([]);
  });

  it("a second Canary refused for the same target (never initialized) leaves the first's series when it goes", async () => {
    const r = new Rollout(catalogSpec(), true);
    await r.run();
    const refused = { name: "catalog-copy", namespace: "test" };
    r.rollout.record({
      ref: refused,
      spec: r.sim.spec,
      before: {},
      recorded: {},
      decided: false,
      events: [],
      evidence: undefined,
      analysed: false,
      seconds: 0.001,
    });
    r.rollout.forget(refused);
    const after = await scrape(r.metrics);
    expect(single(after, "flagger_canary_status", TARGET)).toBe(1);
    expect(find(after, "flagger_canary_weight")).toHaveLength(2);
  });

  it("flagger_canary_total per namespace, beside serin_canary_total", async () => {
    const metrics = new ControllerMetrics({ processMetrics: false, flagger: { version: SERIN_VERSION } });
    const count = canaryCounter(metrics);
    const canary = (namespace: string, name: string) =>
      ({ metadata: { namespace, name } }) as KubernetesObject;
    count([canary("a", "x"), canary("a", "y"), canary("b", "z")]);
    let samples = await scrape(metrics);
    expect(single(samples, "serin_canary_total", {})).toBe(3);
    expect(single(samples, "flagger_canary_total", { namespace: "a" })).toBe(2);
    expect(single(samples, "flagger_canary_total", { namespace: "b" })).toBe(1);
    count([canary("a", "x")]);
    samples = await scrape(metrics);
    expect(single(samples, "flagger_canary_total", { namespace: "a" })).toBe(1);
    expect(find(samples, "flagger_canary_total", { namespace: "b" })).toEqual([]);
  });
});

describe("Serin's own canary metrics", () => {
  it("without the flag there is nothing named flagger_*; Serin's phase, decisions, workloads and check values are there", async () => {
    const r = new Rollout(catalogSpec(), false);
    expect(await r.run()).toBe("Succeeded");
    for (const s of r.scrapes) expect(s.samples.filter((x) => x.name.startsWith("flagger_"))).toEqual([]);
    const last = r.last();
    // One phase series per Canary: the current one.
    expect(find(last, "serin_canary_phase", REF).map((s) => [s.labels.phase, s.value])).toEqual([
      ["Succeeded", 1],
    ]);
    expect(
      single(last, "serin_canary_info", {
        ...REF,
        workload: "catalog",
        primary_workload: "catalog-primary",
      }),
    ).toBe(1);
    expect(single(last, "serin_canary_decisions_total", { ...REF, reason: "Succeeded" })).toBe(1);
    expect(single(last, "serin_canary_decisions_total", { ...REF, reason: "Progressing" })).toBeGreaterThan(
      0,
    );
    expect(
      single(last, "serin_canary_metric_value", { ...REF, metric: "request-duration", workload: "catalog" }),
    ).toBe(HEALTHY["request-duration"]);
    const weights = r.scrapes.map((s) => single(s.samples, "serin_canary_weight", REF));
    expect(Math.max(...weights.map((w) => w ?? 0))).toBe(50);
  });
});
