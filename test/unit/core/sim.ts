// Test helpers for the decision core: the catalog scenario as an EffectiveSpec (real schema + real
// withDefaults), observed-world builders, and a tiny "shell" that feeds each decision's status back as
// the next input with a clock the test advances. No I/O, no timers: time only moves when a test says so.
import {
  type CanaryAnalysis,
  type CanarySpec,
  CanarySpecSchema,
  type CanaryStatus,
  type EvidenceState,
} from "../../../src/api/canary.js";
import { type EffectiveSpec, withDefaults } from "../../../src/api/defaults.js";
import { canarySpecProblems } from "../../../src/api/validate.js";
import { type CanaryRef, decide } from "../../../src/core/decide.js";
import type { Decision } from "../../../src/core/decision.js";
import type {
  ControlRequest,
  GateHook,
  HookResult,
  MetricResult,
  ObservedSplit,
  ObservedWorld,
  PrimaryView,
  Readiness,
  ServedCounts,
  SplitUnavailable,
  TargetView,
} from "../../../src/core/world.js";
import { catalogExample } from "../../fixtures/catalog-example.js";

/** Canary catalog in namespace test, so reasons read "catalog.test" like Flagger's events. */
export const REF: CanaryRef = { name: "catalog", namespace: "test" };
export const ID = "catalog.test";

export const T0 = Date.parse("2025-01-01T10:00:00.000Z");
export const SEC = 1_000;

/** The reference scenario's analysis, as shipped in examples/catalog/canary.yaml. */
export const CATALOG_ANALYSIS: CanaryAnalysis = CanarySpecSchema.parse(catalogExample().spec).analysis ?? {};

export interface SpecPatch {
  /** merged over CATALOG_ANALYSIS; an explicit undefined removes a field */
  analysis?: Partial<CanaryAnalysis>;
  spec?: Partial<Omit<CanarySpec, "analysis" | "service" | "targetRef">>;
  /** allow a spec that Serin's validation rejects (to test withDefaults' fallbacks) */
  allowInvalid?: boolean;
}

/** The catalog Canary spec, parsed with the real schema, checked by the real validation, with defaults applied. */
export function catalogSpec(patch: SpecPatch = {}): EffectiveSpec {
  const spec = CanarySpecSchema.parse({
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
    progressDeadlineSeconds: 60,
    service: { name: "catalog", port: 80, targetPort: 3000, gateways: ["mesh"], hosts: ["catalog"] },
    analysis: { ...CATALOG_ANALYSIS, ...patch.analysis },
    ...patch.spec,
  });
  const problems = canarySpecProblems(spec);
  if (problems.length > 0 && !patch.allowInvalid) {
    throw new Error(`test spec is invalid: ${problems.map((p) => p.message).join("; ")}`);
  }
  return withDefaults(spec);
}

export const READY: Readiness = {
  ready: true,
  message: "3 of 3 updated replicas are available",
  deadlineExceeded: false,
};
export const notReady = (
  message = "1 of 3 updated replicas are available",
  deadlineExceeded = false,
): Readiness => ({
  ready: false,
  message,
  deadlineExceeded,
});

export const target = (revision: string, readiness: Readiness = READY): TargetView => ({
  revision,
  trackedConfigs: { "configmap/catalog-config": `sum-${revision}` },
  readiness,
});
export const primary = (readiness: Readiness = READY): PrimaryView => ({ readiness });

export function world(partial: Partial<Omit<ObservedWorld, "now">> & { now: number | Date }): ObservedWorld {
  const { now, ...rest } = partial;
  return {
    target: target("rev-1"),
    primary: primary(),
    ...rest,
    now: now instanceof Date ? now : new Date(now),
  };
}

/** Metric results for the spec's metrics, values by name; a missing value is "no values found". */
export function results(
  spec: EffectiveSpec,
  values: Record<string, number | { error: string } | undefined>,
): MetricResult[] {
  return spec.analysis.metrics.map((m) => {
    const v = values[m.name];
    const unit: MetricResult["unit"] =
      m.name === "request-success-rate" ? "%" : m.name === "request-duration" ? "ms" : "";
    const base = { name: m.name, thresholdRange: m.thresholdRange, unit };
    if (typeof v === "number") return { ...base, value: v };
    if (v === undefined) return { ...base, error: "no values found" };
    return { ...base, error: v.error };
  });
}

