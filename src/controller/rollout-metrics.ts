// The canary metrics of /metrics, set from what one reconcile decided and recorded (never from a loop of
// their own): Serin's serin_canary_* and, with --flagger-metrics, Flagger's flagger_* at the points
// Flagger sets them (docs/metrics.md has the table). Only what reached status counts: a decision whose
// status write failed is decided again, and counting it then would count it twice.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { CanaryPhase, CanaryStatus, EvidenceState } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { CanaryEvent } from "../core/decision.js";
import { desiredRouting } from "../core/desired.js";
import { mixtureLogE } from "../core/evidence/sequential.js";
import type { MetricResult } from "../core/world.js";
import { type AnalysisStatus, flaggerStatusCode } from "../observability/flagger-metrics.js";
import type { ControllerMetrics } from "../observability/metrics.js";

export interface CanaryRef {
  name: string;
  namespace: string;
}

/** What one reconcile of a valid Canary did, as the reconciler saw it. */
export interface ReconcileRecord {
  ref: CanaryRef;
  spec: EffectiveSpec;
  /** status when the reconcile began, and as it recorded it */
  before: CanaryStatus;
  recorded: CanaryStatus;
  /** the decision's status write went through (its events and phase change are now in status) */
  decided: boolean;
  events: readonly CanaryEvent[];
  /** the sequential judge's latest look, newer than status between checks */
  evidence: EvidenceState | undefined;
  /** the reconcile ran the analysis (metric checks or webhooks) */
  analysed: boolean;
  /** how long the reconcile took */
  seconds: number;
}

/** What the series of one Canary are labelled with, to remove exactly those when it goes. */
interface Known {
  target: string;
  primary: string;
  phase: string | undefined;
  /** flagger_canary_weight has been set (Flagger sets it from the first rollout on) */
  weighted: boolean;
  /**
   * This Canary has set flagger_* series. They are labelled by the target alone, so a Canary refused for
   * holding another's target (it never initializes) must not remove the other's series when it goes.
   */
  flagger: boolean;
  metrics: Set<string>;
}

/** Phases whose reconciles run the analysis: Flagger times those ticks (flagger_canary_duration_seconds). */
const ANALYSING: ReadonlyArray<CanaryPhase | ""> = ["Progressing", "WaitingPromotion"];
/** Before initialization Flagger exports nothing for a Canary; weights appear with its first rollout. */
const UNINITIALISED: ReadonlyArray<CanaryPhase | ""> = ["", "Initializing"];
const SERVED_OUTCOMES = ["served", "failed", "slow"] as const;

const keyOf = (ref: CanaryRef) => `${ref.namespace}/${ref.name}`;

export class RolloutMetrics {
  private readonly known = new Map<string, Known>();

  constructor(private readonly metrics: ControllerMetrics) {}

  /** After a reconcile of a valid Canary: every canary metric from what it recorded. */
  record(r: ReconcileRecord): void {
    const known = this.remember(r.ref, r.spec);
    this.recordSerin(r, known);
    this.recordFlagger(r, known);
  }

  /** A check's values, as they were read (before any verdict). */
  checks(ref: CanaryRef, spec: EffectiveSpec, results: readonly MetricResult[]): void {
    const { metrics } = this;
    const known = this.remember(ref, spec);
    for (const r of results) {
      metrics.analysisChecks.inc({
        namespace: ref.namespace,
        metric: r.name,
        result: r.value === undefined ? "error" : "value",
      });
      if (r.value === undefined) continue;
      known.metrics.add(r.name);
      metrics.metricValue.set({ ...ref, metric: r.name, workload: known.target }, r.value);
      if (r.primaryValue !== undefined)
        metrics.metricValue.set({ ...ref, metric: r.name, workload: known.primary }, r.primaryValue);
      // Flagger reports its built-in request-duration in seconds (its threshold is in ms).
      const flaggerValue = r.unit === "ms" ? r.value / 1000 : r.value;
      if (metrics.flagger === undefined) continue;
      metrics.flagger.analysis.set(
        { name: known.target, namespace: ref.namespace, metric: r.name },
        flaggerValue,
      );
      known.flagger = true;
    }
  }

  /** The Canary is gone, or another replica acts on it now: its per-Canary series go too. */
  forget(ref: CanaryRef): void {
    const { metrics } = this;
    for (const outcome of SERVED_OUTCOMES) metrics.runServed.remove({ ...ref, outcome });
    metrics.judgeEvidence.remove({ ...ref, test: "errors" });
    metrics.judgeEvidence.remove({ ...ref, test: "latency" });
    metrics.canaryWeight.remove(ref);
    metrics.canaryStatus.remove(ref);
    const known = this.known.get(keyOf(ref));
    if (known === undefined) return;
    this.known.delete(keyOf(ref));
    this.removeLabelled(ref, known);
  }

