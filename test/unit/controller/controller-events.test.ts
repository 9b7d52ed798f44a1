// The controller's event wiring: an informer event reconciles exactly the Canaries that reference the
// object (found through the index, not by scanning every Canary), and every reconcile is timed.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { ClusterCache } from "../../../src/controller/cluster-cache.js";
import { CanaryController } from "../../../src/controller/controller.js";
import {
  FENCE_REQUEUE_MS,
  type ReconcileResult,
  type Reconciler,
} from "../../../src/controller/reconciler.js";
import { ControllerMetrics } from "../../../src/observability/metrics.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Handler = (obj: KubernetesObject) => void;

class FakeInformer {
  objects: KubernetesObject[] = [];
  private readonly handlers: Array<{ change: Handler; remove: Handler }> = [];
  onRecovered(_handler: () => void): void {}
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
      (o) => o.metadata?.name !== obj.metadata?.name || o.metadata?.namespace !== obj.metadata?.namespace,
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

class FakeReconciler {
  calls: string[] = [];
  failing = new Set<string>();
  /** per key: the result of its next reconcile only (then the default) */
  next = new Map<string, ReconcileResult>();
  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const key = `${namespace}/${name}`;
    this.calls.push(key);
    await sleep(1);
    if (this.failing.has(key)) throw new Error("connect ECONNREFUSED");
    const result = this.next.get(key);
    this.next.delete(key);
    return result ?? { requeueAfterMs: undefined };
  }
  cancel(): void {}
  cancelAll(): void {}
}

const canary = (namespace: string, name: string, target: string, spec: Record<string, unknown> = {}) =>
  ({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { namespace, name, generation: 1, uid: `uid-${name}` },
    spec: { targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, ...spec },
  }) as KubernetesObject;

const deployment = (namespace: string, name: string, configMaps: string[] = [], generation = 1) =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { namespace, name, generation },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: "app",
              image: "app:v1",
              envFrom: configMaps.map((cm) => ({ configMapRef: { name: cm } })),
            },
          ],
        },
      },
    },
  }) as KubernetesObject;

const object = (kind: string, namespace: string, name: string, extra: Record<string, unknown> = {}) =>
  ({ apiVersion: "v1", kind, metadata: { namespace, name, ...extra } }) as KubernetesObject;

const ownedBy = (canaryName: string) => ({
  ownerReferences: [
    { apiVersion: "serin.dev/v1beta1", kind: "Canary", name: canaryName, uid: "u", controller: true },
  ],
});

async function setup() {
  const { informers, cache } = fakeCache();
  const reconciler = new FakeReconciler();
  const metrics = new ControllerMetrics({ processMetrics: false });
  const controller = new CanaryController(
    cache,
    reconciler as unknown as Reconciler,
    metrics,
    pino({ level: "silent" }),
    { workers: 4, resyncSchedule: "0 0 1 1 *" },
  );
  informers.deployments.upsert(deployment("shop", "catalog", ["catalog-config"]));
  informers.deployments.upsert(deployment("shop", "payments", ["payments-config"]));
  informers.canaries.upsert(canary("shop", "catalog", "catalog"));
  informers.canaries.upsert(canary("shop", "payments", "payments", { service: { name: "pay", port: 80 } }));
  informers.canaries.upsert(canary("other", "catalog", "catalog"));
  controller.start();
  await sleep(20);
  /** what the next events reconcile */
  const reconciledBy = async (events: () => void): Promise<string[]> => {
    reconciler.calls = [];
    events();
    await sleep(20);
    return [...new Set(reconciler.calls)].sort();
  };
  return { informers, reconciler, controller, metrics, reconciledBy };
}