export const HEALTHY = { "request-success-rate": 99.95, "request-duration": 120 };
export const ERRORS = { "request-success-rate": 97.1, "request-duration": 120 };

/** Recursively freezes a value so a test fails if the core mutates its inputs. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export interface TickRecord {
  at: number;
  decision: Decision;
  /** the decision asked for analysis and was decided again with these results */
  analysed: MetricResult[] | undefined;
}

/** The run a held evidence state belongs to (as the reconciler keys it). */
const runKey = (status: CanaryStatus): string =>
  `${status.lastAppliedSpec ?? ""}|${status.run?.trafficSince ?? ""}`;

/**
 * A minimal shell around decide(): holds the status, the clock and the observed world; a tick decides,
 * runs the checks when asked (results from `metrics`), creates the primary while Initializing (it appears ready)
 * and feeds the next status back. Inputs are frozen so any mutation by the core throws.
 */
export class Sim {
  status: CanaryStatus;
  clock: number;
  target: TargetView | undefined;
  primary: PrimaryView | undefined;
  /** results returned when the core asks for analysis; a function gets the 1-based analysis count */
  metrics: Record<string, number | { error: string } | undefined> | ((n: number) => MetricResult[]) = HEALTHY;
  /** what create-primary produces */
  createdPrimary: PrimaryView = primary();
  readonly log: TickRecord[] = [];
  analyses = 0;
  /** webhook answers by type (unset types answer 200) and the types the core asked for, in order */
  hooks: Partial<Record<GateHook, HookResult>> = {};
  readonly hookCalls: GateHook[] = [];
  /** what the shell reads when the core asks for the run's served counts */
  served: (now: Date) => ServedCounts = (at) => ({
    at,
    canary: { requests: 100, errors: 0 },
    primary: { requests: 900, errors: 0 },
  });
  servedReads = 0;
  /**
   * What the shell reads when the core asks for the requests per side since the step (traffic split
   * check); unset: the shell gives none (as replay does) and the split is not verified.
   */
  split: ((now: Date) => ObservedSplit | SplitUnavailable) | undefined;
  splitReads = 0;
  /**
   * Act like the shell with the judge's state: keep a decision's `evidence` in memory and hand it back
   * as `world.evidence` while the run (applied revision and traffic start) is the same. Off by default.
   */
  holdEvidence = false;
  /**
   * A control request on the Canary (serin.dev/action annotations), handed to the core as
   * `world.request`; removed like the shell removes it, once status.control carries its id.
   */
  request: ControlRequest | undefined;
  private heldEvidence: { run: string; state: EvidenceState } | undefined;

  constructor(
    readonly spec: EffectiveSpec,
    init: {
      status?: CanaryStatus;
      clock?: number;
      target?: TargetView | undefined;
      primary?: PrimaryView;
    } = {},
  ) {
    this.status = init.status ?? {};
    this.clock = init.clock ?? T0;
    this.target = "target" in init ? init.target : target("rev-1");
    this.primary = init.primary;
  }

  get now(): Date {
    return new Date(this.clock);
  }

  advance(ms: number): this {
    this.clock += ms;
    return this;
  }

