// Part 2 of bench/reconcile.ts: one reconcile's own CPU, with the real Reconciler over in-memory caches
// and an API stub that stores what is written (creates, replaces, status) and answers at once. Nothing
// here waits on I/O, so wall time = Serin's CPU per reconcile.
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import { pino } from "pino";
import { Applier } from "../src/controller/apply.js";
import { Reconciler } from "../src/controller/reconciler.js";
import { Reporter } from "../src/controller/reporter.js";
import type { KubeClients } from "../src/kube/client.js";
import { EventRecorder } from "../src/kube/events.js";
import type { ResourceRef, RestOptions } from "../src/kube/rest.js";
import type { PrometheusClient } from "../src/metrics/prometheus-client.js";
import { ControllerMetrics } from "../src/observability/metrics.js";
import { type MemoryInformer, memoryCache } from "./memory-informer.js";

let rv = 10;
const notFound = () => Object.assign(new Error("not found"), { code: 404 });

function world() {
  const { informers, cache: memory } = memoryCache();
  const stores: Record<keyof typeof informers, MemoryInformer> = informers;
  const byKind: Record<string, MemoryInformer> = {
    Canary: stores.canaries,
    Deployment: stores.deployments,
    ConfigMap: stores.configMaps,
    Service: stores.services,
    VirtualService: stores.virtualServices,
    DestinationRule: stores.destinationRules,
    HorizontalPodAutoscaler: stores.autoscalers,
  };
  const calls = { count: 0 };
  const stamp = (obj: KubernetesObject): KubernetesObject => {
    const copy = structuredClone(obj);
    copy.metadata = {
      ...copy.metadata,
      resourceVersion: String(++rv),
      uid: copy.metadata?.uid ?? `uid-${rv}`,
    };
    return copy;
  };
  const store = (obj: KubernetesObject): KubernetesObject => {
    const stored = stamp(obj);
    // A created Deployment is ready at once (the world's kubelet is instant).
    if (stored.kind === "Deployment") {
      const d = stored as V1Deployment;
      const replicas = d.spec?.replicas ?? 1;
      d.status = {
        replicas,
        readyReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        observedGeneration: 1,
      };
      d.metadata = { ...d.metadata, generation: 1 };
    }
    byKind[stored.kind ?? ""]?.put(stored);
    return stored;
  };
  const objects = {
    create: async (obj: KubernetesObject) => store(obj),
    replace: async (obj: KubernetesObject) => store(obj),
    patch: async (obj: KubernetesObject) => {
      const current = byKind[obj.kind ?? ""]?.get(obj.metadata?.name ?? "", obj.metadata?.namespace);
      return current ?? obj;
    },
    delete: async () => ({}),
  };
  // RestApi.send: status writes are stored, Secrets read (their -primary copies are Serin's to create),
  // anything else answered as an API server would with nothing there.
  const rest = {
    send: async (method: string, ref: ResourceRef, opts: RestOptions = {}) => {
      calls.count++;
      if (method === "PUT" && ref.subresource === "status") return store(opts.body as KubernetesObject);
      if (method !== "GET") return opts.body ?? {};
      if (ref.name === undefined) return { items: [] };
      if (ref.plural === "secrets" && !ref.name.endsWith("-primary")) return secret(ref.name);
      throw notFound();
    },
  };
  const clients = {
    objects: new Proxy(objects, {
      get(target, prop: string) {
        calls.count++;
        return target[prop as keyof typeof objects];
      },
    }),
    rest,
    config: {},
  } as unknown as KubeClients;
  return { stores, clients, cache: memory, calls };
}

const secret = (name: string) => ({
  metadata: { name, namespace: "ns" },
  type: "Opaque",
  data: { token: "c2VjcmV0" },
});

const target = (name: string, image: string): V1Deployment => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { namespace: "ns", name, generation: 1, resourceVersion: "1", uid: `uid-${name}` },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: {
        volumes: [{ name: "config", configMap: { name: `${name}-config` } }],
        containers: [
          {
            name: "app",
            image,
            ports: [{ name: "http", containerPort: 8080 }],
            env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: `${name}-token`, key: "token" } } }],
            volumeMounts: [{ name: "config", mountPath: "/etc/app" }],
          },
        ],
      },
    },
  },
  status: { replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2, observedGeneration: 1 },
});