describe("CanaryController event wiring", () => {
  it("a Canary waiting for its own status write is reconciled when the write's event arrives, not at the fallback", async () => {
    const { informers, reconciler, controller, reconciledBy } = await setup();
    // The reconcile found the cache older than its last status write (reconciler.ts's fence).
    reconciler.next.set("shop/catalog", { requeueAfterMs: FENCE_REQUEUE_MS });
    expect(
      await reconciledBy(() => informers.deployments.upsert(deployment("shop", "catalog", [], 2))),
    ).toEqual(["shop/catalog"]);
    // Nothing polls meanwhile; the status write's watch event (same generation) brings it back at once.
    reconciler.calls = [];
    await sleep(300);
    expect(reconciler.calls).toEqual([]);
    const written = canary("shop", "catalog", "catalog");
    expect(
      await reconciledBy(() =>
        informers.canaries.upsert({ ...written, status: { phase: "Progressing" } } as KubernetesObject),
      ),
    ).toEqual(["shop/catalog"]);
    await controller.stop();
  });

  it("a target or primary Deployment event reconciles only the Canaries on it", async () => {
    const { informers, controller, reconciledBy } = await setup();
    expect(
      await reconciledBy(() => informers.deployments.upsert(deployment("shop", "catalog", [], 2))),
    ).toEqual(["shop/catalog"]);
    expect(
      await reconciledBy(() => informers.deployments.upsert(deployment("shop", "catalog-primary"))),
    ).toEqual(["shop/catalog"]);
    expect(await reconciledBy(() => informers.deployments.upsert(deployment("shop", "unrelated")))).toEqual(
      [],
    );
    expect(await reconciledBy(() => informers.deployments.remove(deployment("shop", "payments")))).toEqual([
      "shop/payments",
    ]);
    await controller.stop();
  });

  it("a ConfigMap event reconciles only the Canary whose target uses it, in its namespace", async () => {
    const { informers, controller, reconciledBy } = await setup();
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "catalog-config"))),
    ).toEqual(["shop/catalog"]);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "unused"))),
    ).toEqual([]);
    expect(
      await reconciledBy(() => informers.configMaps.remove(object("ConfigMap", "shop", "payments-config"))),
    ).toEqual(["shop/payments"]);
    await controller.stop();
  });

  it("a ConfigMap the target starts using is followed from the Deployment's event on", async () => {
    const { informers, controller, reconciledBy } = await setup();
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "feature-flags"))),
    ).toEqual([]);
    // The target's template now reads feature-flags: its event reconciles the Canary and re-indexes.
    expect(
      await reconciledBy(() =>
        informers.deployments.upsert(deployment("shop", "catalog", ["catalog-config", "feature-flags"], 2)),
      ),
    ).toEqual(["shop/catalog"]);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "feature-flags"))),
    ).toEqual(["shop/catalog"]);
    // And it stops following a ConfigMap the template dropped.
    informers.deployments.upsert(deployment("shop", "catalog", ["feature-flags"], 3));
    await sleep(20);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "catalog-config"))),
    ).toEqual([]);
    await controller.stop();
  });

  it("a status-only Deployment event keeps the index; config-tracking annotations (no new generation) update it", async () => {
    const { informers, controller, reconciledBy } = await setup();
    const rolling = { ...deployment("shop", "catalog", ["catalog-config"]), status: { readyReplicas: 1 } };
    expect(await reconciledBy(() => informers.deployments.upsert(rolling as KubernetesObject))).toEqual([
      "shop/catalog",
    ]);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "catalog-config"))),
    ).toEqual(["shop/catalog"]);
    const optedOut = deployment("shop", "catalog", ["catalog-config"]);
    optedOut.metadata = { ...optedOut.metadata, annotations: { "serin.dev/config-tracking": "disabled" } };
    informers.deployments.upsert(optedOut);
    await sleep(20);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "catalog-config"))),
    ).toEqual([]);
    await controller.stop();
  });

  it("generated objects reconcile their owner and the Canary they are named after", async () => {
    const { informers, controller, reconciledBy } = await setup();
    // By name: the apex is service.name when set.
    expect(
      await reconciledBy(() => informers.services.upsert(object("Service", "shop", "pay-canary"))),
    ).toEqual(["shop/payments"]);
    expect(
      await reconciledBy(() => informers.virtualServices.upsert(object("VirtualService", "shop", "catalog"))),
    ).toEqual(["shop/catalog"]);
    expect(
      await reconciledBy(() =>
        informers.destinationRules.remove(object("DestinationRule", "other", "catalog-primary")),
      ),
    ).toEqual(["other/catalog"]);
    // By owner, whatever the name.
    expect(
      await reconciledBy(() =>
        informers.virtualServices.upsert(object("VirtualService", "shop", "renamed", ownedBy("payments"))),
      ),
    ).toEqual(["shop/payments"]);
    expect(
      await reconciledBy(() => informers.services.upsert(object("Service", "shop", "payments"))),
    ).toEqual([]);
    await controller.stop();
  });

  it("an autoscaler's spec change, creation or deletion reconciles its Canary; its status writes do not", async () => {
    const { informers, controller, reconciledBy } = await setup();
    informers.canaries.upsert(
      canary("shop", "catalog", "catalog", {
        autoscalerRef: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "catalog" },
      }),
    );
    const hpa = (generation: number, observed: number | undefined) =>
      ({
        ...object("HorizontalPodAutoscaler", "shop", "catalog", { generation }),
        status: observed === undefined ? {} : { observedGeneration: observed },
      }) as KubernetesObject;
    expect(await reconciledBy(() => informers.autoscalers.upsert(hpa(1, undefined)))).toEqual([
      "shop/catalog",
    ]);
    expect(await reconciledBy(() => informers.autoscalers.upsert(hpa(1, 1)))).toEqual([]);
    expect(await reconciledBy(() => informers.autoscalers.upsert(hpa(2, 1)))).toEqual(["shop/catalog"]);
    expect(await reconciledBy(() => informers.autoscalers.remove(hpa(2, 2)))).toEqual(["shop/catalog"]);
    // The generated <hpa>-primary, by owner too.
    const primary = {
      ...object("HorizontalPodAutoscaler", "shop", "catalog-primary", {
        generation: 3,
        ...ownedBy("catalog"),
      }),
      status: { observedGeneration: 2 },
    } as KubernetesObject;
    expect(await reconciledBy(() => informers.autoscalers.upsert(primary))).toEqual(["shop/catalog"]);
    await controller.stop();
  });

  it("a Canary's retarget moves its events: the old target's no longer reach it", async () => {
    const { informers, controller, reconciledBy } = await setup();
    expect(
      await reconciledBy(() => informers.canaries.upsert(canary("shop", "catalog", "payments"))),
    ).toEqual([
      "shop/catalog",
      "shop/payments", // a sibling on the new target: Blocked, or unblocked, by this change
    ]);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "catalog-config"))),
    ).toEqual([]);
    expect(
      await reconciledBy(() => informers.configMaps.upsert(object("ConfigMap", "shop", "payments-config"))),
    ).toEqual(["shop/catalog", "shop/payments"]);
    informers.canaries.remove(canary("shop", "catalog", "payments"));
    await sleep(20);
    expect(
      await reconciledBy(() => informers.deployments.upsert(deployment("shop", "payments", [], 5))),
    ).toEqual(["shop/payments"]);
    expect(controller.index.sizes().canaries).toBe(2);
    await controller.stop();
  });

  it("times every reconcile, failed ones too, in controller_runtime_reconcile_time_seconds", async () => {
    const { reconciler, controller, metrics, reconciledBy } = await setup();
    const count = async () =>
      (await metrics.reconcileTime.get()).values.find(
        (v) => v.metricName === "controller_runtime_reconcile_time_seconds_count",
      )?.value ?? 0;
    const before = await count();
    reconciler.failing.add("shop/payments");
    const calls = await reconciledBy(() => controller.queue.add("shop/payments"));
    expect(calls).toEqual(["shop/payments"]);
    await controller.stop(); // waits for the reconcile in flight
    expect(reconciler.calls.length).toBeGreaterThan(1); // retried with backoff
    expect(await count()).toBe(before + reconciler.calls.length);
    const sum = (await metrics.reconcileTime.get()).values.find(
      (v) => v.metricName === "controller_runtime_reconcile_time_seconds_sum",
    )?.value;
    expect(sum).toBeGreaterThan(0);
  });
});
