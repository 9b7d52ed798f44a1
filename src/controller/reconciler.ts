// One reconcile of one Canary: observe (caches) -> decide (pure core) -> act -> write status.
// Returns when to look again; throws only for errors worth a rate-limited retry.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary, CanaryStatus } from "../api/canary.js";
import { API_VERSION, CANARY_KIND, FINALIZER } from "../api/constants.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { MetricTemplateSchema } from "../api/metric-template.js";
import { formatProblems, validateCanary } from "../api/validate.js";
import { decide } from "../core/decide.js";
import type { Decision } from "../core/decision.js";
import { desiredCanaryScale, desiredRouting, routingEnabled } from "../core/desired.js";
import { note, READY, step, withCondition } from "../core/status.js";
import type { KubeClients } from "../kube/client.js";
import type { EventRecorder } from "../kube/events.js";
import type { PrometheusClient } from "../metrics/prometheus-client.js";
import { runMetricChecks } from "../metrics/run-checks.js";
import type { ControllerMetrics } from "../observability/metrics.js";
import { type Applier, BlockedError } from "./apply.js";
import type { ClusterCache } from "./cluster-cache.js";
import { hasFinalizer, revertStep, setFinalizers } from "./finalizer.js";
import { observe } from "./observe.js";
import { writeStatus } from "./status-writer.js";

/** How long to wait before looking again at a Canary blocked on something only its user can fix. */
export const BLOCKED_REQUEUE_MS = 60_000;

export interface ReconcileResult {
  requeueAfterMs: number | undefined;
}

export interface ReconcilerDeps {
  clients: KubeClients;
  cache: ClusterCache;
  applier: Applier;
  events: EventRecorder;
  prometheus: PrometheusClient;
  metrics: ControllerMetrics;
  log: Logger;
  now?: () => Date;
}

