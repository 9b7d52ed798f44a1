// The controller loop: informer events -> keys in the work queue -> N workers running reconciles.
// One Canary is never reconciled by two workers at once (the queue guarantees it), and a slow
// Canary (say, a Prometheus query timing out) only holds its own worker.
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import cron from "node-cron";
import type { Logger } from "pino";
import type { CanarySpec } from "../api/canary.js";
import { CANARY_KIND, GROUP } from "../api/constants.js";
import { describeError, isConflict, keyOf, splitKey } from "../kube/client.js";
import { WorkQueue } from "../kube/workqueue.js";
import type { ControllerMetrics } from "../observability/metrics.js";
import { findTargetConfigRefs } from "../workload/config-refs.js";
import type { ClusterCache } from "./cluster-cache.js";
import type { Reconciler } from "./reconciler.js";

const CONTROLLER = "canary";

export interface ControllerOptions {
  workers: number;
  /** cron expression for a periodic resync of every Canary (a safety net; watches do the real work) */
  resyncSchedule: string;
}

export class CanaryController {
  readonly queue: WorkQueue;
  private resyncJob: { stop(): void } | undefined;
  private running = false;
  private readonly workers: Promise<void>[] = [];

  constructor(
    private readonly cache: ClusterCache,
    private readonly reconciler: Reconciler,
    private readonly metrics: ControllerMetrics,
    private readonly log: Logger,
    private readonly options: ControllerOptions,
  ) {
    this.queue = new WorkQueue({ metrics: metrics.queueMetrics(CONTROLLER) });
    // Export the series from the start: a dashboard should read 0, not "no data".
    metrics.queueDepth.set({ name: CONTROLLER }, 0);
    this.wireEvents();
  }

  /** Starts the workers; caches must be synced first so no reconcile acts on a half-filled cache. */
  start(): void {
    this.running = true;
    for (const c of this.cache.canaries.list()) this.queue.add(keyOf(c));
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work());
    this.resyncJob = cron.schedule(this.options.resyncSchedule, () => {
      for (const c of this.cache.canaries.list()) this.queue.add(keyOf(c));
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    this.resyncJob?.stop();
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (this.running) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const { namespace, name } = splitKey(key);
      const end = this.metrics.reconcileTime.startTimer({ controller: CONTROLLER });
      try {
        const result = await this.reconciler.reconcile(namespace, name);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        this.metrics.reconcileTotal.inc({
          controller: CONTROLLER,
          result: result.requeueAfterMs !== undefined ? "requeue_after" : "success",
        });
      } catch (err) {
        if (isConflict(err)) {
          // Someone changed the Canary or an object under us: redo on fresh state, soon.
          this.log.debug({ canary: key, err: describeError(err) }, "conflict; reconciling again");
        } else {
          this.log.warn(
            { canary: key, err: describeError(err), retries: this.queue.retries(key) },
            "reconcile failed; will retry with backoff",
          );
        }
        this.queue.addRateLimited(key);
        this.metrics.reconcileTotal.inc({ controller: CONTROLLER, result: "error" });
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  private enqueueAll(keys: Iterable<string>): void {
    if (!this.running) return;
    for (const key of keys) this.queue.add(key);
  }

  /** Canaries in `namespace` whose spec matches. */
  private canariesWhere(namespace: string | undefined, test: (spec: CanarySpec) => boolean): string[] {
    const out: string[] = [];
    for (const c of this.cache.canaries.list(namespace)) {
      const spec = (c as { spec?: CanarySpec }).spec;
      if (spec?.targetRef && test(spec)) out.push(keyOf(c));
    }
    return out;
  }

  private ownerCanary(obj: KubernetesObject): string[] {
    const ref = obj.metadata?.ownerReferences?.find(
      (r) => r.controller && r.kind === CANARY_KIND && r.apiVersion.startsWith(`${GROUP}/`),
    );
    return ref ? [`${obj.metadata?.namespace ?? ""}/${ref.name}`] : [];
  }

  private wireEvents(): void {
    const c = this.cache;
    c.canaries.onChange((obj) => this.enqueueAll([keyOf(obj)]));
    // The target (a new image: detected on the watch event, not at the next interval) and the primary.
    c.deployments.onChange((dep: V1Deployment) => {
      const name = dep.metadata?.name ?? "";
      this.enqueueAll(
        this.canariesWhere(
          dep.metadata?.namespace,
          (s) => s.targetRef.name === name || `${s.targetRef.name}-primary` === name,
        ),
      );
    });
    const onConfig = (kind: "configmap") => (obj: KubernetesObject) => {
      const ns = obj.metadata?.namespace;
      const name = obj.metadata?.name ?? "";
      this.enqueueAll(
        this.canariesWhere(ns, (s) => {
          const target = c.deployments.get(s.targetRef.name, ns);
          return (
            target !== undefined &&
            findTargetConfigRefs(target).some((r) => r.kind === kind && r.name === name)
          );
        }),
      );
    };
    c.configMaps.onChange(onConfig("configmap"));
    // Generated objects: drift (a hand-edited VirtualService) is put back by the owner's reconcile.
    // Also by name: an object in the way (e.g. left over from Flagger) has no owner, and when its user
    // deletes it the Canary it blocked should retry at once, not at the next blocked requeue.
    for (const informer of [c.services, c.virtualServices, c.destinationRules]) {
      informer.onChange((obj: KubernetesObject) => {
        const name = obj.metadata?.name ?? "";
        const byName = this.canariesWhere(obj.metadata?.namespace, (s) => {
          const apex = s.service?.name || s.targetRef.name;
          return name === apex || name === `${apex}-primary` || name === `${apex}-canary`;
        });
        this.enqueueAll([...this.ownerCanary(obj), ...byName]);
      });
    }
  }
}
