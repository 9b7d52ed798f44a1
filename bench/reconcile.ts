// What an informer event and a reconcile cost the controller, without a cluster (issue 10, "cheap
// reconciles"). Prints figures; asserts nothing.
//
// 1. Routing: informer event -> the keys it enqueues, for N Canaries (100, 1,000, 10,000), in one
//    namespace (the worst case for a per-namespace scan) and ten per namespace. "before" is the scan
//    controller.ts did until issue 10 (every Canary of the namespace per event; a ConfigMap event also
//    re-parsed every target's pod spec), reproduced below verbatim; "after" is the real CanaryController
//    with its CanaryIndex, fed through the same in-memory informers.
// 2. One reconcile's own CPU: the real Reconciler (observe, converge, decide, intent, report) over
//    in-memory caches and an API stub that answers every write at once, so what is left is Serin's CPU
//    per reconcile (the I/O a real reconcile waits for is listed separately in docs/scale.md).
//
//   npx tsx bench/reconcile.ts [--quick] [--cpu-only]
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { pino } from "pino";
import type { CanarySpec } from "../src/api/canary.js";
import { CanaryController } from "../src/controller/controller.js";
import type { ReconcileResult, Reconciler } from "../src/controller/reconciler.js";
import { keyOf } from "../src/kube/client.js";
import { WorkQueue } from "../src/kube/workqueue.js";
import { ControllerMetrics } from "../src/observability/metrics.js";
import { findTargetConfigRefs } from "../src/workload/config-refs.js";
import { memoryCache } from "./memory-informer.js";

const QUICK = process.argv.includes("--quick");
const SIZES = process.env.SIZES
  ? process.env.SIZES.split(",").map(Number)
  : QUICK
    ? [100, 1_000]
    : [100, 1_000, 10_000];
const EVENTS = 10_000;
/** the scan's work budget per measurement (events x Canaries scanned), so N = 10,000 ends in seconds */
const SCAN_BUDGET = QUICK ? 1e6 : 5e6;

const canaryObject = (namespace: string, i: number): KubernetesObject =>
  ({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: {
      namespace,
      name: `app-${i}`,
      generation: 1,
      uid: `uid-${i}`,
      resourceVersion: "1",
      creationTimestamp: "2026-12-01T00:00:00Z",
    },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `app-${i}` },
      service: { port: 80, targetPort: 8080 },
      analysis: {
        interval: "10s",
        threshold: 5,
        maxWeight: 50,
        stepWeight: 10,
        metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" }],
      },
    },
  }) as unknown as KubernetesObject;

/** A target with a realistic pod spec: two ConfigMaps, a Secret, env, probes, resources. */
const deploymentObject = (namespace: string, name: string, image = "app:v1"): V1Deployment => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { namespace, name, generation: 1, resourceVersion: "1", labels: { app: name } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name }, annotations: { "prometheus.io/scrape": "true" } },
      spec: {
        volumes: [{ name: "config", configMap: { name: `${name}-config` } }],
        containers: [
          {
            name: "app",
            image,
            ports: [{ name: "http", containerPort: 8080 }],
            env: [
              { name: "MODE", value: "production" },
              { name: "TOKEN", valueFrom: { secretKeyRef: { name: `${name}-token`, key: "token" } } },
            ],
            envFrom: [{ configMapRef: { name: `${name}-env` } }],
            readinessProbe: { httpGet: { path: "/healthz", port: 8080 } },
            resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
            volumeMounts: [{ name: "config", mountPath: "/etc/app" }],
          },
        ],
      },
    },
  },
  status: {
    replicas: 2,
    readyReplicas: 2,
    updatedReplicas: 2,
    availableReplicas: 2,
    observedGeneration: 1,
    conditions: [
      {
        type: "Available",
        status: "True",
        reason: "MinimumReplicasAvailable",
        lastUpdateTime: new Date("2026-12-01T00:00:00Z"),
        lastTransitionTime: new Date("2026-12-01T00:00:00Z"),
      },
      {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        lastUpdateTime: new Date("2026-12-01T00:00:00Z"),
        lastTransitionTime: new Date("2026-12-01T00:00:00Z"),
      },
    ],
  },
});

const plain = (kind: string, namespace: string, name: string): KubernetesObject => ({
  apiVersion: "v1",
  kind,
  metadata: { namespace, name, resourceVersion: "2" },
});

// ------------------------------------------------------------------ "before": the scan, as it was

/** controller.ts's wiring before issue 10, verbatim apart from `this`. */
function wireScan(c: ReturnType<typeof memoryCache>["informers"], queue: WorkQueue): void {
  const enqueueAll = (keys: Iterable<string>) => {
    for (const key of keys) queue.add(key);
  };
  const canariesWhere = (namespace: string | undefined, test: (spec: CanarySpec) => boolean): string[] => {
    const out: string[] = [];
    for (const cn of c.canaries.list(namespace)) {
      const spec = (cn as { spec?: CanarySpec }).spec;
      if (spec?.targetRef && test(spec)) out.push(keyOf(cn));
    }
    return out;
  };
  c.deployments.onChange((dep: V1Deployment) => {
    const name = dep.metadata?.name ?? "";
    enqueueAll(
      canariesWhere(
        dep.metadata?.namespace,
        (s) => s.targetRef.name === name || `${s.targetRef.name}-primary` === name,
      ),
    );
  });
  c.configMaps.onChange((obj: KubernetesObject) => {
    const ns = obj.metadata?.namespace;
    const name = obj.metadata?.name ?? "";
    enqueueAll(
      canariesWhere(ns, (s) => {
        const target = c.deployments.get(s.targetRef.name, ns);
        return (
          target !== undefined &&
          findTargetConfigRefs(target).some((r) => r.kind === "configmap" && r.name === name)
        );
      }),
    );
  });
  c.services.onChange((obj: KubernetesObject) => {
    const name = obj.metadata?.name ?? "";
    enqueueAll(
      canariesWhere(obj.metadata?.namespace, (s) => {
        const apex = s.service?.name || s.targetRef.name;
        return name === apex || name === `${apex}-primary` || name === `${apex}-canary`;
      }),
    );
  });
}