export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { cache } = this.deps;
    const raw = cache.canaries.get(name, namespace);
    if (raw === undefined) {
      this.deps.metrics.canaryWeight.remove({ name, namespace });
      this.deps.metrics.canaryStatus.remove({ name, namespace });
      return { requeueAfterMs: undefined };
    }
    const log = this.deps.log.child({ canary: `${namespace}/${name}` });
    const validation = validateCanary(raw);
    if (raw.metadata?.deletionTimestamp)
      return this.finalize(raw, validation.ok ? validation : undefined, log);
    if (!validation.ok) {
      await this.reportInvalid(raw, formatProblems(validation.problems), log);
      return { requeueAfterMs: undefined };
    }
    // The finalizer exists only while revertOnDeletion asks for it; adding or removing it is its own
    // write, and the watch event it causes brings us back here.
    const wantsFinalizer = validation.spec.revertOnDeletion;
    if (wantsFinalizer !== hasFinalizer(raw)) {
      const others = (raw.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
      await setFinalizers(this.deps.clients, raw, wantsFinalizer ? [...others, FINALIZER] : others);
      return { requeueAfterMs: undefined };
    }
    return this.reconcileValid(raw, validation.canary, validation.spec, log);
  }

  private async finalize(
    raw: KubernetesObject,
    valid: { canary: Canary; spec: EffectiveSpec } | undefined,
    log: Logger,
  ): Promise<ReconcileResult> {
    if (!hasFinalizer(raw)) return { requeueAfterMs: undefined };
    const others = (raw.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
    if (valid === undefined) {
      // Nothing trustworthy to revert from: let the deletion go through.
      await setFinalizers(this.deps.clients, raw, others);
      return { requeueAfterMs: undefined };
    }
    const { canary, spec } = valid;
    const progress = await revertStep(this.deps.clients, this.deps.cache, canary, spec, log);
    const now = this.deps.now?.() ?? new Date();
    const status = canary.status ?? {};
    const involved = {
      apiVersion: API_VERSION,
      kind: CANARY_KIND,
      name: canary.metadata.name ?? "",
      namespace: canary.metadata.namespace ?? "default",
      uid: canary.metadata.uid,
    };
    if (!progress.done) {
      const next =
        status.phase === "Terminating"
          ? note(status, progress.message, now)
          : step(status, { phase: "Terminating", canaryWeight: 0 }, progress.message, now);
      if (status.phase !== "Terminating")
        await this.deps.events.record(
          involved,
          "Normal",
          "Terminating",
          `Reverting ${involved.name}.${involved.namespace}: ${progress.message}`,
        );
      await writeStatus(this.deps.clients, raw, next);
      return { requeueAfterMs: 2_000 };
    }
    await this.deps.events.record(
      involved,
      "Normal",
      "Terminated",
      `Reverted ${involved.name}.${involved.namespace}: ${progress.message}`,
    );
    await setFinalizers(this.deps.clients, raw, others);
    return { requeueAfterMs: undefined };
  }

  private async reconcileValid(
    raw: KubernetesObject,
    canary: Canary,
    spec: EffectiveSpec,
    log: Logger,
  ): Promise<ReconcileResult> {
    const { cache, applier, events } = this.deps;
    const now = this.deps.now?.() ?? new Date();
    const ref = { name: canary.metadata.name ?? "", namespace: canary.metadata.namespace ?? "default" };
    const status: CanaryStatus = canary.status ?? {};
    const obs = observe(cache, canary, spec, now);

    let decision: Decision = decide(ref, spec, status, obs.world);
    if (decision.needsAnalysis) {
      const analysis = await runMetricChecks({
        name: ref.name,
        namespace: ref.namespace,
        spec,
        defaultPrometheus: this.deps.prometheus,
        findTemplate: (ns, n) => {
          const parsed = MetricTemplateSchema.safeParse(cache.metricTemplates.get(n, ns));
          return parsed.success ? parsed.data : undefined;
        },
      });
      for (const r of analysis) {
        this.deps.metrics.analysisChecks.inc({
          namespace: ref.namespace,
          metric: r.name,
          result: r.value === undefined ? "error" : "value",
        });
      }
      decision = decide(ref, spec, status, { ...obs.world, analysis });
    }

    for (const action of decision.actions) {
      if (action.kind === "create-primary") await applier.createPrimary(canary, spec, obs);
      else await applier.promote(canary, spec, obs);
    }

    let next = decision.status;
    let blocked: string | undefined;
    const notes: string[] = [...obs.warnings];
    try {
      if (routingEnabled(next))
        notes.push(...(await applier.ensureRouting(canary, spec, obs, desiredRouting(spec, next))));
      await applier.scaleCanary(spec, obs, desiredCanaryScale(next));
    } catch (err) {
      if (!(err instanceof BlockedError)) throw err;
      blocked = err.message;
    }
    next = {
      ...next,
      observedGeneration: canary.metadata.generation,
      conditions: withCondition(
        next.conditions,
        blocked
          ? { type: READY, status: "False", reason: "Blocked", message: blocked }
          : {
              type: READY,
              status: "True",
              reason: "Reconciled",
              message: notes.join("; ") || "spec is valid; routes and workloads reconciled",
            },
        now,
      ),
    };

    const written = await writeStatus(this.deps.clients, raw, next);
    const involved = {
      apiVersion: API_VERSION,
      kind: CANARY_KIND,
      name: ref.name,
      namespace: ref.namespace,
      uid: canary.metadata.uid,
    };
    for (const e of decision.events) await events.record(involved, e.type, e.reason, e.message);
    const readyBefore = status.conditions?.find((c) => c.type === READY);
    if (blocked && readyBefore?.message !== blocked)
      await events.record(involved, "Warning", "Blocked", blocked);
    for (const n of notes) {
      if (!readyBefore?.message?.includes(n)) await events.record(involved, "Normal", "Synced", n);
    }

    this.recordMetrics(ref, next);
    const logLine = {
      phase: next.phase,
      weight: next.canaryWeight,
      failedChecks: next.failedChecks,
      written,
    };
    if (decision.events.length > 0 || blocked) log.info(logLine, blocked ?? decision.reason);
    else log.debug(logLine, decision.reason);

    const requeue = blocked ? BLOCKED_REQUEUE_MS : decision.requeueAfterMs;
    return { requeueAfterMs: requeue };
  }

  private async reportInvalid(raw: KubernetesObject, message: string, log: Logger): Promise<void> {
    const status = ((raw as { status?: CanaryStatus }).status ?? {}) as CanaryStatus;
    const before = status.conditions?.find((c) => c.type === READY);
    if (before?.status === "False" && before.reason === "InvalidSpec" && before.message === message) return;
    const now = this.deps.now?.() ?? new Date();
    const next: CanaryStatus = {
      ...status,
      observedGeneration: raw.metadata?.generation,
      conditions: withCondition(
        status.conditions,
        { type: READY, status: "False", reason: "InvalidSpec", message },
        now,
      ),
    };
    await writeStatus(this.deps.clients, raw, next);
    const involved = {
      apiVersion: API_VERSION,
      kind: CANARY_KIND,
      name: raw.metadata?.name ?? "",
      namespace: raw.metadata?.namespace ?? "default",
      uid: raw.metadata?.uid,
    };
    await this.deps.events.record(involved, "Warning", "InvalidSpec", message);
    log.warn({ problems: message }, "invalid Canary spec; left alone until it is fixed");
  }

  private recordMetrics(ref: { name: string; namespace: string }, status: CanaryStatus): void {
    const { metrics } = this.deps;
    metrics.canaryWeight.set(ref, status.canaryWeight ?? 0);
    const phase = status.phase ?? "";
    metrics.canaryStatus.set(
      ref,
      phase === "Failed" ? 0 : phase === "Succeeded" || phase === "Initialized" ? 1 : 2,
    );
  }
}