  private removeLabelled(ref: CanaryRef, known: Known): void {
    const { metrics } = this;
    metrics.canaryInfo.remove({ ...ref, workload: known.target, primary_workload: known.primary });
    if (known.phase !== undefined) metrics.canaryPhase.remove({ ...ref, phase: known.phase });
    for (const metric of known.metrics) {
      metrics.metricValue.remove({ ...ref, metric, workload: known.target });
      metrics.metricValue.remove({ ...ref, metric, workload: known.primary });
    }
    if (known.flagger) metrics.flagger?.remove(known.target, ref.namespace, known.metrics);
  }

  /** The Canary's labels; a new targetRef (an edited spec) first drops the series of the old one. */
  private remember(ref: CanaryRef, spec: EffectiveSpec): Known {
    const key = keyOf(ref);
    const target = spec.names.canaryWorkload;
    const primary = spec.names.primaryWorkload;
    const known = this.known.get(key);
    if (known?.target === target && known.primary === primary) return known;
    if (known !== undefined) this.removeLabelled(ref, known);
    const fresh: Known = {
      target,
      primary,
      phase: undefined,
      weighted: false,
      flagger: false,
      metrics: new Set(),
    };
    this.known.set(key, fresh);
    return fresh;
  }

  private recordSerin(r: ReconcileRecord, known: Known): void {
    const { metrics } = this;
    const { ref, recorded } = r;
    const served = recorded.run?.canary;
    if (served) {
      metrics.runServed.set({ ...ref, outcome: "served" }, served.requests);
      metrics.runServed.set({ ...ref, outcome: "failed" }, served.errors);
      if (served.slow !== undefined) metrics.runServed.set({ ...ref, outcome: "slow" }, served.slow);
    }
    const held = r.evidence ?? recorded.run?.evidence;
    if (held) {
      metrics.judgeEvidence.set({ ...ref, test: "errors" }, Math.exp(mixtureLogE(held.errorsLogE)));
      if (held.slowLogE)
        metrics.judgeEvidence.set({ ...ref, test: "latency" }, Math.exp(mixtureLogE(held.slowLogE)));
    }
    metrics.canaryWeight.set(ref, recorded.canaryWeight ?? 0);
    const phase = recorded.phase ?? "";
    metrics.canaryStatus.set(
      ref,
      phase === "Failed" ? 2 : phase === "Succeeded" || phase === "Initialized" ? 1 : 0,
    );
    metrics.canaryInfo.set({ ...ref, workload: known.target, primary_workload: known.primary }, 1);
    if (phase !== "" && phase !== known.phase) {
      if (known.phase !== undefined) metrics.canaryPhase.remove({ ...ref, phase: known.phase });
      metrics.canaryPhase.set({ ...ref, phase }, 1);
      known.phase = phase;
    }
    if (r.decided) for (const e of r.events) metrics.decisions.inc({ ...ref, reason: e.reason });
  }

  private recordFlagger(r: ReconcileRecord, known: Known): void {
    const flagger = this.metrics.flagger;
    const phase = r.recorded.phase ?? "";
    if (flagger === undefined || UNINITIALISED.includes(phase)) return;
    const labels = { name: known.target, namespace: r.ref.namespace };
    flagger.status.set(labels, flaggerStatusCode(phase));
    known.flagger = true;
    if (known.weighted || phase !== "Initialized") {
      const routing = desiredRouting(r.spec, r.recorded);
      flagger.setWeight(known.target, r.ref.namespace, routing.primaryWeight, routing.canaryWeight);
      known.weighted = true;
    }
    if (r.analysed && ANALYSING.includes(r.before.phase ?? "")) flagger.duration.observe(labels, r.seconds);
    if (!r.decided || r.before.phase === phase) return;
    if (phase !== "Succeeded" && phase !== "Failed") return;
    const analysisStatus: AnalysisStatus = r.spec.skipAnalysis ? "skipped" : "completed";
    const outcome = {
      ...labels,
      deployment_strategy: r.spec.analysis.strategy,
      analysis_status: analysisStatus,
    };
    (phase === "Succeeded" ? flagger.successes : flagger.failures).inc(outcome);
  }
}

/**
 * serin_canary_total, and flagger_canary_total per namespace (a namespace whose last Canary went is
 * removed, where Flagger would keep its last count). Returns the function to call on every change.
 */
export function canaryCounter(metrics: ControllerMetrics): (canaries: readonly KubernetesObject[]) => void {
  let counted = new Set<string>();
  return (canaries) => {
    metrics.canaryTotal.set(canaries.length);
    const flagger = metrics.flagger;
    if (flagger === undefined) return;
    const perNamespace = new Map<string, number>();
    for (const c of canaries) {
      const ns = c.metadata?.namespace ?? "default";
      perNamespace.set(ns, (perNamespace.get(ns) ?? 0) + 1);
    }
    for (const ns of counted) if (!perNamespace.has(ns)) flagger.total.remove({ namespace: ns });
    for (const [ns, n] of perNamespace) flagger.total.set({ namespace: ns }, n);
    counted = new Set(perNamespace.keys());
  };
}
