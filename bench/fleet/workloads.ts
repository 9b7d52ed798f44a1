// The fleet: one namespace per Canary (the common layout), each with the catalog example as shipped
// (examples/catalog: Deployment, Service, Canary, with Flagger's default progress deadline), created
// through the API with bounded concurrency.
// The same spec serves Serin (`serin.dev/v1beta1`) and Flagger (`flagger.app/v1beta1`).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { kwokNode } from "../../test/env/cluster.js";
import { repoRoot } from "../../test/env/toolchain.js";
import type { KubeAdmin } from "./kube-admin.js";

export type Controller = "serin" | "flagger";

export interface FleetSpec {
  /** analysis.interval, e.g. "10s" */
  interval: string;
  /** keep the example's metrics (needs traffic), or `metrics: []` */
  metrics: boolean;
  /** the target Deployment's replicas (the example has 2) */
  replicas: number;
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> };

function example(file: string): Obj {
  return yaml.load(readFileSync(join(repoRoot, "examples", "catalog", file), "utf8")) as Obj;
}

export function catalogObjects(controller: Controller, namespace: string, spec: FleetSpec): Obj[] {
  const deployment = example("deployment.yaml");
  deployment.metadata.namespace = namespace;
  deployment.spec.replicas = spec.replicas;
  const service = example("service.yaml");
  service.metadata.namespace = namespace;
  const canary = example("canary.yaml");
  canary.metadata.namespace = namespace;
  if (controller === "flagger") canary.apiVersion = "flagger.app/v1beta1";
  // Flagger's default deadline (600 s), not the example's 60 s: rolling hundreds of Deployments at once
  // takes the test world's controller-manager and kwok longer than a minute on 2 cores (N=500: most
  // canaries failed "not ready within progressDeadlineSeconds 60s" before their first step), and a
  // canary failed by the world measures nothing about the controller.
  canary.spec.progressDeadlineSeconds = 600;
  const analysis = canary.spec.analysis as Record<string, unknown>;
  analysis.interval = spec.interval;
  if (!spec.metrics) analysis.metrics = [];
  return [deployment, service, canary];
}

function collection(obj: Obj): string {
  const ns = obj.metadata.namespace as string;
  switch (obj.kind) {
    case "Deployment":
      return `/apis/apps/v1/namespaces/${ns}/deployments`;
    case "Service":
      return `/api/v1/namespaces/${ns}/services`;
    case "Canary":
      return `/apis/${obj.apiVersion as string}/namespaces/${ns}/canaries`;
    default:
      throw new Error(`no collection for ${String(obj.kind)}`);
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time. */
export async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}

/**
 * Creates each namespace and its catalog example (namespace, then Deployment, Service, Canary);
 * `onCreated(namespace, at)` when its Canary exists.
 */
export async function createFleet(
  kube: KubeAdmin,
  controller: Controller,
  namespaces: readonly string[],
  spec: FleetSpec,
  onCreated: (namespace: string, at: number) => void,
  concurrency = 16,
): Promise<void> {
  await inParallel(namespaces, concurrency, async (namespace) => {
    await kube.must(
      "POST",
      "/api/v1/namespaces",
      { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
      undefined,
      true,
    );
    let at = Date.now();
    for (const obj of catalogObjects(controller, namespace, spec)) {
      at = (await kube.must("POST", collection(obj), obj, undefined, true)).at;
    }
    onCreated(namespace, at);
  });
}

/**
 * Pushes `image` to every target at once (strategic merge patches, `concurrency` in flight: what
 * `kubectl set image` sends, without one process per target); `onPushed(namespace, at)` dates each push
 * by its answer (the object was written just before).
 */
export async function pushImage(
  kube: KubeAdmin,
  namespaces: readonly string[],
  image: string,
  onPushed: (namespace: string, at: number) => void,
  concurrency = 32,
): Promise<void> {
  const patch = { spec: { template: { spec: { containers: [{ name: "catalog", image }] } } } };
  await inParallel(namespaces, concurrency, async (namespace) => {
    const res = await kube.must(
      "PATCH",
      `/apis/apps/v1/namespaces/${namespace}/deployments/catalog`,
      patch,
      "application/strategic-merge-patch+json",
    );
    onPushed(namespace, res.at);
  });
}

/**
 * Extra kwok nodes (the test cluster has two, 500 pods each) so that `pods` fit with room to spare;
 * kwok manages every Node with the `kwok.x-k8s.io/node: fake` annotation, as test/env/cluster.ts's.
 */
export async function ensureNodeCapacity(kube: KubeAdmin, pods: number): Promise<number> {
  const perNode = 500;
  const wanted = Math.max(2, Math.ceil((pods * 1.3) / perNode));
  for (let i = 2; i < wanted; i++) {
    const name = `kwok-node-${i}`;
    await kube.must("POST", "/api/v1/nodes", kwokNode(name, perNode), undefined, true);
  }
  return wanted;
}

/**
 * A mesh-wide Sidecar in Istio's root namespace that scopes every sidecar's egress to its own namespace
 * (and istio-system), as Istio's scalability guidance advises for meshes of this size. Without it each
 * webapp sidecar holds every namespace's routes (3 virtual hosts per Canary), and every weight change is
 * re-sent to every sidecar: O(N²) configuration per round of steps. Measured at N=100 without it: the
 * route configuration per sidecar was 1.2 MB of config-dump JSON, the weight changes reached the
 * sidecars so late that 100 of 100 canaries saw almost no traffic during their analysis. With it istiod
 * pushes a VirtualService change only to the sidecars that import it (Istio's SidecarScope dependencies).
 */
export async function scopeSidecarsToTheirNamespace(kube: KubeAdmin): Promise<void> {
  await kube.must(
    "POST",
    "/apis/networking.istio.io/v1/namespaces/istio-system/sidecars",
    {
      apiVersion: "networking.istio.io/v1",
      kind: "Sidecar",
      metadata: { name: "default", namespace: "istio-system" },
      spec: { egress: [{ hosts: ["./*", "istio-system/*"] }] },
    },
    undefined,
    true,
  );
}
