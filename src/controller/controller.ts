// The controller loop: informer events -> keys in the work queue -> N workers running reconciles.
// One Canary is never reconciled by two workers at once (the queue guarantees it), one namespace holds
// at most its share of the workers (the queue's per-namespace limit), and a reconcile that never ends
// (a call without a deadline) makes /healthz fail so the kubelet restarts us instead of leaving every
// rollout behind it stuck.
import type { KubernetesObject, V1Deployment, V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import cron from "node-cron";
import type { Logger } from "pino";
import { ANNOTATIONS, CANARY_KIND, FLAGGER_ANNOTATIONS, GROUP } from "../api/constants.js";
import { formatDuration } from "../api/duration.js";
import { describeError, isConflict, isNotFound, keyOf, splitKey } from "../kube/client.js";
import type { OwnershipGate } from "../kube/shards.js";
import { WorkQueue } from "../kube/workqueue.js";
import type { ProbeResult } from "../observability/http-server.js";
import type { ControllerMetrics } from "../observability/metrics.js";
import { findTargetConfigRefs } from "../workload/config-refs.js";
import { CanaryIndex, type RefKind, targetName } from "./canary-index.js";
import type { ClusterCache } from "./cluster-cache.js";
import type { Reconciler } from "./reconciler.js";

const CONTROLLER = "canary";

/**
 * What the target's ConfigMap/Secret refs depend on: its pod template (any change bumps the
 * generation) and the Deployment's own config-tracking annotations (which do not).
 */
function templateVersion(dep: V1Deployment): string | undefined {
  const generation = dep.metadata?.generation;
  if (generation === undefined) return undefined;
  const annotations = dep.metadata?.annotations;
  return `${generation}|${annotations?.[ANNOTATIONS.configTracking] ?? ""}|${annotations?.[FLAGGER_ANNOTATIONS.configTracking] ?? ""}`;
}

export interface ControllerOptions {
  workers: number;
  /** cron expression for a periodic resync of every Canary (a safety net; watches do the real work) */
  resyncSchedule: string;
  /** keys of one namespace reconciled at once (default: all workers) */
  namespaceConcurrency?: number;
  /** a reconcile running longer than this makes health() fail (default 15 min) */
  reconcileStallMs?: number;
  /** --shards: reconcile only the Canaries of the shards this replica holds (kube/shard-leases.ts) */
  gate?: OwnershipGate;
}

/** What the controller remembers of a Canary between its events (the informer gives no old object). */
interface Seen {
  generation: number | undefined;
  target: string | undefined;
  deleting: boolean;
}

export class CanaryController {
  readonly queue: WorkQueue;
  private resyncJob: { stop(): void } | undefined;
  private running = false;
  private readonly workers: Promise<void>[] = [];
  /** per worker: the key it is reconciling and since when */
  private readonly active = new Map<number, { key: string; since: number }>();
  private readonly seen = new Map<string, Seen>();
  private readonly stallMs: number;
  /** Canaries by the objects they reference: an event enqueues only its own Canaries (canary-index.ts) */
  readonly index: CanaryIndex;

  constructor(
    private readonly cache: ClusterCache,
    private readonly reconciler: Reconciler,
    private readonly metrics: ControllerMetrics,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new WorkQueue({
      metrics: metrics.queueMetrics(CONTROLLER),
      perNamespaceLimit: options.namespaceConcurrency ?? options.workers,
      // A namespace alone with work may borrow idle workers beyond its share (workqueue.ts).
      capacity: options.workers,
    });
    this.stallMs = options.reconcileStallMs ?? 15 * 60_000;
    this.index = new CanaryIndex((namespace, name) => {
      const target = cache.deployments.get(name, namespace);
      return target ? findTargetConfigRefs(target) : [];
    });
    // Export the series from the start: a dashboard should read 0, not "no data".
    metrics.queueDepth.set({ name: CONTROLLER }, 0);
    this.wireEvents();
  }

  /** Starts the workers; caches must be synced first so no reconcile acts on a half-filled cache. */
  start(): void {
    this.running = true;
    for (const c of this.cache.canaries.list()) this.queue.add(keyOf(c));
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work(i));
    this.resyncJob = cron.schedule(this.options.resyncSchedule, () => {
      for (const c of this.cache.canaries.list()) this.queue.add(keyOf(c));
    });
  }

  /** Aborts every reconcile's outbound calls, then waits for the workers to return. */
  async stop(): Promise<void> {
    this.reconciler.cancelAll();
    this.running = false;
    this.resyncJob?.stop();
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  /**
   * Liveness: fails when a worker has been inside one reconcile longer than the stall bound. Every
   * outbound call has its own deadline (the longest legal one, a webhook's timeout x attempts, is
   * 10 min), so such a reconcile is stuck for good and holds its worker and its namespace's share.
   */
  health(): ProbeResult {
    const now = this.now();
    let oldest: { key: string; since: number; worker: number } | undefined;
    for (const [worker, a] of this.active) if (!oldest || a.since < oldest.since) oldest = { ...a, worker };
    if (oldest !== undefined && now - oldest.since > this.stallMs) {
      return {
        ok: false,
        message: `worker ${oldest.worker} has been reconciling Canary ${oldest.key} for ${formatDuration(now - oldest.since)}, longer than the ${formatDuration(this.stallMs)} allowed: a call without a deadline is holding it`,
      };
    }
    return { ok: true, message: "ok" };
  }

  private async work(worker: number): Promise<void> {
    while (this.running) {
      const key = await this.queue.get();
      if (key === undefined) return;
      // Another replica's Canary (or a shard being given back): drop the key; its owner has its own.
      const gate = this.options.gate;
      if (gate !== undefined && !gate.begin(key)) {
        this.queue.forget(key);
        this.queue.done(key);
        continue;
      }
      const { namespace, name } = splitKey(key);
      const end = this.metrics.reconcileTime.startTimer({ controller: CONTROLLER });
      this.active.set(worker, { key, since: this.now() });
      try {
        const result = await this.reconciler.reconcile(namespace, name);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        this.metrics.reconcileTotal.inc({
          controller: CONTROLLER,
          result: result.requeueAfterMs !== undefined ? "requeue_after" : "success",
        });
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) {
          // Someone changed (or deleted) the Canary or an object under us: redo on fresh state, soon;
          // a Canary that is gone ends there.
          this.log.debug({ canary: key, err: describeError(err) }, "stale cache; reconciling again");
          // Per-key backoff only: a stale cache is no outage, and many Canaries hitting one at once
          // (a promotion wave racing the Deployment controller's status writes) must not wait on the
          // overall 10 qps bucket.
          this.queue.addRateLimited(key, { overall: false });
        } else {
          this.log.warn(
            { canary: key, err: describeError(err), retries: this.queue.retries(key) },
            "reconcile failed; will retry with backoff",
          );
          this.queue.addRateLimited(key);
        }
        this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: "error" });
      } finally {
        this.active.delete(worker);
        end();
        gate?.end(key);
        this.queue.done(key);
      }
    }
  }

  private enqueueAll(keys: Iterable<string>): void {
    if (!this.running) return;
    for (const key of keys) this.queue.add(key);
  }

  /** The Canaries that reference object `kind` `obj` (O(1): see canary-index.ts). */
  private canariesOf(kind: RefKind, obj: KubernetesObject): ReadonlySet<string> {
    return this.index.lookup(kind, obj.metadata?.namespace ?? "", obj.metadata?.name ?? "");
  }

  private ownerCanary(obj: KubernetesObject): string[] {
    const ref = obj.metadata?.ownerReferences?.find(
      (r) => r.controller && r.kind === CANARY_KIND && r.apiVersion.startsWith(`${GROUP}/`),
    );
    return ref ? [`${obj.metadata?.namespace ?? ""}/${ref.name}`] : [];
  }

  /**
   * A Canary's own event. Its in-flight calls are cancelled when it is deleted (or starts being
   * deleted: the finalizer's reconcile must not wait behind a hung webhook). Other Canaries on the
   * same target are enqueued when this one appears, changes its spec or goes: a second Canary for a
   * Deployment is Blocked while the first exists, and must retry the moment the first is gone. Status
   * writes (same generation) do not wake them, so two Canaries cannot ping-pong.
   */
  private onCanary(obj: KubernetesObject, deleted: boolean): void {
    const key = keyOf(obj);
    const { namespace, name } = splitKey(key);
    const target = targetName(obj);
    const deleting = deleted || obj.metadata?.deletionTimestamp !== undefined;
    const before = this.seen.get(key);
    if (deleted || (deleting && !before?.deleting)) this.reconciler.cancel(namespace, name);
    if (deleted) this.seen.delete(key);
    else this.seen.set(key, { generation: obj.metadata?.generation, target, deleting });
    if (deleted) this.index.deleteCanary(key);
    else this.index.setCanary(key, obj);

    const specChanged =
      before === undefined ||
      deleted ||
      deleting !== before.deleting ||
      before.generation !== obj.metadata?.generation ||
      before.target !== target;
    const siblings = new Set<string>();
    if (specChanged) {
      for (const t of [target, before?.target]) {
        if (t === undefined) continue;
        for (const k of this.index.targeting(namespace, t)) if (k !== key) siblings.add(k);
      }
    }
    this.enqueueAll([key, ...siblings]);
  }

  private wireEvents(): void {
    const c = this.cache;
    // Back after an outage: every Canary gets a prompt reconcile and a fresh backoff, instead of
    // waiting out the retry delay its failures during the outage built up.
    const recovered = () => {
      if (!this.running) return;
      for (const canary of c.canaries.list()) {
        this.queue.forget(keyOf(canary));
        this.queue.add(keyOf(canary));
      }
    };
    for (const informer of c.all()) informer.onRecovered(recovered);
    // An HTTPRoute cache (started on first use) filling up counts as recovered: Canaries waiting on it go on.
    c.httpRoutes.onRecovered(recovered);
    c.canaries.onChange(
      (obj) => this.onCanary(obj, false),
      (obj) => this.onCanary(obj, true),
    );
    // Each event enqueues only the Canaries indexed under the object (plus, for generated objects, the
    // owner named by its ownerReference), never a scan of every Canary.
    // The target (a new image: detected on the watch event, not at the next interval) and the primary.
    // The target's own event is also when its ConfigMap/Secret refs are re-read into the index.
    const onDeployment = (deleted: boolean) => (dep: V1Deployment) => {
      const ns = dep.metadata?.namespace ?? "";
      this.index.targetChanged(
        ns,
        dep.metadata?.name ?? "",
        () => (deleted ? [] : findTargetConfigRefs(dep)),
        deleted ? undefined : templateVersion(dep),
      );
      this.enqueueAll(this.canariesOf("deployment", dep));
    };
    c.deployments.onChange(onDeployment(false), onDeployment(true));
    // A ConfigMap the target uses (an edit is a new revision). Secrets are not watched (cluster-cache.ts):
    // a target that uses some is reconciled every interval instead (reconciler.ts).
    c.configMaps.onChange((obj: KubernetesObject) => this.enqueueAll(this.canariesOf("configmap", obj)));
    // Generated objects: drift (a hand-edited VirtualService) is put back by the owner's reconcile.
    // Also by name: an object in the way (e.g. left over from Flagger) has no owner, and when its user
    // deletes it the Canary it blocked should retry at once, not at the next blocked requeue.
    const generated = (kind: RefKind) => (obj: KubernetesObject) =>
      this.enqueueAll([...this.ownerCanary(obj), ...this.canariesOf(kind, obj)]);
    c.services.onChange(generated("service"));
    c.virtualServices.onChange(generated("virtualservice"));
    c.destinationRules.onChange(generated("destinationrule"));
    c.httpRoutes.onChange(generated("httproute"));
    // spec.autoscalerRef (mirrored as <hpa>-primary) and that copy. Only a spec change, a creation or a
    // deletion: the HPA controller rewrites status on every sync, and those writes concern nobody here.
    const onAutoscaler = (deleted: boolean) => (hpa: V2HorizontalPodAutoscaler) => {
      const generation = hpa.metadata?.generation;
      if (!deleted && generation !== undefined && hpa.status?.observedGeneration === generation) return;
      generated("hpa")(hpa);
    };
    c.autoscalers.onChange(onAutoscaler(false), onAutoscaler(true));
    // MetricTemplates and AlertProviders are read when a check or an alert happens, from the cache, so
    // their events wake nobody (the index still answers which Canaries use one).
  }
}
