// Flagger's controller metrics, same names, help, labels and buckets (fluxcd/flagger pkg/metrics/recorder.go,
// v1.36.1; the two counters from its later PR #1812), so dashboards and alert rules written for Flagger read
// Serin unchanged. Opt-in (--flagger-metrics). Like Flagger, `name` is the target's name
// (spec.targetRef.name), not the Canary's; `flagger_canary_weight` is per workload (`<target>-primary` and
// `<target>`). When each is set is decided in src/controller/rollout-metrics.ts, from the reconcile's decisions.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { CanaryPhase } from "../api/canary.js";
import type { Strategy } from "../api/defaults.js";

/** Go client_golang's prometheus.DefBuckets, which Flagger's duration histogram uses. */
export const GO_DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Flagger's flagger_canary_status: 0 for Progressing, 2 for Failed, 1 for every other phase. */
export function flaggerStatusCode(phase: CanaryPhase | ""): 0 | 1 | 2 {
  if (phase === "Progressing") return 0;
  if (phase === "Failed") return 2;
  return 1;
}

/** "completed", or "skipped" when the release was promoted without its analysis (skipAnalysis). */
export type AnalysisStatus = "completed" | "skipped";

export interface OutcomeLabels {
  name: string;
  namespace: string;
  deployment_strategy: Strategy;
  analysis_status: AnalysisStatus;
}

export class FlaggerMetrics {
  readonly info: Gauge<"version" | "mesh_provider">;
  readonly duration: Histogram<"name" | "namespace">;
  readonly total: Gauge<"namespace">;
  readonly status: Gauge<"name" | "namespace">;
  readonly weight: Gauge<"workload" | "namespace">;
  readonly analysis: Gauge<"name" | "namespace" | "metric">;
  readonly successes: Counter<keyof OutcomeLabels>;
  readonly failures: Counter<keyof OutcomeLabels>;

  constructor(registry: Registry, version: string) {
    const registers = [registry];
    this.info = new Gauge({
      name: "flagger_info",
      help: "Flagger version and mesh provider information",
      labelNames: ["version", "mesh_provider"] as const,
      registers,
    });
    this.duration = new Histogram({
      name: "flagger_canary_duration_seconds",
      help: "Seconds spent performing canary analysis.",
      labelNames: ["name", "namespace"] as const,
      buckets: GO_DEFAULT_BUCKETS,
      registers,
    });
    this.total = new Gauge({
      name: "flagger_canary_total",
      help: "Total number of canary object",
      labelNames: ["namespace"] as const,
      registers,
    });
    this.status = new Gauge({
      name: "flagger_canary_status",
      help: "Last canary analysis result",
      labelNames: ["name", "namespace"] as const,
      registers,
    });
    this.weight = new Gauge({
      name: "flagger_canary_weight",
      help: "The virtual service destination weight current value",
      labelNames: ["workload", "namespace"] as const,
      registers,
    });
    this.analysis = new Gauge({
      name: "flagger_canary_metric_analysis",
      help: "Last canary analysis result per metric",
      labelNames: ["name", "namespace", "metric"] as const,
      registers,
    });
    const outcome = ["name", "namespace", "deployment_strategy", "analysis_status"] as const;
    this.successes = new Counter({
      name: "flagger_canary_successes_total",
      help: "Total number of canary successes",
      labelNames: outcome,
      registers,
    });
    this.failures = new Counter({
      name: "flagger_canary_failures_total",
      help: "Total number of canary failures",
      labelNames: outcome,
      registers,
    });
    // Serin routes through Istio only; the version is Serin's, so a dashboard can tell the two apart.
    this.info.set({ version, mesh_provider: "istio" }, 1);
  }

  /** Both workloads' weights, as Flagger's SetWeight: `<target>-primary` and `<target>`. */
  setWeight(target: string, namespace: string, primary: number, canary: number): void {
    this.weight.set({ workload: `${target}-primary`, namespace }, primary);
    this.weight.set({ workload: target, namespace }, canary);
  }

  /** A Canary is gone (or another replica acts on it): its per-target series go with it. */
  remove(target: string, namespace: string, metricNames: Iterable<string>): void {
    this.status.remove({ name: target, namespace });
    this.duration.remove({ name: target, namespace });
    this.weight.remove({ workload: `${target}-primary`, namespace });
    this.weight.remove({ workload: target, namespace });
    for (const metric of metricNames) this.analysis.remove({ name: target, namespace, metric });
  }
}
