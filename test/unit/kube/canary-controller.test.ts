// The controller loop around the queue: honest /healthz, cancellation of a deleted Canary's calls,
// retrying the other Canaries of a target when one goes, and one namespace not starving another.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ClusterCache } from "../../../src/controller/cluster-cache.js";
import { CanaryController } from "../../../src/controller/controller.js";
import type { ReconcileResult, Reconciler } from "../../../src/controller/reconciler.js";
import type { OwnershipGate } from "../../../src/kube/shards.js";
import { ControllerMetrics } from "../../../src/observability/metrics.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Handler = (obj: KubernetesObject) => void;

class FakeInformer {
  objects: KubernetesObject[] = [];
  private readonly handlers: Array<{ change: Handler; remove: Handler }> = [];
  private readonly recovered: Array<() => void> = [];
  onRecovered(handler: () => void): void {
    this.recovered.push(handler);
  }
  /** The watch is back after an outage. */
  recover(): void {
    for (const h of this.recovered) h();
  }
  onChange(change: Handler, remove: Handler = change): void {
    this.handlers.push({ change, remove });
  }
  list(namespace?: string): KubernetesObject[] {
    return this.objects.filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
  get(name: string, namespace?: string): KubernetesObject | undefined {
    return this.objects.find((o) => o.metadata?.name === name && o.metadata?.namespace === namespace);
  }
  upsert(obj: KubernetesObject): void {
    this.objects = [
      ...this.objects.filter(
        (o) => o.metadata?.name !== obj.metadata?.name || o.metadata?.namespace !== obj.metadata?.namespace,
      ),
      obj,
    ];
    for (const h of this.handlers) h.change(obj);
  }
  remove(obj: KubernetesObject): void {
    this.objects = this.objects.filter(
      (o) =>
        o !== obj &&
        (o.metadata?.name !== obj.metadata?.name || o.metadata?.namespace !== obj.metadata?.namespace),
    );
    for (const h of this.handlers) h.remove(obj);
  }
}

function fakeCache() {
  const informers = {
    canaries: new FakeInformer(),
    deployments: new FakeInformer(),
    configMaps: new FakeInformer(),
    services: new FakeInformer(),
    virtualServices: new FakeInformer(),
    destinationRules: new FakeInformer(),
    httpRoutes: new FakeInformer(),
    autoscalers: new FakeInformer(),
    metricTemplates: new FakeInformer(),
    alertProviders: new FakeInformer(),
  };
  const all = () => Object.values(informers);
  return { informers, cache: { ...informers, all } as unknown as ClusterCache };
}

/** A reconciler whose reconciles of keys in `hang` never return until released. */
class FakeReconciler {
  calls: string[] = [];
  /** keys whose reconcile throws (the API server is away) */
  failing = new Set<string>();
  cancelled: string[] = [];
  cancelledAll = 0;
  hang = new Set<string>();
  private readonly release: Array<() => void> = [];
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const key = `${namespace}/${name}`;
    this.calls.push(key);
    if (this.hang.has(key)) await new Promise<void>((r) => this.release.push(r));
    if (this.failing.has(key)) throw new Error("connect ECONNREFUSED");
    return { requeueAfterMs: undefined };
  }
  cancel(namespace: string, name: string): void {
    this.cancelled.push(`${namespace}/${name}`);
  }
  cancelAll(): void {
    this.cancelledAll++;
    for (const r of this.release.splice(0)) r();
  }
}

const canary = (namespace: string, name: string, target: string, extra: Record<string, unknown> = {}) =>
  ({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { namespace, name, generation: 1, ...extra },
    spec: { targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target } },
  }) as KubernetesObject;

function setup(
  options: {
    workers?: number;
    namespaceConcurrency?: number;
    stallMs?: number;
    now?: () => number;
    gate?: OwnershipGate;
  } = {},
) {
  const { informers, cache } = fakeCache();
  const reconciler = new FakeReconciler();
  const controller = new CanaryController(
    cache,
    reconciler as unknown as Reconciler,
    new ControllerMetrics({ processMetrics: false }),
    pino({ level: "silent" }),
    {
      workers: options.workers ?? 2,
      resyncSchedule: "0 0 1 1 *",
      namespaceConcurrency: options.namespaceConcurrency,
      reconcileStallMs: options.stallMs,
      ...(options.gate ? { gate: options.gate } : {}),
    },
    options.now,
  );
  return { informers, reconciler, controller };
}