class IdleReconciler {
  async reconcile(): Promise<ReconcileResult> {
    return { requeueAfterMs: undefined };
  }
  cancel(): void {}
  cancelAll(): void {}
}

interface World {
  informers: ReturnType<typeof memoryCache>["informers"];
  namespaces: string[];
  perNamespace: number;
}

function fill(world: ReturnType<typeof memoryCache>, n: number, perNamespace: number): World {
  const namespaces: string[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `ns-${Math.floor(i / perNamespace)}`;
    if (i % perNamespace === 0) namespaces.push(ns);
    world.informers.deployments.put(deploymentObject(ns, `app-${i}`));
    world.informers.deployments.put(deploymentObject(ns, `app-${i}-primary`));
    world.informers.canaries.put(canaryObject(ns, i));
  }
  return { informers: world.informers, namespaces, perNamespace };
}

/** Events of one kind, cycling over the fleet: half about a Canary's objects, half about other objects. */
function events(world: World, n: number, kind: "configmap" | "deployment" | "service", count: number) {
  const out: KubernetesObject[] = [];
  for (let e = 0; e < count; e++) {
    const i = (e * 7919) % n;
    const ns = `ns-${Math.floor(i / world.perNamespace)}`;
    const mine = e % 2 === 0;
    if (kind === "configmap") out.push(plain("ConfigMap", ns, mine ? `app-${i}-env` : `unrelated-${e}`));
    else if (kind === "service") out.push(plain("Service", ns, mine ? `app-${i}-canary` : `unrelated-${e}`));
    else out.push(deploymentObject(ns, mine ? `app-${i}` : `unrelated-${e % 50}`));
  }
  return out;
}

function emit(world: World, kind: "configmap" | "deployment" | "service", obj: KubernetesObject): void {
  if (kind === "configmap") world.informers.configMaps.emit(obj);
  else if (kind === "service") world.informers.services.emit(obj);
  else world.informers.deployments.emit(obj as V1Deployment);
}

function timeEvents(world: World, kind: "configmap" | "deployment" | "service", list: KubernetesObject[]) {
  const start = process.hrtime.bigint();
  for (const obj of list) emit(world, kind, obj);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toFixed(3));

async function routing(): Promise<void> {
  process.stdout.write(
    `\n## Routing ${EVENTS.toLocaleString()} informer events to Canary keys (ms for all ${EVENTS.toLocaleString()}; per event in µs)\n\n`,
  );
  process.stdout.write(
    "| N Canaries | layout | event | before (scan) | after (index) | ratio | after µs/event |\n|---|---|---|---|---|---|---|\n",
  );
  for (const n of SIZES) {
    for (const perNamespace of [n, 10]) {
      // before
      const scanWorld = memoryCache();
      const before = fill(scanWorld, n, perNamespace);
      const scanQueue = new WorkQueue();
      wireScan(before.informers, scanQueue);
      // after: the real controller, running, its workers draining the queue between measurements
      const indexWorld = memoryCache();
      const after = fill(indexWorld, n, perNamespace);
      const controller = new CanaryController(
        indexWorld.cache,
        new IdleReconciler() as unknown as Reconciler,
        new ControllerMetrics({ processMetrics: false }),
        pino({ level: "silent" }),
        { workers: 16, resyncSchedule: "0 0 1 1 *" },
      );
      // the initial list's add events build the index
      for (const c of indexWorld.informers.canaries.list()) indexWorld.informers.canaries.emit(c);
      controller.start();
      await new Promise((r) => setTimeout(r, 50));
      for (const kind of ["configmap", "deployment", "service"] as const) {
        const scanCount = Math.max(10, Math.min(EVENTS, Math.floor(SCAN_BUDGET / perNamespace)));
        // Warm-up (JIT) untimed, then one timed run each.
        timeEvents(before, kind, events(before, n, kind, Math.min(200, scanCount)));
        timeEvents(after, kind, events(after, n, kind, 1_000));
        const beforeMs = (timeEvents(before, kind, events(before, n, kind, scanCount)) * EVENTS) / scanCount;
        const afterMs = timeEvents(after, kind, events(after, n, kind, EVENTS));
        await new Promise((r) => setTimeout(r, 10));
        process.stdout.write(
          `| ${n.toLocaleString()} | ${perNamespace === n ? "1 namespace" : "10 per namespace"} | ${kind} | ${fmt(beforeMs)}${scanCount < EVENTS ? ` (from ${scanCount})` : ""} | ${fmt(afterMs)} | ${(beforeMs / afterMs).toFixed(0)}x | ${((afterMs * 1000) / EVENTS).toFixed(2)} |\n`,
        );
      }
      await controller.stop();
      scanQueue.shutDown();
      const sizes = controller.index.sizes();
      if (sizes.canaries !== n) throw new Error(`index holds ${sizes.canaries} Canaries, expected ${n}`);
    }
  }
}

if (!process.argv.includes("--cpu-only")) await routing();
await (await import("./reconcile-cpu.js")).reconcileCpu(QUICK);
