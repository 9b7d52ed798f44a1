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
import type { MetricResult } from "../core/world.js";
import type { KubeClients } from "../kube/client.js";
import { type EventRecorder, involvedObject } from "../kube/events.js";
import { PrometheusClient } from "../metrics/prometheus-client.js";
import { runMetricChecks } from "../metrics/run-checks.js";
import type { ControllerMetrics } from "../observability/metrics.js";
import { nextSessionCookies, type SessionCookies, statusCookies } from "../router/istio-session-affinity.js";
import { callHooks, hookPayload } from "../webhooks/client.js";
import { canonicalJson } from "../workload/pod-template-hash.js";
import { WorkloadError } from "../workload/primary-deployment.js";
import { type Applier, BlockedError } from "./apply.js";
import type { ClusterCache } from "./cluster-cache.js";
import { hasFinalizer, revertStep, setFinalizers } from "./finalizer.js";
import { type Observation, observe, targetSecretNames } from "./observe.js";
import type { Reporter } from "./reporter.js";
import { readSecrets } from "./secret-reader.js";
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
  reporter: Reporter;
  prometheus: PrometheusClient;
  metrics: ControllerMetrics;
  log: Logger;
  now?: () => Date;
}

function withCookies(status: CanaryStatus, cookies: SessionCookies): CanaryStatus {
  const next: CanaryStatus = { ...status };
  delete next.sessionAffinityCookie;
  delete next.primarySessionAffinityCookie;
  delete next.previousSessionAffinityCookie;
  if (cookies.canary) next.sessionAffinityCookie = cookies.canary;
  if (cookies.primary) next.primarySessionAffinityCookie = cookies.primary;
  if (cookies.previous) next.previousSessionAffinityCookie = cookies.previous;
  return next;
}

/** How soon to look again when the cache has not yet caught up with our own status write. */
export const FENCE_REQUEUE_MS = 100;

export class Reconciler {
  /** per Canary key: the resourceVersion our last successful status write was computed from */
  private readonly writtenFrom = new Map<string, string>();
  /** one client per spec.metricsServer address (keeps its connection pool between checks) */
  private readonly prometheusClients = new Map<string, PrometheusClient>();

  constructor(private readonly deps: ReconcilerDeps) {}

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { cache } = this.deps;
    const raw = cache.canaries.get(name, namespace);
    if (raw === undefined) {
      this.writtenFrom.delete(`${namespace}/${name}`);
      this.deps.metrics.canaryWeight.remove({ name, namespace });
      this.deps.metrics.canaryStatus.remove({ name, namespace });
      return { requeueAfterMs: undefined };
    }
    // Our last status write has not come back through the watch yet: acting now would use the status
    // before it (and could undo what that write's reconcile did to routes and scale). Look again shortly.
    const fence = this.writtenFrom.get(`${namespace}/${name}`);
    if (fence !== undefined && fence === raw.metadata?.resourceVersion)
      return { requeueAfterMs: FENCE_REQUEUE_MS };
    this.writtenFrom.delete(`${namespace}/${name}`);
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
    const involved = involvedObject(API_VERSION, CANARY_KIND, canary.metadata);
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
      if (await writeStatus(this.deps.clients, raw, next)) {
        this.writtenFrom.set(`${involved.namespace}/${involved.name}`, raw.metadata?.resourceVersion ?? "");
      }
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
    const { cache, applier } = this.deps;
    const now = this.deps.now?.() ?? new Date();
    const ref = { name: canary.metadata.name ?? "", namespace: canary.metadata.namespace ?? "default" };
    const status: CanaryStatus = canary.status ?? {};
    const secretNames = targetSecretNames(cache, canary, spec);
    const secrets = await readSecrets(this.deps.clients, ref.namespace, secretNames);
    const obs = observe(cache, secrets, canary, spec, now);

