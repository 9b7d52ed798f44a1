// kubectl serin replay without a cluster: --set editing and validation, the choice of the run, the
// replay loop over the real decide() with metric answers from a table, the comparison with the recorded
// checks, and the rendering.
import { describe, expect, it } from "vitest";
import type { Canary, CanaryStatus, CheckRecord, RunRecord } from "../../../src/api/canary.js";
import type { EffectiveSpec } from "../../../src/api/defaults.js";
import { parseArgs, UsageError } from "../../../src/cli/args.js";
import { CliError } from "../../../src/cli/errors.js";
import { recordedRun } from "../../../src/cli/replay/recorded.js";
import { renderReplay, replayView } from "../../../src/cli/replay/render.js";
import { replay } from "../../../src/cli/replay/replay.js";
import { editCanary, parseSet, SpecEditError } from "../../../src/cli/replay/spec-edit.js";
import type { MetricAnswers, RecordedRun } from "../../../src/cli/replay/types.js";
import type { MetricResult } from "../../../src/core/world.js";
import { canary } from "./fixtures.js";

const T0 = Date.parse("2026-12-02T10:00:00Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** The catalog Canary with a 10 s interval and threshold 2 (as in the e2e test). */
function catalog(status: CanaryStatus = {}): Canary {
  const c = canary("catalog-release", status);
  return {
    ...c,
    spec: { ...c.spec, analysis: { ...c.spec.analysis, interval: "10s", threshold: 2 } },
  };
}

function edited(c: Canary, ...sets: string[]): { canary: Canary; spec: EffectiveSpec } {
  const e = editCanary(c, sets.map(parseSet));
  if (!e.ok) throw new Error(e.error);
  return e;
}

/** Metric answers from a function of (metric, seconds since T0); records when it was asked. */
function answers(rate: (t: number) => number): MetricAnswers & { asked: number[]; servedAt: number[] } {
  const asked: number[] = [];
  const servedAt: number[] = [];
  return {
    asked,
    servedAt,
    async analyse(spec, run, now) {
      const t = (now.getTime() - T0) / 1000;
      asked.push(t);
      expect(run?.trafficSince).toBe(at(0));
      return spec.analysis.metrics.map(
        (m): MetricResult => ({
          name: m.name,
          value: m.name === "request-success-rate" ? rate(t) : 12,
          thresholdRange: m.thresholdRange,
          unit: m.name === "request-success-rate" ? "%" : "ms",
          primaryValue: m.name === "request-success-rate" ? 100 : 11,
          canaryRequests: 40,
          primaryRequests: 360,
          window: "10s",
        }),
      );
    },
    async served(_spec, since, now) {
      servedAt.push((now.getTime() - T0) / 1000);
      expect(since.toISOString()).toBe(at(0));
      // 4 requests/s to the canary, 20% failing; 36/s to the primary, none failing
      const t = (now.getTime() - since.getTime()) / 1000;
      return {
        at: now,
        canary: { requests: 4 * t, errors: Math.floor(0.8 * t) },
        primary: { requests: 36 * t, errors: 0 },
      };
    },
  };
}

const check = (t: number, verdict: "passed" | "failed", weight = 10): CheckRecord => ({
  time: at(t),
  canaryWeight: weight,
  verdict,
  metrics: [{ name: "request-success-rate", verdict, canary: 80 }],
});

/** v3-bad rolled back after two failed checks at weight 10, taken a little after they were due. */
function failedRun(): RecordedRun {
  return {
    number: 2,
    revision: "rev-bad",
    image: "istioinaction/catalog:v3-bad",
    startedAt: at(0),
    endedAt: at(20.4),
    outcome: "Failed",
    canaryWeight: 10,
    failedChecks: 2,
    reason: "request-success-rate 80.00% < 99%",
    checks: [check(10.2, "failed"), check(20.4, "failed")],
    checksComplete: true,
    weights: [
      { time: at(0), weight: 10 },
      { time: at(10.2), weight: 10 },
      { time: at(20.4), weight: 0 },
    ],
  };
}

const ref = { name: "catalog-release", namespace: "shop" };

describe("--set: editing the analysis", () => {
  it("reads values as YAML scalars and paths with metrics by name or index", () => {
    expect(parseSet("analysis.threshold=3").value).toBe(3);
    expect(parseSet("analysis.interval=30s").value).toBe("30s");
    expect(parseSet("spec.analysis.judge.mode=sequential").path).toEqual(["analysis", "judge", "mode"]);
    expect(parseSet("analysis.metrics[request-success-rate].thresholdRange.min=99.5")).toMatchObject({
      path: ["analysis", "metrics", { name: "request-success-rate" }, "thresholdRange", "min"],
      value: 99.5,
    });
    expect(parseSet("analysis.metrics[1].interval=1m").path).toEqual(["analysis", "metrics", 1, "interval"]);
    expect(parseSet("analysis.stepWeights=[5, 20, 50]").value).toEqual([5, 20, 50]);
    expect(parseSet("analysis.judge=null").value).toBeUndefined();
    expect(() => parseSet("analysis.threshold")).toThrow(SpecEditError);
    expect(() => parseSet("analysis..threshold=3")).toThrow(/cannot read the path/);
  });

  it("applies edits through the controller's schema and defaults, and says what changed", () => {
    const e = edited(
      catalog(),
      "analysis.threshold=3",
      "analysis.metrics[request-success-rate].thresholdRange.min=99.5",
      "analysis.judge.mode=sequential",
    );
    expect(e.spec.analysis.threshold).toBe(3);
    expect(e.spec.analysis.metrics[0]?.thresholdRange.min).toBe(99.5);
    expect(e.spec.analysis.judge.mode).toBe("sequential");
    const result = editCanary(catalog(), [parseSet("analysis.threshold=3")]);
    expect(result.ok && result.edits).toEqual([
      { set: "analysis.threshold=3", path: "analysis.threshold", before: 2, after: 3 },
    ]);
  });

  it("refuses a bad path or value, naming the --set", () => {
    const bad = (set: string) => {
      const e = editCanary(catalog(), [parseSet(set)]);
      if (e.ok) throw new Error(`${set} was accepted`);
      return e.error;
    };
    expect(bad("analysis.treshold=3")).toMatch(/--set analysis.treshold=3: spec.analysis.*treshold/);
    expect(bad("analysis.threshold=0")).toMatch(/--set analysis.threshold=0: spec.analysis.threshold/);
    expect(bad("analysis.interval=5s")).toMatch(/--set analysis.interval=5s: spec.analysis.interval/);
    expect(bad("analysis.metrics[error-rate].thresholdRange.max=1")).toMatch(
      /no item named "error-rate" \(it has request-success-rate, request-duration\)/,
    );
    expect(bad("analysis.threshold.min=3")).toMatch(/analysis.threshold is not an object/);
  });
});

describe("replay's flags", () => {
  it("parses --run, repeated --set and --prometheus for replay only", () => {
    const p = parseArgs([
      "replay",
      "catalog-release",
      "--run",
      "3",
      "--set",
      "analysis.threshold=3",
      "--set=analysis.interval=30s",
      "--prometheus",
      "http://127.0.0.1:9090",
    ]);
    expect(p.kind === "run" && p.options).toMatchObject({
      command: "replay",
      name: "catalog-release",
      run: 3,
      set: ["analysis.threshold=3", "analysis.interval=30s"],
      prometheus: "http://127.0.0.1:9090",
    });
    const current = parseArgs(["replay", "x", "--run", "current"]);
    expect(current.kind === "run" && current.options.run).toBe("current");
    expect(() => parseArgs(["replay", "x", "--run", "last"])).toThrow(UsageError);
    expect(() => parseArgs(["get", "x", "--set", "a=1"])).toThrow("--set is for replay, not get");
    expect(() => parseArgs(["history", "x", "--prometheus", "http://p"])).toThrow(
      "--prometheus is for replay",
    );
  });
});

describe("which run is replayed", () => {
  const history = [
    {
      run: 1,
      revision: "rev-v2",
      outcome: "Succeeded" as const,
      startedAt: at(-300),
      endedAt: at(-200),
      canaryWeight: 50,
      reason: "Promotion completed!",
    },
    {
      run: 2,
      revision: "rev-bad",
      image: "istioinaction/catalog:v3-bad",
      outcome: "Failed" as const,
      startedAt: at(0),
      endedAt: at(20.4),
      canaryWeight: 10,
      failedChecks: 2,
      reason: "request-success-rate 80.00% < 99%",
    },
  ];
  const run: RunRecord = {
    revision: "rev-bad",
    trafficSince: at(0),
    checks: [check(10.2, "failed"), check(20.4, "failed")],
  };
  const c = catalog({ phase: "Failed", history, run });

  it("defaults to the latest entry, with the checks status still holds for it", () => {
    const r = recordedRun(c, undefined, new Date(T0 + 60_000));
    expect(r).toMatchObject({ number: 2, outcome: "Failed", startedAt: at(0), endedAt: at(20.4) });
    expect(r.checks).toHaveLength(2);
    expect(r.checksComplete).toBe(true);
    const older = recordedRun(c, 1, new Date(T0 + 60_000));
    expect(older).toMatchObject({ number: 1, outcome: "Succeeded", checks: [], checksComplete: false });
  });

  it("says which runs there are when --run names none, and when there is no run under way", () => {
    expect(() => recordedRun(c, 99, new Date())).toThrow(CliError);
    expect(() => recordedRun(c, 99, new Date())).toThrow(
      "canary catalog-release has no run 99; runs kept in status.history: 1, 2",
    );
    expect(() => recordedRun(c, "current", new Date())).toThrow(/no run under way/);
  });

  it("replays the run under way up to now", () => {
    const live = catalog({ phase: "Progressing", canaryWeight: 20, run });
    const r = recordedRun(live, "current", new Date(T0 + 25_000));
    expect(r).toMatchObject({ outcome: "Running", startedAt: at(0), endedAt: at(25), canaryWeight: 20 });
  });
});

describe("the replay loop (the real decide(), answers from a table)", () => {
  it("reproduces the recorded run with the same analysis: same checks at the recorded times, same end", async () => {
    const e = edited(catalog());
    const a = answers(() => 80);
    const r = await replay({ ref, canary: e.canary, spec: e.spec, run: failedRun(), answers: a });
    // The first step at the traffic start, then the checks at the controller's own (recorded) times.
    expect(r.steps.map((s) => [s.kind, s.offsetSeconds, s.verdict ?? "-", s.differs])).toEqual([
      ["step", 0, "-", false],
      ["check", 10.2, "failed", false],
      ["check", 20.4, "failed", false],
    ]);
    expect(a.asked).toEqual([10.2, 20.4]);
    expect(r.end).toMatchObject({
      outcome: "Failed",
      offsetSeconds: 20.4,
      canaryWeight: 10,
      failedChecks: 2,
    });
    expect(r.sameOutcome).toBe(true);
    expect(r.steps[1]?.recorded?.verdict).toBe("failed");
    expect(r.steps[1]?.recordedWeight).toBe(10);
  });

  it("a lenient threshold passes the same numbers: the run would still be running at the recorded end", async () => {
    const e = edited(catalog(), "analysis.metrics[request-success-rate].thresholdRange.min=70");
    const r = await replay({
      ref,
      canary: e.canary,
      spec: e.spec,
      run: failedRun(),
      answers: answers(() => 80),
    });
    expect(
      r.steps.map((s) => [s.kind, s.offsetSeconds, s.verdict ?? "-", s.weight, s.nextWeight, s.differs]),
    ).toEqual([
      ["step", 0, "-", 0, 10, false],
      ["check", 10.2, "passed", 10, 20, true],
      ["check", 20.4, "passed", 20, 30, true],
    ]);
    // At 20.4 s the data still reflects weight 10, as the run really had it.
    expect(r.steps[2]?.recordedWeight).toBe(10);
    expect(r.end).toMatchObject({ outcome: "Running", offsetSeconds: 20.4, canaryWeight: 30 });
    expect(r.sameOutcome).toBe(false);
  });

  it("threshold 1 rolls back at the first check; the recorded check after it is shown as recorded only", async () => {
    const e = edited(catalog(), "analysis.threshold=1");
    const r = await replay({
      ref,
      canary: e.canary,
      spec: e.spec,
      run: failedRun(),
      answers: answers(() => 80),
    });
    expect(r.end).toMatchObject({ outcome: "Failed", offsetSeconds: 10.2, failedChecks: 1 });
    expect(r.sameOutcome).toBe(true);
    expect(r.steps.at(-1)).toMatchObject({ kind: "recorded-only", offsetSeconds: 20.4, differs: true });
  });

  it("promotes a healthy run at its last step; without recorded checks it keeps the nominal interval", async () => {
    const e = edited(catalog());
    const run: RecordedRun = {
      ...failedRun(),
      outcome: "Succeeded",
      endedAt: at(70),
      canaryWeight: 50,
      failedChecks: 0,
      checks: [],
      checksComplete: false,
      weights: [],
    };
    const a = answers(() => 100);
    const r = await replay({ ref, canary: e.canary, spec: e.spec, run, answers: a });
    expect(a.asked).toEqual([10, 20, 30, 40, 50]);
    expect(r.end).toMatchObject({ outcome: "Succeeded", offsetSeconds: 50, canaryWeight: 50 });
    expect(r.sameOutcome).toBe(true);
    expect(r.steps.every((s) => !s.differs)).toBe(true);
  });

  it("the sequential judge looks between checks, at its look interval of virtual time", async () => {
    const e = edited(catalog(), "analysis.judge.mode=sequential", "analysis.judge.lookInterval=2s");
    const a = answers(() => 80);
    const r = await replay({ ref, canary: e.canary, spec: e.spec, run: failedRun(), answers: a });
    // 20% of the canary's requests fail, none of the primary's: a decisive regression before the first check.
    expect(r.end.outcome).toBe("Failed");
    expect(a.asked).toEqual([]);
    expect(a.servedAt).toEqual(a.servedAt.map((_, i) => 2 * (i + 1)));
    expect(r.end.offsetSeconds).toBeLessThan(10);
    expect(r.steps.find((s) => s.kind === "look")).toMatchObject({ differs: true, nextWeight: 0 });
  });

  it("is bounded", async () => {
    const e = edited(catalog());
    const r = await replay({
      ref,
      canary: e.canary,
      spec: e.spec,
      run: { ...failedRun(), endedAt: at(3600) },
      answers: answers(() => 100),
      maxSteps: 2,
    });
    expect(r.truncated).toBe(true);
    expect(r.end.outcome).toBe("Running");
  });
});

describe("rendering", () => {
  it("prints the steps, the differences and both ends", async () => {
    const e = edited(catalog(), "analysis.metrics[request-success-rate].thresholdRange.min=70");
    const run = failedRun();
    const r = await replay({ ref, canary: e.canary, spec: e.spec, run, answers: answers(() => 80) });
    const view = replayView(ref, run, r, {
      prometheus: "http://127.0.0.1:9090",
      judge: { mode: "threshold" },
      edits: editCanary(catalog(), [parseSet("analysis.metrics[request-success-rate].thresholdRange.min=70")])
        .ok
        ? [
            {
              set: "analysis.metrics[request-success-rate].thresholdRange.min=70",
              path: "analysis.metrics[request-success-rate].thresholdRange.min",
              before: 99,
              after: 70,
            },
          ]
        : [],
      notes: [],
    });
    const text = renderReplay(view, e.spec);
    expect(text).toContain("Replay of canary catalog-release in namespace shop, run 2: catalog:v3-bad");
    expect(text).toContain("analysis.metrics[request-success-rate].thresholdRange.min 99 -> 70");
    expect(text).toMatch(/\* +\+10s +10 +failed +passed > 20 +success 80\.00%>=70/);
    expect(text).toMatch(/\* +\+20s +20 \(data: 10\) +failed at 10 +passed > 30/);
    expect(text).toContain("Recorded: Failed at +20s (weight 10, 2 failed checks)");
    expect(text).toContain(
      "Replayed: would still be running at +20s (the recorded end): weight 30, 0 failed checks",
    );
    expect(text).toContain("Different outcome");
    const json = JSON.parse(JSON.stringify(view)) as { sameOutcome: boolean; end: { outcome: string } };
    expect(json).toMatchObject({ sameOutcome: false, end: { outcome: "Running" } });
  });
});