  /** One reconcile: decide, run checks if asked, decide again, apply actions, keep the new status. */
  tick(): Decision {
    const held =
      this.holdEvidence && this.heldEvidence?.run === runKey(this.status) ? this.heldEvidence : undefined;
    const observed: ObservedWorld = deepFreeze({
      now: new Date(this.clock),
      target: structuredClone(this.target),
      primary: structuredClone(this.primary),
      ...(held ? { evidence: structuredClone(held.state) } : {}),
      ...(this.request ? { request: structuredClone(this.request) } : {}),
    });
    const status = deepFreeze(structuredClone(this.status));
    let d = decide(REF, this.spec, status, observed);
    let analysed: MetricResult[] | undefined;
    let world: ObservedWorld = observed;
    let served: ServedCounts | undefined;
    let split: ObservedSplit | SplitUnavailable | undefined;
    for (let pass = 0; d.needsAnalysis || d.needsHooks.length > 0 || d.needsServed; pass++) {
      if (pass > 3) throw new Error("the core keeps asking");
      if (d.status !== status) throw new Error("a decision that asks for inputs must not change the status");
      if (d.needsAnalysis) {
        if (world.analysis !== undefined) throw new Error("asked for analysis again after getting it");
        this.analyses += 1;
        const m = this.metrics;
        analysed = typeof m === "function" ? m(this.analyses) : results(this.spec, m);
      }
      if (d.needsServed) {
        if (world.served !== undefined) throw new Error("asked for served counts again after getting them");
        this.servedReads += 1;
        served = this.served(new Date(this.clock));
      }
      if (d.needsSplit && this.split) {
        if (world.split !== undefined) throw new Error("asked for the split again after getting it");
        this.splitReads += 1;
        split = this.split(new Date(this.clock));
      }
      const hooks = { ...world.hooks };
      for (const type of d.needsHooks) {
        if (world.hooks?.[type] !== undefined) throw new Error(`asked for ${type} again after getting it`);
        this.hookCalls.push(type);
        hooks[type] = this.hooks[type] ?? { ok: true, message: `${type}: HTTP 200` };
      }
      world = deepFreeze({
        ...observed,
        analysis: analysed,
        hooks,
        ...(served ? { served } : {}),
        ...(split ? { split } : {}),
      });
      d = decide(REF, this.spec, status, world);
    }
    // The shell creates the primary while the recorded phase is Initializing, and restores a deleted one
    // on the last promoted revision otherwise (converge.ts).
    if (d.status.phase && this.primary === undefined) this.primary = structuredClone(this.createdPrimary);
    this.status = structuredClone(d.status);
    if (this.request !== undefined && this.status.control?.id === this.request.id) this.request = undefined;
    if (d.evidence) this.heldEvidence = { run: runKey(d.status), state: structuredClone(d.evidence) };
    this.log.push({ at: this.clock, decision: d, analysed });
    return d;
  }

  /** Writes a control request (as `kubectl serin <action>` would, with a fresh id) and ticks once. */
  ask(action: string, over: Partial<ControlRequest> = {}): Decision {
    this.requests += 1;
    this.request = { action, id: `req-${this.requests}`, by: "alice", reason: "testing", ...over };
    return this.tick();
  }
  private requests = 0;

  /** Waits as the shell would (requeueAfterMs of the last decision, else `fallbackMs`) and ticks. */
  next(fallbackMs = 0): Decision {
    const last = this.log[this.log.length - 1]?.decision;
    this.advance(last?.requeueAfterMs ?? fallbackMs);
    return this.tick();
  }

  /** Follows requeueAfterMs until the phase is reached; throws after `max` ticks. */
  runUntil(phase: NonNullable<CanaryStatus["phase"]>, max = 50): Decision[] {
    const out: Decision[] = [];
    for (let i = 0; i < max; i++) {
      const d = this.next();
      out.push(d);
      if (d.status.phase === phase) return out;
    }
    throw new Error(
      `phase ${phase} not reached in ${max} ticks; at ${this.status.phase} weight ${this.status.canaryWeight}`,
    );
  }

  /** Phase/weight after each tick, for compact assertions on a whole run. */
  trail(from = 0): string[] {
    return this.log
      .slice(from)
      .map((r) => `${r.decision.status.phase}/${r.decision.status.canaryWeight ?? 0}`);
  }

  /** Drives a fresh Sim through initialization: "" -> Initializing -> Initialized on revision rev-1. */
  static initialized(spec: EffectiveSpec, revision = "rev-1"): Sim {
    const sim = new Sim(spec, { target: target(revision) });
    sim.tick(); // "" -> Initializing, the primary is created
    sim.advance(5 * SEC).tick(); // primary ready -> Initialized
    if (sim.status.phase !== "Initialized") throw new Error(`expected Initialized, got ${sim.status.phase}`);
    return sim;
  }
}
