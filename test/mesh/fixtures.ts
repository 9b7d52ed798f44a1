// Builders and waits for tests that drive the simulator through a real cluster.
import {
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  type V1Deployment,
  type V1Service,
} from "@kubernetes/client-node";
import type { MeshDebugState, SidecarConfigDump } from "./admin.js";
import type { RouteConfigurationJson, RouteJson } from "./envoy/xds-json.js";
import type { DestinationRuleSpec, VirtualServiceSpec } from "./istio-types.js";
import { formatLabelList } from "./peer.js";
import { routeSources } from "./route-sources.js";

export interface AppSpec {
  name: string;
  namespace: string;
  image: string;
  /** Pod labels; `app: name` unless given. */
  labels?: Record<string, string>;
  replicas?: number;
  env?: Record<string, string>;
}

export function deploymentObject(a: AppSpec): V1Deployment {
  const labels = a.labels ?? { app: a.name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: a.name, namespace: a.namespace, labels },
    spec: {
      replicas: a.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: "app",
              image: a.image,
              ports: [{ name: "http", containerPort: 8080 }],
              env: Object.entries(a.env ?? {}).map(([name, value]) => ({ name, value })),
            },
          ],
        },
      },
    },
  };
}

export function serviceObject(
  name: string,
  namespace: string,
  selector: Record<string, string>,
  port = 80,
): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace },
    spec: { selector, ports: [{ name: "http", port, targetPort: 8080 }] },
  };
}

export function virtualServiceObject(
  name: string,
  namespace: string,
  spec: VirtualServiceSpec,
): KubernetesObject {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: { name, namespace },
    spec,
  } as KubernetesObject;
}

export function destinationRuleObject(
  name: string,
  namespace: string,
  spec: DestinationRuleSpec,
): KubernetesObject {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "DestinationRule",
    metadata: { name, namespace },
    spec,
  } as KubernetesObject;
}

const PLURALS: Record<string, string> = {
  VirtualService: "virtualservices",
  DestinationRule: "destinationrules",
};

/** Custom resources go through CustomObjectsApi: KubernetesObjectApi would serialise away their spec. */
function customRef(o: KubernetesObject) {
  const [group, version] = (o.apiVersion ?? "").split("/");
  const plural = PLURALS[o.kind ?? ""];
  if (!group || !version || !plural) return undefined;
  return { group, version, plural, namespace: o.metadata?.namespace ?? "", name: o.metadata?.name ?? "" };
}

/** Create objects in order; returns them as stored (with resourceVersion). */
export async function createObjects(
  kc: KubeConfig,
  objects: KubernetesObject[],
): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const out: KubernetesObject[] = [];
  for (const o of objects) {
    const ref = customRef(o);
    if (ref) out.push((await custom.createNamespacedCustomObject({ ...ref, body: o })) as KubernetesObject);
    else out.push(await api.create(o));
  }
  return out;
}

/** Read-modify-replace a custom resource (VirtualService, DestinationRule). */
export async function replaceCustomObject(
  kc: KubeConfig,
  obj: KubernetesObject,
  mutate: (o: KubernetesObject & { spec: Record<string, unknown> }) => void,
): Promise<KubernetesObject> {
  const ref = customRef(obj);
  if (!ref) throw new Error(`not a known custom resource: ${obj.apiVersion} ${obj.kind}`);
  const api = kc.makeApiClient(CustomObjectsApi);
  const current = (await api.getNamespacedCustomObject(ref)) as KubernetesObject & {
    spec: Record<string, unknown>;
  };
  mutate(current);
  return (await api.replaceNamespacedCustomObject({ ...ref, body: current })) as KubernetesObject;
}

