import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { WorkQueueMetrics } from "../kube/workqueue.js";
import { FlaggerMetrics } from "./flagger-metrics.js";

export interface MetricsOptions {
  /** Node's process metrics (CPU, memory, event loop); off in unit tests */
  processMetrics?: boolean;
  /** --flagger-metrics: also export Flagger's names and labels, with this version in flagger_info */
  flagger?: { version: string };
}

/**
 * The controller's own /metrics: controller-runtime's names, Serin's canary metrics, and (opt-in)
 * Flagger's. What sets the canary metrics, and when, is src/controller/rollout-metrics.ts.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({
    name: "controller_runtime_reconcile_total",
    help: "Total number of reconciliations per controller and result",
    labelNames: ["controller", "result"] as const,
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: "controller_runtime_reconcile_time_seconds",
    help: "Length of time per reconciliation per controller",
    labelNames: ["controller"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "workqueue_depth",
    help: "Current depth of the work queue",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: "workqueue_adds_total",
    help: "Total number of adds handled by the work queue",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: "workqueue_retries_total",
    help: "Total number of retries handled by the work queue",
    labelNames: ["name"] as const,
    registers: [this.registry],
  });
  readonly canaryWeight = new Gauge({
    name: "serin_canary_weight",
    help: "Traffic weight routed to the canary (0-100)",
    labelNames: ["name", "namespace"] as const,
    registers: [this.registry],
  });
  readonly canaryStatus = new Gauge({
    name: "serin_canary_status",
    help: "Last canary analysis result: 0 running (Progressing to Finalising), 1 Initialized or Succeeded, 2 Failed (Flagger's exact encoding is flagger_canary_status)",
    labelNames: ["name", "namespace"] as const,
    registers: [this.registry],
  });
  readonly canaryTotal = new Gauge({
    name: "serin_canary_total",
    help: "Number of Canaries known to the controller",
    registers: [this.registry],
  });
  readonly analysisChecks = new Counter({
    name: "serin_canary_metric_checks_total",
    help: "Metric checks run, by result",
    labelNames: ["namespace", "metric", "result"] as const,
    registers: [this.registry],
  });

  readonly runServed = new Gauge({
    name: "serin_canary_run_requests",
    help: "Requests the canary served in its current or last run, by outcome: served (all), failed (5xx), slow (over the latency threshold)",
    labelNames: ["name", "namespace", "outcome"] as const,
    registers: [this.registry],
  });
  readonly judgeEvidence = new Gauge({
    name: "serin_canary_judge_evidence",
    help: "The sequential judge's e-value against 'the canary is no worse than the primary', by test (errors, latency); the run rolls back when it reaches 1/falseAlarmRate",
    labelNames: ["name", "namespace", "test"] as const,
    registers: [this.registry],
  });

  readonly canaryInfo = new Gauge({
    name: "serin_canary_info",
    help: "1 per Canary, naming the workloads Istio's metrics call its canary (workload) and primary (primary_workload)",
    labelNames: ["name", "namespace", "workload", "primary_workload"] as const,
    registers: [this.registry],
  });
  readonly canaryPhase = new Gauge({
    name: "serin_canary_phase",
    help: "1 for the Canary's current phase (one series per Canary; the previous phase's series is removed)",
    labelNames: ["name", "namespace", "phase"] as const,
    registers: [this.registry],
  });
  readonly decisions = new Counter({
    name: "serin_canary_decisions_total",
    help: "Decisions recorded in the Canary's status, by the reason of their Event (Progressing, Halted, Promoting, Succeeded, RolledBack, ...)",
    labelNames: ["name", "namespace", "reason"] as const,
    registers: [this.registry],
  });
  readonly metricValue = new Gauge({
    name: "serin_canary_metric_value",
    help: "Last value of each analysis metric as the check read it (built-in latency in ms), for the canary workload and, for built-in checks, the primary over the same window",
    labelNames: ["name", "namespace", "metric", "workload"] as const,
    registers: [this.registry],
  });

  /** Flagger's metric names and labels, when --flagger-metrics asks for them */
  readonly flagger: FlaggerMetrics | undefined;

  constructor(options: MetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.flagger = options.flagger ? new FlaggerMetrics(this.registry, options.flagger.version) : undefined;
  }

  queueMetrics(name: string): WorkQueueMetrics {
    return {
      depth: (n) => this.queueDepth.set({ name }, n),
      added: () => this.queueAdds.inc({ name }),
      retried: () => this.queueRetries.inc({ name }),
    };
  }
}