export async function reconcileCpu(quick: boolean): Promise<void> {
  const w = world();
  const metrics = new ControllerMetrics({ processMetrics: false });
  const log = pino({ level: "silent" });
  const events = new EventRecorder(w.clients.rest, log);
  let now = Date.parse("2026-12-01T00:00:00Z");
  const reconciler = new Reconciler({
    clients: w.clients,
    cache: w.cache,
    applier: new Applier(w.clients, w.cache, log),
    events,
    reporter: new Reporter(w.clients, w.cache, events, log),
    // No traffic: every query answers an empty vector (the served counts read 0).
    prometheus: {
      query: async () => ({ ok: true, value: 100 }),
      queryVector: async () => ({ ok: true, samples: [] }),
    } as unknown as PrometheusClient,
    metrics,
    log,
    now: () => new Date(now),
  });
  const n = quick ? 50 : 200;
  for (let i = 0; i < n; i++) {
    const name = `app-${i}`;
    w.stores.deployments.put(target(name, "app:v1") as KubernetesObject);
    w.stores.configMaps.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { namespace: "ns", name: `${name}-config`, resourceVersion: "1" },
      data: { "app.yaml": "mode: production\n" },
    } as KubernetesObject);
    w.stores.canaries.put({
      apiVersion: "serin.dev/v1beta1",
      kind: "Canary",
      metadata: { namespace: "ns", name, generation: 1, resourceVersion: "1", uid: `uid-c-${i}` },
      spec: {
        targetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
        service: { port: 80, targetPort: 8080 },
        analysis: { interval: "10s", threshold: 5, maxWeight: 50, stepWeight: 10, metrics: [] },
      },
    } as unknown as KubernetesObject);
  }
  const samples: Record<string, number[]> = {};
  const round = async (label: string) => {
    const before = w.calls.count;
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const start = process.hrtime.bigint();
      await reconciler.reconcile("ns", `app-${i}`);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    samples[label] = [...(samples[label] ?? []), ...times];
    return (w.calls.count - before) / n;
  };
  const apiCalls: Record<string, number> = {};
  // Initialize (creates primary, Services, DestinationRules, VirtualService; several passes), then idle.
  for (let pass = 0; pass < 4; pass++) {
    now += 1_000;
    apiCalls[`initialize (pass ${pass + 1})`] = await round(`initialize (pass ${pass + 1})`);
  }
  for (let pass = 0; pass < 3; pass++) {
    now += 1_000;
    apiCalls["steady, nothing due"] = await round("steady, nothing due");
  }
  // A new image on every target, then steps every 10 s.
  for (let i = 0; i < n; i++) {
    const t = target(`app-${i}`, "app:v2");
    t.metadata = { ...t.metadata, generation: 2 };
    t.status = { ...t.status, observedGeneration: 2 }; // rolled out at once
    w.stores.deployments.put(t as KubernetesObject);
  }
  for (let pass = 0; pass < 8; pass++) {
    now += 10_500;
    apiCalls["progressing: a step due"] = await round("progressing: a step due");
  }
  const phases = new Map<string, number>();
  for (const c of w.stores.canaries.list("ns")) {
    const phase = (c as { status?: { phase?: string } }).status?.phase ?? "";
    phases.set(phase, (phases.get(phase) ?? 0) + 1);
  }
  process.stdout.write(
    `\n## One reconcile's own CPU (real Reconciler, in-memory caches, API stub answering at once; ${n} Canaries)\n\n| kind of reconcile | reconciles | p50 ms | p90 ms | mean ms | API calls per reconcile |\n|---|---|---|---|---|---|\n`,
  );
  for (const [label, times] of Object.entries(samples)) {
    const sorted = [...times].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    const mean = times.reduce((a, b) => a + b, 0) / times.length;
    process.stdout.write(
      `| ${label} | ${times.length} | ${q(0.5).toFixed(2)} | ${q(0.9).toFixed(2)} | ${mean.toFixed(2)} | ${(apiCalls[label] ?? 0).toFixed(1)} |\n`,
    );
  }
  process.stdout.write(`\nphases at the end: ${JSON.stringify(Object.fromEntries(phases))}\n`);
  if (process.env.DEBUG_BENCH)
    process.stdout.write(
      `${JSON.stringify((w.stores.canaries.get("app-0", "ns") as { status?: unknown }).status, null, 1)}\n`,
    );
}