export async function createTestNamespace(kc: KubeConfig, prefix: string): Promise<string> {
  const api = kc.makeApiClient(CoreV1Api);
  const name = `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  await api.createNamespace({ body: { metadata: { name, labels: { "serin.dev/test": "mesh" } } } });
  // Pods are rejected until the namespace's default ServiceAccount exists.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await api.readNamespacedServiceAccount({ name: "default", namespace: name });
      return name;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function deleteNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .deleteNamespace({ name })
    .catch(() => {});
}

export async function fetchMeshState(adminUrl: string): Promise<MeshDebugState> {
  const res = await fetch(new URL("/debug/state", adminUrl));
  if (!res.ok) throw new Error(`mesh /debug/state: HTTP ${res.status}`);
  return (await res.json()) as MeshDebugState;
}

/** Poll the simulator's view until `ready` holds (e.g. pods of a workload are ready). */
export async function waitForMeshState(
  adminUrl: string,
  what: string,
  ready: (s: MeshDebugState) => boolean,
  timeoutMs = 60_000,
): Promise<MeshDebugState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await fetchMeshState(adminUrl);
    if (ready(s)) return s;
    if (Date.now() > deadline) throw new Error(`mesh simulator: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function readyPods(s: MeshDebugState, namespace: string, workload: string): number {
  return s.pods.filter((p) => p.namespace === namespace && p.workload === workload && p.ready).length;
}

export function seesObject(
  list: ReadonlyArray<{ namespace: string; name: string; resourceVersion: string }>,
  obj: KubernetesObject,
): boolean {
  return list.some(
    (x) =>
      x.namespace === obj.metadata?.namespace &&
      x.name === obj.metadata?.name &&
      x.resourceVersion === obj.metadata?.resourceVersion,
  );
}

/** A caller as the x-mesh-source-* headers name it (load.ts / client.ts `source`). */
export interface MeshSource {
  workload: string;
  namespace: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
}

/** The caller's sidecar (created if needed, once istiod has configured it) and its xDS snapshot. */
export async function fetchSidecarConfig(
  adminUrl: string,
  source: MeshSource,
): Promise<SidecarConfigDump | undefined> {
  const u = new URL("/debug/xds", adminUrl);
  u.searchParams.set("connect", "1");
  u.searchParams.set("namespace", source.namespace);
  u.searchParams.set("workload", source.workload);
  u.searchParams.set("labels", formatLabelList(source.labels ?? {}));
  if (source.serviceAccount) u.searchParams.set("serviceAccount", source.serviceAccount);
  const res = await fetch(u);
  if (!res.ok) throw new Error(`mesh /debug/xds: HTTP ${res.status}: ${await res.text()}`);
  const all = (await res.json()) as SidecarConfigDump[];
  const want = formatLabelList(source.labels ?? {});
  return all.find((c) => formatLabelList(c.identity.labels) === want) ?? all[0];
}

/**
 * Poll the caller's sidecar until its configuration from istiod satisfies `ready` (istiod pushes about
 * 100 ms after an object changes; xDS carries no resourceVersion, so wait on the content).
 */
export async function waitForSidecarConfig(
  adminUrl: string,
  what: string,
  source: MeshSource,
  ready: (c: SidecarConfigDump) => boolean,
  timeoutMs = 60_000,
): Promise<SidecarConfigDump> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await fetchSidecarConfig(adminUrl, source);
    if (c && ready(c)) return c;
    if (Date.now() > deadline) throw new Error(`mesh simulator: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Every route of every route configuration (in order). */
export function routesOf(c: SidecarConfigDump): RouteJson[] {
  return Object.values(c.routes).flatMap((rc) =>
    ((rc as RouteConfigurationJson).virtual_hosts ?? []).flatMap((vh) => vh.routes ?? []),
  );
}

/** `namespace/name` of the VirtualServices the routes come from (Istio's route metadata; route-sources.ts). */
export function virtualServicesIn(c: SidecarConfigDump): string[] {
  return routeSources(routesOf(c))
    .filter((s) => s.startsWith("VirtualService "))
    .map((s) => s.slice("VirtualService ".length));
}

/** `namespace/name` of the Gateway API HTTPRoutes the routes come from (translated by istiod). */
export function httpRoutesIn(c: SidecarConfigDump): string[] {
  return routeSources(routesOf(c))
    .filter((s) => s.startsWith("HTTPRoute "))
    .map((s) => s.slice("HTTPRoute ".length));
}

/** The weights of each weighted-cluster route, e.g. [[80, 20]]. */
export function routeWeights(c: SidecarConfigDump): number[][] {
  return routesOf(c).flatMap((r) => {
    const w = r.route?.weighted_clusters?.clusters;
    return w ? [w.map((x) => x.weight ?? 0)] : [];
  });
}

/** Endpoints istiod sent for a cluster (`outbound|80||catalog.ns.svc.cluster.local`). */
export function endpointCount(c: SidecarConfigDump, cluster: string): number {
  const cla = c.endpoints[cluster] as { endpoints?: Array<{ lb_endpoints?: unknown[] }> } | undefined;
  return (cla?.endpoints ?? []).reduce((n, l) => n + (l.lb_endpoints?.length ?? 0), 0);
}
