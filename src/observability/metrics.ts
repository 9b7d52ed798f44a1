import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { WorkQueueMetrics } from "../kube/workqueue.js";

/** The controller's own /metrics: controller-runtime's names, plus Flagger-style canary gauges. */
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
    help: "Last canary analysis result, as Flagger's flagger_canary_status: 0 running, 1 successful, 2 failed",
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

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry });
  }

  queueMetrics(name: string): WorkQueueMetrics {
    return {
      depth: (n) => this.queueDepth.set({ name }, n),
      added: () => this.queueAdds.inc({ name }),
      retried: () => this.queueRetries.inc({ name }),
    };
  }
}
