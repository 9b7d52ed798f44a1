// Decision quality of the judges: `npx tsx bench/judge.ts [--trials 200] [--seed 1] [--scenario text]
// [--interval 10s] [--trace]`.
//
// Model. Offline, seeded, reproducible. Time moves in 1 s ticks. Each tick R requests (Poisson) arrive;
// each carries its own random numbers (route, error, latency), drawn whatever the routing, so the three
// deciders below see the same request stream and differ only in where it goes (common random numbers).
// A request goes to the canary with probability equal to the canary weight the mesh applies, which is
// the recorded status.canaryWeight of a decision made at least 1 s earlier (the xDS push delay). It fails
// (5xx) with its version's error probability and takes its version's latency; a shared incident fails
// requests on both workloads. Each workload's destination sidecar counts requests, 5xx and Istio's
// default latency buckets per second. The canary workload keeps its name across revisions, so its counts
// hold whatever revision ran as canary before (the previous release's canary traffic right before its
// promotion, a failed revision's right before its rollback).
//
// Prometheus is modelled as exact per-second counts (scraped every second, no extrapolation): increase()
// over a window is a count, a ratio of rates over one window is a ratio of counts, and p99 is
// histogram_quantile's linear interpolation in the bucket holding rank 0.99 * count.
//
// The shell is a minimal version of src/controller: it calls the real pure core (decide) with the
// observed world, answers what it asks for (metric checks, served counts), keeps the sequential judge's
// in-memory evidence between looks, copies the primary when the phase is Promoting (ready at once), and
// reconciles again after requeueAfterMs (rounded up to the next tick). The run record and the windows
// come from the real currentRun and checkWindow.
//
// Deciders, on the same streams:
//   Flagger rule       judge threshold, windows NOT cut at the traffic start (each check reads the metric's
//                      whole interval of the canary workload); no values is a failed check.
//   Serin threshold    judge threshold, windows cut at the run's traffic start (as the shell does).
//   Serin sequential   judge sequential (falseAlarmRate 0.01, default lookInterval: interval / 5, 1s..5s), windows cut.
// Spec: examples/catalog/canary.yaml with interval 10s: threshold 5, stepWeight 10, maxWeight 50,
// request-success-rate min 99 over 1m, request-duration max 500 over 30s, progressDeadlineSeconds 60.
//
// Reported per decider and scenario: promotions / rollbacks / undecided (no end within 20 min), wrong
// decisions (promoting a bad release, rolling back a healthy one), time to decision (from the canary's
// first traffic to the promotion or the rollback), and what the measured revision served as canary
// (requests, 5xx = harm, requests over 500 ms) until all traffic was back on the primary.
import {
  type CanarySpec,
  CanarySpecSchema,
  type CanaryStatus,
  type EvidenceState,
} from "../src/api/canary.js";
import { type EffectiveSpec, withDefaults } from "../src/api/defaults.js";
import { canarySpecProblems } from "../src/api/validate.js";
import { type CanaryRef, decide } from "../src/core/decide.js";
import type { Decision } from "../src/core/decision.js";
import { currentRun } from "../src/core/evidence/run.js";
import type {
  MetricResult,
  ObservedWorld,
  PrimaryView,
  Readiness,
  ServedCounts,
  ServedUnavailable,
  TargetView,
} from "../src/core/world.js";
import { checkWindow } from "../src/metrics/windows.js";
import { NEXT_RELEASE_GAP_S, SCENARIOS, type Scenario, type Version } from "./judge/scenarios.js";
import {
  histogramQuantile,
  RequestStream,
  Rng,
  slowBoundaryFor,
  slowerThan,
  successRate,
  WorkloadCounters,
} from "./judge/stream.js";