    // 1. Make the world match the status we hold before deciding anything new: if routing is blocked
    //    (a VirtualService someone else owns, a target without a selector label), nothing advances.
    const notes: string[] = [...obs.warnings];
    const currentRouting = routingEnabled(status)
      ? canonicalJson({ routing: desiredRouting(spec, status), cookies: statusCookies(canary) })
      : undefined;
    let blocked = await this.blockedReason(async () => {
      if (routingEnabled(status))
        notes.push(
          ...(await applier.ensureRouting(
            canary,
            spec,
            obs,
            desiredRouting(spec, status),
            statusCookies(canary),
          )),
        );
    });
    let decision: Decision | undefined;
    if (blocked === undefined) {
      // The core asks for what it needs (metric checks, webhook gates) and decides again with the answers.
      let world = obs.world;
      decision = decide(ref, spec, status, world);
      for (let pass = 0; pass < 4 && (decision.needsAnalysis || decision.needsHooks.length > 0); pass++) {
        const asked = decision;
        const payload = hookPayload(ref, status, obs.world.target?.revision);
        const [analysis, answers] = await Promise.all([
          asked.needsAnalysis ? this.analyse(ref, spec) : Promise.resolve(world.analysis),
          Promise.all(
            asked.needsHooks.map(
              async (type) => [type, await callHooks(spec.analysis.webhooks, type, payload)] as const,
            ),
          ),
        ]);
        world = { ...world, analysis, hooks: { ...world.hooks, ...Object.fromEntries(answers) } };
        decision = decide(ref, spec, status, world);
      }
      // 2. One-off actions, then routes and scale for the next status. Status is written last, fenced by
      //    resourceVersion: a crash in between repeats idempotent work, never skips it.
      // Session affinity: the run's cookies are minted when the canary first gets traffic and kept in
      // status, so a restarted controller keeps pinning the same users.
      const routing = desiredRouting(spec, decision.status);
      const cookies = nextSessionCookies(
        { spec: canary.spec, status: decision.status },
        routing.canaryWeight,
      );
      if (spec.analysis.sessionAffinity)
        decision = { ...decision, status: withCookies(decision.status, cookies) };
      const chosen = decision;
      blocked = await this.blockedReason(async () => {
        for (const action of chosen.actions) {
          if (action.kind === "create-primary") await applier.createPrimary(canary, spec, obs);
          else if (action.kind === "promote") await applier.promote(canary, spec, obs);
          else await this.notifyPostRollout(ref, chosen.status, obs, spec, log);
        }
        if (routingEnabled(chosen.status)) {
          const autoscaler = await applier.ensurePrimaryAutoscaler(canary, spec);
          if (autoscaler) notes.push(autoscaler);
          // Usually the decision keeps the routes as they were: they were just made right, so skip the
          // second pass (it would only compare against a cache that has not seen the first pass's writes).
          if (canonicalJson({ routing, cookies }) !== currentRouting) {
            notes.push(...(await applier.ensureRouting(canary, spec, obs, routing, cookies)));
          }
        }
        await applier.scaleCanary(spec, obs, desiredCanaryScale(chosen.status));
      });
    }
    // Blocked: keep the status we had (no step taken) and say why in the Ready condition.
    const base = blocked === undefined && decision ? decision.status : status;
    const next: CanaryStatus = {
      ...base,
      observedGeneration: canary.metadata.generation,
      conditions: withCondition(
        base.conditions,
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
    if (written) this.writtenFrom.set(`${ref.namespace}/${ref.name}`, raw.metadata?.resourceVersion ?? "");
    await this.deps.reporter.report(
      canary,
      spec,
      status,
      decision && blocked === undefined ? decision : undefined,
      blocked,
      notes,
    );

    this.recordMetrics(ref, next);
    const logLine = {
      phase: next.phase,
      weight: next.canaryWeight,
      failedChecks: next.failedChecks,
      written,
    };
    const reason = blocked ?? decision?.reason ?? "";
    if ((decision?.events.length ?? 0) > 0 || blocked) log.info(logLine, reason);
    else log.debug(logLine, reason);
    // Secrets are not watched: a target that uses some is looked at every interval, as Flagger does.
    const requeue = blocked
      ? BLOCKED_REQUEUE_MS
      : (decision?.requeueAfterMs ?? (secretNames.length > 0 ? spec.analysis.intervalMs : undefined));
    return { requeueAfterMs: requeue };
  }

  /** post-rollout hooks are told the outcome; their answer changes nothing, a failure is only logged. */
  private async notifyPostRollout(
    ref: { name: string; namespace: string },
    next: CanaryStatus,
    obs: Observation,
    spec: EffectiveSpec,
    log: Logger,
  ): Promise<void> {
    const result = await callHooks(
      spec.analysis.webhooks,
      "post-rollout",
      hookPayload(ref, next, obs.world.target?.revision),
    );
    if (!result.ok) log.warn({ hooks: result.message }, "post-rollout webhook failed");
  }

  /** Runs `work`; a BlockedError (or a target Serin cannot build from) becomes the reason, anything else propagates. */
  private async blockedReason(work: () => Promise<void>): Promise<string | undefined> {
    try {
      await work();
      return undefined;
    } catch (err) {
      if (err instanceof BlockedError || err instanceof WorkloadError) return err.message;
      throw err;
    }
  }

  private prometheusFor(address: string | undefined): PrometheusClient {
    if (!address) return this.deps.prometheus;
    let client = this.prometheusClients.get(address);
    if (client === undefined) {
      client = new PrometheusClient({ address });
      this.prometheusClients.set(address, client);
    }
    return client;
  }

  private async analyse(
    ref: { name: string; namespace: string },
    spec: EffectiveSpec,
  ): Promise<MetricResult[]> {
    const { cache } = this.deps;
    const analysis = await runMetricChecks({
      name: ref.name,
      namespace: ref.namespace,
      spec,
      // spec.metricsServer overrides the controller's --metrics-server for this Canary, as in Flagger.
      defaultPrometheus: this.prometheusFor(spec.source.metricsServer),
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
    return analysis;
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
    const involved = involvedObject(API_VERSION, CANARY_KIND, raw.metadata);
    await this.deps.events.record(involved, "Warning", "InvalidSpec", message);
    log.warn({ problems: message }, "invalid Canary spec; left alone until it is fixed");
  }

  private recordMetrics(ref: { name: string; namespace: string }, status: CanaryStatus): void {
    const { metrics } = this.deps;
    metrics.canaryWeight.set(ref, status.canaryWeight ?? 0);
    const phase = status.phase ?? "";
    metrics.canaryStatus.set(
      ref,
      // Flagger's flagger_canary_status codes, so dashboards and alert rules carry over.
      phase === "Failed" ? 2 : phase === "Succeeded" || phase === "Initialized" ? 1 : 0,
    );
  }
}