describe("CanaryController", () => {
  it("when a watch is back after an outage, every Canary is reconciled at once, not after its backoff", async () => {
    const { informers, reconciler, controller } = setup();
    reconciler.failing.add("shop/catalog");
    informers.canaries.upsert(canary("shop", "catalog", "catalog"));
    controller.start();
    // Failing reconciles back off: 5 ms, 10 ms, 20 ms, ...: tries at about 0, 5, 15, 35, 75 and 155 ms,
    // and the next not before ~315 ms.
    await sleep(200);
    const failedTries = reconciler.calls.length;
    expect(failedTries).toBeGreaterThan(3);
    reconciler.failing.clear();
    informers.deployments.recover();
    await sleep(5);
    expect(reconciler.calls.length).toBe(failedTries + 1);
    await controller.stop();
  });

  it("/healthz fails, naming the Canary, once a reconcile runs longer than the stall bound", async () => {
    let now = 1_000_000;
    const { informers, reconciler, controller } = setup({ stallMs: 15 * 60_000, now: () => now });
    reconciler.hang.add("shop/stuck");
    informers.canaries.upsert(canary("shop", "stuck", "catalog"));
    controller.start();
    await sleep(5);
    expect(controller.health()).toEqual({ ok: true, message: "ok" });
    now += 15 * 60_000 + 1;
    const h = controller.health();
    expect(h.ok).toBe(false);
    expect(h.message).toContain("shop/stuck");
    expect(h.message).toContain("15m0s");
    await controller.stop();
    expect(reconciler.cancelledAll).toBe(1);
    expect(controller.health().ok).toBe(true);
  });

  it("a namespace whose reconciles hang does not stop another namespace", async () => {
    const { informers, reconciler, controller } = setup({ workers: 4, namespaceConcurrency: 2 });
    for (let i = 0; i < 4; i++) {
      reconciler.hang.add(`tenant-a/hang-${i}`);
      informers.canaries.upsert(canary("tenant-a", `hang-${i}`, `app-${i}`));
    }
    controller.start();
    await sleep(5);
    expect(reconciler.calls.filter((k) => k.startsWith("tenant-a/"))).toHaveLength(2);
    informers.canaries.upsert(canary("tenant-b", "catalog", "catalog"));
    await sleep(5);
    expect(reconciler.calls).toContain("tenant-b/catalog");
    await controller.stop();
  });

  it("cancels a Canary's calls when it starts being deleted and when it is gone, once each", async () => {
    const { informers, reconciler, controller } = setup();
    const live = canary("shop", "catalog", "catalog");
    informers.canaries.upsert(live);
    controller.start();
    const deleting = canary("shop", "catalog", "catalog", { deletionTimestamp: "2026-12-01T20:00:00Z" });
    informers.canaries.upsert(deleting);
    informers.canaries.upsert({ ...deleting, status: { phase: "Terminating" } } as KubernetesObject);
    expect(reconciler.cancelled).toEqual(["shop/catalog"]);
    informers.canaries.remove(deleting);
    expect(reconciler.cancelled).toEqual(["shop/catalog", "shop/catalog"]);
    await controller.stop();
  });

  it("retries the other Canaries of the same target when one goes, but not on status writes", async () => {
    const { informers, reconciler, controller } = setup();
    const first = canary("shop", "first", "catalog");
    const second = canary("shop", "second", "catalog");
    const unrelated = canary("shop", "other", "payments");
    informers.canaries.upsert(first);
    informers.canaries.upsert(second);
    informers.canaries.upsert(unrelated);
    controller.start();
    await sleep(5);
    reconciler.calls = [];
    // A status write of the first (same generation): only the first is reconciled.
    informers.canaries.upsert({ ...first, status: { phase: "Progressing" } } as KubernetesObject);
    await sleep(5);
    expect(reconciler.calls).toEqual(["shop/first"]);
    reconciler.calls = [];
    // The first goes: the second, Blocked behind it, is retried at once.
    informers.canaries.remove(first);
    await sleep(5);
    expect(reconciler.calls.sort()).toEqual(["shop/first", "shop/second"]);
    await controller.stop();
  });

  it("--shards: reconciles only the Canaries its gate lets through, and tells the gate when each ends", async () => {
    const mine = new Set(["shop/mine"]);
    const inFlight: string[] = [];
    const ended: string[] = [];
    const gate: OwnershipGate = {
      begin: (key) => {
        if (!mine.has(key)) return false;
        inFlight.push(key);
        return true;
      },
      end: (key) => {
        ended.push(key);
      },
    };
    const { informers, reconciler, controller } = setup({ gate });
    informers.canaries.upsert(canary("shop", "mine", "a"));
    informers.canaries.upsert(canary("shop", "theirs", "b"));
    controller.start();
    await sleep(5);
    expect(reconciler.calls).toEqual(["shop/mine"]);
    expect(ended).toEqual(["shop/mine"]);
    // The shard moves here: the same key, enqueued again (main.ts does it on "gained"), now runs.
    mine.add("shop/theirs");
    controller.queue.add("shop/theirs");
    await sleep(5);
    expect(reconciler.calls).toEqual(["shop/mine", "shop/theirs"]);
    expect(ended).toEqual(inFlight);
    await controller.stop();
  });
});