// ---------------------------------------------------------------------------------------------- CLI

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
const TRIALS = Number.parseInt(flag("trials", "200"), 10);
const SEED = Number.parseInt(flag("seed", "1"), 10);
const ONLY = flag("scenario", "");
/** analysis.interval of the spec (the catalog example's is 45s; the issue's figures use 10s) */
const INTERVAL = flag("interval", "10s");
/** print every decision's reason (use with --trials 1 --scenario ...) */
const TRACE = process.argv.includes("--trace");
/** A run that has not ended this long after its revision was applied is counted as undecided. */
const MAX_RUN_S = 20 * 60;

// --------------------------------------------------------------------------------------------- spec

type WindowMode = "uncut" | "cut";

interface Decider {
  name: string;
  spec: EffectiveSpec;
  windows: WindowMode;
}

function catalogSpec(judge: NonNullable<CanarySpec["analysis"]>["judge"]): EffectiveSpec {
  const spec = CanarySpecSchema.parse({
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
    progressDeadlineSeconds: 60,
    service: { name: "catalog", port: 80, targetPort: 3000, gateways: ["mesh"], hosts: ["catalog"] },
    analysis: {
      interval: INTERVAL,
      threshold: 5,
      maxWeight: 50,
      stepWeight: 10,
      metrics: [
        { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
        { name: "request-duration", thresholdRange: { max: 500 }, interval: "30s" },
      ],
      judge,
    },
  });
  const problems = canarySpecProblems(spec);
  if (problems.length > 0)
    throw new Error(`bench spec invalid: ${problems.map((p) => p.message).join("; ")}`);
  return withDefaults(spec);
}

const DECIDERS: Decider[] = [
  { name: "Flagger rule", spec: catalogSpec({ mode: "threshold" }), windows: "uncut" },
  { name: "Serin threshold", spec: catalogSpec({ mode: "threshold" }), windows: "cut" },
  {
    name: "Serin sequential",
    spec: catalogSpec({ mode: "sequential", falseAlarmRate: 0.01 }),
    windows: "cut",
  },
];

// -------------------------------------------------------------------------------------------- shell

const REF: CanaryRef = { name: "catalog", namespace: "shop" };
const T0 = Date.parse("2025-01-01T10:00:00.000Z");
const READY: Readiness = {
  ready: true,
  message: "3 of 3 updated replicas are available",
  deadlineExceeded: false,
};
const at = (s: number): Date => new Date(T0 + s * 1000);

const target = (revision: string): TargetView => ({
  revision,
  image: `catalog:${revision}`,
  trackedConfigs: {},
  readiness: READY,
});

interface Release {
  revision: string;
  version: Version;
  measured: boolean;
}

interface RunResult {
  verdict: "promoted" | "rolledBack" | "undecided";
  /** seconds from the canary's first traffic to the promotion (phase Promoting) or the rollback */
  decisionS?: number;
  requests: number;
  errors: number;
  slow: number;
}

/** One decider through one trial: the previous release if any, then the measured one. */
class Trial {
  private status: CanaryStatus = {};
  private primary: PrimaryView | undefined;
  private primaryVersion: Version;
  private tgt: TargetView;
  private canaryVersion: Version;
  private readonly canary = new WorkloadCounters();
  private readonly primaryCounters = new WorkloadCounters();
  /** the sequential judge's latest look, for the run it belongs to (the shell's in-memory map) */
  private held: { run: string; state: EvidenceState } | undefined;
  /** weights the mesh applies from a given second on */
  private readonly pending: { from: number; weight: number }[] = [];
  private applied = 0;
  private nextAt: number | undefined = 0;
  private readonly slowMs: number;

  constructor(
    private readonly decider: Decider,
    private readonly scenario: Scenario,
    private readonly stream: RequestStream,
    private readonly release: Version,
  ) {
    this.primaryVersion = scenario.baseline;
    this.canaryVersion = scenario.baseline;
    this.tgt = target("v1");
    const duration = decider.spec.analysis.metrics.find((m) => m.name === "request-duration");
    this.slowMs = slowBoundaryFor(duration?.thresholdRange.max ?? 500) ?? 500;
  }

  run(): RunResult {
    const releases: Release[] = [
      ...(this.scenario.previous
        ? [{ revision: "v2", version: this.scenario.previous, measured: false }]
        : []),
      { revision: this.scenario.previous ? "v3" : "v2", version: this.release, measured: true },
    ];
    let releaseAt = 10;
    let current: Release | undefined;
    let measuredAt = Number.POSITIVE_INFINITY;
    let firstTraffic: number | undefined;
    let decidedAt: number | undefined;
    let verdict: RunResult["verdict"] = "undecided";
    let endedAt: number | undefined;
    const served = { requests: 0, errors: 0, slow: 0 };

    for (let s = 1; ; s++) {
      // 1. The traffic of (s-1, s], routed by the weight the mesh has applied by s-1.
      while (this.pending.length > 0 && (this.pending[0]?.from ?? Number.POSITIVE_INFINITY) <= s - 1) {
        this.applied = this.pending.shift()?.weight ?? this.applied;
      }
      const measuring = current?.measured === true;
      if (measuring && firstTraffic === undefined && this.applied > 0) firstTraffic = s - 1;
      const t = s - measuredAt;
      const incident = this.scenario.incident;
      const shared = incident && t >= incident.from && t < incident.to ? incident.errorRate : 0;
      this.canary.touch(s);
      this.primaryCounters.touch(s);
      for (const draw of this.stream.at(s)) {
        const toCanary = draw.route < this.applied / 100;
        const version = toCanary ? this.canaryVersion : this.primaryVersion;
        const p = 1 - (1 - version.errorRate(t)) * (1 - shared);
        const failed = draw.error < p;
        const ms = version.latencyMs(draw, t);
        (toCanary ? this.canary : this.primaryCounters).record(s, failed, ms);
        if (toCanary && measuring) {
          served.requests++;
          if (failed) served.errors++;
          if (ms > this.slowMs) served.slow++;
        }
      }
      if (endedAt !== undefined && this.applied === 0 && this.pending.length === 0) break;

      // 2. A release: the target Deployment gets the new template (its rollout is ready at once).
      let triggered = false;
      if (current === undefined && s >= releaseAt) {
        current = releases.shift();
        if (current === undefined) break;
        this.tgt = target(current.revision);
        this.canaryVersion = current.version;
        if (current.measured) measuredAt = s;
        triggered = true;
      }
      if (current?.measured && endedAt === undefined && s - measuredAt > MAX_RUN_S) break;

      // 3. Reconcile when requeued (or on the release's watch event).
      if (!triggered && (this.nextAt === undefined || s < this.nextAt)) continue;
      const before = this.status.phase;
      this.reconcile(s);
      const phase = this.status.phase;
      if (current === undefined || phase === before) continue;
      if (current.measured && decidedAt === undefined && (phase === "Promoting" || phase === "Failed")) {
        decidedAt = s;
        verdict = phase === "Promoting" ? "promoted" : "rolledBack";
      }
      if (phase === "Succeeded" || phase === "Failed") {
        if (current.measured) endedAt = s;
        else {
          current = undefined;
          releaseAt = s + NEXT_RELEASE_GAP_S;
        }
      }
    }
    return {
      verdict,
      ...(decidedAt !== undefined && firstTraffic !== undefined
        ? { decisionS: decidedAt - firstTraffic }
        : {}),
      ...served,
    };
  }

  /** One reconcile at second s, repeated at once while the core asks for it (requeueAfterMs 0). */
  private reconcile(s: number): void {
    for (let i = 0; i < 8; i++) {
      const d = this.decide(s);
      if (d.evidence) this.held = { run: runKey(d.status), state: d.evidence };
      // The shell creates the primary while Initializing and copies the tested template while Promoting.
      if (this.primary === undefined && d.status.phase) this.primary = { revision: "v1", readiness: READY };
      if (d.status.phase === "Promoting" && this.primary?.revision !== d.status.lastAppliedSpec) {
        this.primary = { revision: d.status.lastAppliedSpec ?? this.tgt.revision, readiness: READY };
        this.primaryVersion = this.canaryVersion;
      }
      const weight = d.status.canaryWeight ?? 0;
      const last = this.pending[this.pending.length - 1]?.weight ?? this.applied;
      if (weight !== last) this.pending.push({ from: s + 1, weight });
      if (TRACE) console.log(`  ${s}s ${this.decider.name} [applied ${this.applied}%] ${d.reason}`);
      this.status = d.status;
      const requeue = d.requeueAfterMs;
      this.nextAt = requeue === undefined ? undefined : s + Math.max(1, Math.ceil(requeue / 1000));
      if (requeue !== 0) return;
    }
    throw new Error(`the core keeps asking to be run again at once (phase ${this.status.phase})`);
  }

  /** decide(), answering what it asks for, as src/controller/deciding.ts does. */
  private decide(s: number): Decision {
    const now = at(s);
    const status = this.status;
    const observed: ObservedWorld = {
      now,
      target: this.tgt,
      primary: this.primary,
      ...(this.held && this.held.run === runKey(status) ? { evidence: this.held.state } : {}),
    };
    let world = observed;
    let d = decide(REF, this.decider.spec, status, world);
    for (let round = 0; round < 4 && (d.needsAnalysis || d.needsServed || d.needsHooks.length > 0); round++) {
      if (d.needsHooks.length > 0) throw new Error(`the bench has no webhooks, yet ${d.needsHooks} asked`);
      const run = currentRun(status, this.tgt, now);
      const analysis = d.needsAnalysis ? this.analyse(run, s) : world.analysis;
      const served = d.needsServed ? this.served(run, s) : world.served;
      world = { ...world, analysis, ...(served ? { served } : {}) };
      d = decide(REF, this.decider.spec, status, world);
    }
    return d;
  }

  /** The built-in checks, canary and primary over the same window (src/metrics/run-checks.ts). */
  private analyse(run: ReturnType<typeof currentRun>, s: number): MetricResult[] {
    return this.decider.spec.analysis.metrics.map((m) => {
      const window = checkWindow(m.intervalMs, this.decider.windows === "cut" ? run : undefined, at(s));
      const c = this.canary.window(s, window.seconds);
      const p = this.primaryCounters.window(s, window.seconds);
      const rate = m.name === "request-success-rate";
      const value = rate ? successRate(c) : histogramQuantile(0.99, c);
      const primaryValue = rate ? successRate(p) : histogramQuantile(0.99, p);
      const base: MetricResult = {
        name: m.name,
        thresholdRange: m.thresholdRange,
        unit: rate ? "%" : "ms",
        canaryRequests: c.requests,
        primaryRequests: p.requests,
        window: window.text,
        ...(Number.isNaN(primaryValue) ? {} : { primaryValue }),
      };
      if (Number.isNaN(value))
        return { ...base, error: `no values found (no canary requests in ${window.text}?)`, noData: true };
      return { ...base, value };
    });
  }

  /** Requests, 5xx and slow requests since the run's traffic start (src/metrics/served.ts). */
  private served(run: ReturnType<typeof currentRun>, s: number): ServedCounts | ServedUnavailable {
    // Everything since the traffic start, as readServed's counter deltas read it.
    const since = run.trafficSince ? Date.parse(run.trafficSince) : Number.NaN;
    if (Number.isNaN(since)) return { at: at(s), error: "the run has no traffic yet" };
    const seconds = Math.max(1, Math.floor((at(s).getTime() - since) / 1000));
    const c = this.canary.window(s, seconds);
    const p = this.primaryCounters.window(s, seconds);
    return {
      at: at(s),
      canary: { requests: c.requests, errors: c.errors, slow: slowerThan(c, this.slowMs) },
      primary: { requests: p.requests, errors: p.errors, slow: slowerThan(p, this.slowMs) },
      slowerThanMs: this.slowMs,
    };
  }
}

/** The key the shell keeps evidence under (src/controller/reconciler.ts runKey). */
const runKey = (status: CanaryStatus): string =>
  `${status.lastAppliedSpec ?? ""}|${status.run?.trafficSince ?? ""}`;

// ------------------------------------------------------------------------------------------ figures

interface Cell {
  promoted: number;
  rolledBack: number;
  undecided: number;
  times: number[];
  requests: number;
  errors: number;
  slow: number;
  trials: number;
}

function quantile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

const trialSeed = (scenario: number, trial: number): number =>
  (Math.imul(SEED, 0x9e3779b1) ^ Math.imul(scenario + 1, 0x85ebca6b) ^ Math.imul(trial + 1, 0xc2b2ae35)) >>>
  0;

function simulate(scenario: Scenario, index: number): Cell[] {
  const cells: Cell[] = DECIDERS.map(() => ({
    promoted: 0,
    rolledBack: 0,
    undecided: 0,
    times: [],
    requests: 0,
    errors: 0,
    slow: 0,
    trials: 0,
  }));
  for (let trial = 0; trial < TRIALS; trial++) {
    const seed = trialSeed(index, trial);
    const release = scenario.release(new Rng(seed ^ 0x5bd1e995).next());
    DECIDERS.forEach((decider, k) => {
      const cell = cells[k];
      if (cell === undefined) return;
      // The same seed: the same request stream for every decider.
      const result = new Trial(decider, scenario, new RequestStream(seed, scenario.rps), release).run();
      cell.trials++;
      cell[result.verdict]++;
      if (result.decisionS !== undefined) cell.times.push(result.decisionS);
      cell.requests += result.requests;
      cell.errors += result.errors;
      cell.slow += result.slow;
    });
  }
  for (const c of cells) c.times.sort((a, b) => a - b);
  return cells;
}

const pad = (text: string, width: number): string => text.padStart(width);
const padEnd = (text: string, width: number): string => text.padEnd(width);
const fmt = (n: number | undefined, digits = 0): string => (n === undefined ? "-" : n.toFixed(digits));

function wrong(scenario: Scenario, cell: Cell): number {
  return scenario.truth === "promote" ? cell.rolledBack : cell.promoted;
}

function main(): void {
  const started = Date.now();
  const scenarios = SCENARIOS.map((s, i) => ({ s, i })).filter(({ s }) => s.name.includes(ONLY));
  console.log(
    `bench/judge.ts: ${TRIALS} trials per scenario, seed ${SEED}; catalog spec with interval ${INTERVAL}, threshold 5, steps 10..50;`,
  );
  console.log(
    "wrong = promoted a bad release / rolled back a healthy one; t = s from first canary traffic to the decision;",
  );
  console.log("served = per run, what the released revision served as canary (requests, 5xx, >500 ms).\n");
  const header = `${padEnd("scenario (right answer)", 42)}${padEnd("decider", 18)}${pad("promoted", 9)}${pad("rolled", 8)}${pad("undec", 6)}${pad("wrong", 7)}${pad("t50", 6)}${pad("t90", 6)}${pad("5xx", 9)}${pad(">500ms", 8)}${pad("requests", 10)}`;
  console.log(header);
  console.log("-".repeat(header.length));
  const results = new Map<string, Cell[]>();
  for (const { s, i } of scenarios) {
    const cells = simulate(s, i);
    results.set(s.name, cells);
    cells.forEach((c, k) => {
      const label = k === 0 ? `${s.name} (${s.truth === "promote" ? "promote" : "roll back"})` : "";
      console.log(
        `${padEnd(label, 42)}${padEnd(DECIDERS[k]?.name ?? "", 18)}${pad(String(c.promoted), 9)}${pad(String(c.rolledBack), 8)}${pad(String(c.undecided), 6)}${pad(String(wrong(s, c)), 7)}${pad(fmt(quantile(c.times, 0.5)), 6)}${pad(fmt(quantile(c.times, 0.9)), 6)}${pad(fmt(c.errors / c.trials, 1), 9)}${pad(fmt(c.slow / c.trials, 1), 8)}${pad(fmt(c.requests / c.trials, 0), 10)}`,
      );
    });
  }
  console.log("");
  printTargets(
    scenarios.map(({ s }) => s),
    results,
  );
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

function printTargets(scenarios: Scenario[], results: Map<string, Cell[]>): void {
  const FLAGGER = 0;
  const THRESHOLD = 1;
  const SEQUENTIAL = 2;
  const cell = (name: string, k: number): Cell | undefined => results.get(name)?.[k];
  const line = (ok: boolean | undefined, text: string) =>
    console.log(`${ok === undefined ? "SKIP" : ok ? "PASS" : "FAIL"}  ${text}`);

  console.log("Targets (issue 8):");
  const bad = scenarios.filter((s) => s.truth === "rollback");
  for (const k of [THRESHOLD, SEQUENTIAL]) {
    const per = bad.map((s) => ({ s, n: cell(s.name, k)?.promoted ?? 0 })).filter(({ n }) => n > 0);
    const total = per.reduce((a, { n }) => a + n, 0);
    line(
      bad.length > 0 ? total === 0 : undefined,
      `zero false promotions, ${DECIDERS[k]?.name}: ${total}${per.length ? ` (${per.map(({ s, n }) => `${s.name}: ${n}`).join(", ")})` : ""}; Flagger rule: ${bad.reduce((a, s) => a + (cell(s.name, FLAGGER)?.promoted ?? 0), 0)}`,
    );
  }
  const incident = scenarios.find((s) => s.incident !== undefined);
  const inc = incident ? cell(incident.name, SEQUENTIAL) : undefined;
  line(
    inc ? inc.rolledBack === 0 : undefined,
    `zero rollbacks of a healthy canary during a shared incident, Serin sequential: ${inc?.rolledBack ?? "-"}/${inc?.trials ?? "-"} (Serin threshold ${incident ? (cell(incident.name, THRESHOLD)?.rolledBack ?? "-") : "-"}, Flagger rule ${incident ? (cell(incident.name, FLAGGER)?.rolledBack ?? "-") : "-"})`,
  );
  const harm = (name: string, factor: number) => {
    const f = cell(name, FLAGGER);
    const q = cell(name, SEQUENTIAL);
    if (f === undefined || q === undefined) return line(undefined, `${name}: not run`);
    const fm = f.errors / f.trials;
    const qm = q.errors / q.trials;
    const ratio = qm > 0 ? fm / qm : Number.POSITIVE_INFINITY;
    line(
      ratio >= factor,
      `${name}: >= ${factor}x fewer failed requests than the Flagger rule: ${fm.toFixed(1)} vs ${qm.toFixed(1)} per run = ${ratio.toFixed(1)}x`,
    );
  };
  harm("gross errors 20%", 5);
  harm("subtle errors 3%", 2);
  const healthy = scenarios.find((s) => s.name.startsWith("healthy"));
  if (healthy) {
    const f = quantile(cell(healthy.name, FLAGGER)?.times ?? [], 0.5);
    for (const k of [THRESHOLD, SEQUENTIAL]) {
      const m = quantile(cell(healthy.name, k)?.times ?? [], 0.5);
      line(
        f !== undefined && m !== undefined ? m <= f : undefined,
        `healthy release promoted no slower, ${DECIDERS[k]?.name}: median ${fmt(m)} s vs Flagger rule ${fmt(f)} s`,
      );
    }
  }
}

main();
