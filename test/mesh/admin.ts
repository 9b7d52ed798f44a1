// The simulator's second port: /metrics (all series), /metrics/shard/<i> (what Prometheus scrapes: one
// target per shard of the sidecars, see telemetry.ts), /metrics/sidecar/<ns>/<workload>, /debug/state for
// tests and humans, /healthz.
import http from "node:http";
import type { BackendSummary } from "./backends.js";
import { workloadOf } from "./endpoints.js";
import type { XdsSnapshot } from "./envoy/xds-json.js";
import type { MeshIndex } from "./mesh-index.js";
import { parseLabelList } from "./peer.js";
import type { SidecarIdentity } from "./proxy.js";
import { type RouteSource, routeSource } from "./route-sources.js";
import type { MeshTelemetry } from "./telemetry.js";

export interface SidecarDebugInfo {
  identity: SidecarIdentity;
  ready: boolean;
  config: XdsSnapshot | undefined;
}

export interface MeshDebugState {
  /** One per caller identity seen so far, with what istiod has pushed to its sidecar. */
  sidecars: Array<{
    identity: SidecarIdentity;
    ready: boolean;
    /** The xDS snapshot version (increases with every update from istiod). */
    version: number;
    routeConfigs: string[];
    clusters: string[];
    /** `namespace/name` of each VirtualService the sidecar's routes come from (Istio's route metadata). */
    virtualServices: string[];
    /** Gateway API HTTPRoutes (translated by istiod) the routes come from, `namespace/name` */
    httpRoutes: string[];
  }>;
  services: Array<{ namespace: string; name: string }>;
  pods: Array<{
    namespace: string;
    name: string;
    ready: boolean;
    workload: string;
    podIP: string | undefined;
    labels: Record<string, string>;
  }>;
  backends: BackendSummary[];
}

/**
 * One Prometheus scrape target per metrics shard: file_sd's target (`host:port`), its `__metrics_path__`
 * and an `instance` label of its own (the shards share one host:port, and Prometheus' per-target series
 * such as `up` must not collide). Structurally what test/env/prometheus.ts setTargets takes.
 */
export interface MetricsTarget {
  /** `127.0.0.1:PORT` */
  target: string;
  /** `/metrics/shard/<i>` */
  metricsPath: string;
  /** The scrape URL Prometheus reports for it (`/api/v1/targets` scrapeUrl). */
  url: string;
  labels: { instance: string };
}

export function metricsTargets(hostPort: string, shards: number): MetricsTarget[] {
  return Array.from({ length: shards }, (_, i) => ({
    target: hostPort,
    metricsPath: `/metrics/shard/${i}`,
    url: `http://${hostPort}/metrics/shard/${i}`,
    labels: { instance: `${hostPort}/shard/${i}` },
  }));
}

/** Writes an exposition's cached chunks corked: no string of hundreds of MB (telemetry.ts). */
function writeMetrics(
  res: http.ServerResponse,
  telemetry: MeshTelemetry,
  render: () => Buffer[] | undefined,
) {
  let chunks: Buffer[] | undefined;
  try {
    chunks = render();
  } catch (err) {
    res.writeHead(err instanceof RangeError ? 404 : 500, { "content-type": "text/plain" });
    res.end(String(err));
    return;
  }
  if (chunks === undefined) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no series for that sidecar");
    return;
  }
  res.writeHead(200, { "content-type": telemetry.contentType });
  res.cork();
  for (const c of chunks) res.write(c);
  res.end();
}

/** Every route of a sidecar's snapshot, in order. */
function routesOfSnapshot(config: XdsSnapshot | undefined): Array<{ name?: string; metadata?: unknown }> {
  const out: Array<{ name?: string; metadata?: unknown }> = [];
  for (const rc of config?.routes.values() ?? []) {
    const vhosts = (
      rc as { virtual_hosts?: Array<{ routes?: Array<{ name?: string; metadata?: unknown }> }> }
    ).virtual_hosts;
    for (const vh of vhosts ?? []) out.push(...(vh.routes ?? []));
  }
  return out;
}

/** `namespace/name` of the objects of `kind` a sidecar's routes come from (route-sources.ts). */
function sourcesOf(config: XdsSnapshot | undefined, kind: RouteSource["kind"]): string[] {
  const out = new Set<string>();
  for (const r of routesOfSnapshot(config)) {
    const s = routeSource(r);
    if (s?.kind === kind) out.add(`${s.namespace}/${s.name}`);
  }
  return [...out].sort();
}

export function debugState(
  index: MeshIndex,
  backends: BackendSummary[],
  sidecars: SidecarDebugInfo[] = [],
): MeshDebugState {
  const s = index.state;
  return {
    sidecars: sidecars.map((sc) => ({
      identity: sc.identity,
      ready: sc.ready,
      version: sc.config?.version ?? 0,
      routeConfigs: [...(sc.config?.routes.keys() ?? [])].sort(),
      clusters: [...(sc.config?.clusters.keys() ?? [])].sort(),
      virtualServices: sourcesOf(sc.config, "VirtualService"),
      httpRoutes: sourcesOf(sc.config, "HTTPRoute"),
    })),
    services: s.services.map((x) => ({ namespace: x.namespace, name: x.name })),
    pods: s.pods.map((p) => ({
      namespace: p.namespace,
      name: p.name,
      ready: p.ready && !p.terminating,
      workload: workloadOf(index, p),
      podIP: p.podIP,
      labels: p.labels,
    })),
    backends,
  };
}

/** A sidecar's xDS snapshot as JSON (Envoy's config-dump form, resources by name). */
export interface SidecarConfigDump {
  identity: SidecarIdentity;
  version: number;
  listeners: Record<string, unknown>;
  routes: Record<string, unknown>;
  clusters: Record<string, unknown>;
  endpoints: Record<string, unknown>;
}

export function dumpSidecars(
  sidecars: SidecarDebugInfo[],
  namespace?: string,
  workload?: string,
): SidecarConfigDump[] {
  return sidecars
    .filter((s) => s.config && (!namespace || s.identity.namespace === namespace))
    .filter((s) => !workload || s.identity.workload === workload)
    .map((s) => ({
      identity: s.identity,
      version: s.config?.version ?? 0,
      listeners: Object.fromEntries(s.config?.listeners ?? []),
      routes: Object.fromEntries(s.config?.routes ?? []),
      clusters: Object.fromEntries(s.config?.clusters ?? []),
      endpoints: Object.fromEntries(s.config?.endpoints ?? []),
    }));
}

/**
 * `/metrics` (every series), `/metrics/shard/<i>` (one shard of the sidecars; what Prometheus scrapes),
 * `/metrics/sidecar/<namespace>/<workload>` or `/metrics/sidecar/unknown` (what that workload's sidecar
 * exports), `/debug/metrics-targets` (the shard targets, JSON), `/debug/state`,
 * `/debug/xds?namespace=NS&workload=W` (the sidecars' xDS snapshots), `/healthz`.
 */
export function createAdminServer(
  telemetry: MeshTelemetry,
  state: () => MeshDebugState,
  sidecars: () => SidecarDebugInfo[] = () => [],
  connect?: (identity: SidecarIdentity) => Promise<unknown>,
): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://admin");
    const path = url.pathname;
    if (path === "/metrics") {
      writeMetrics(res, telemetry, () => telemetry.renderChunks());
      return;
    }
    if (path.startsWith("/metrics/shard/")) {
      const i = path.slice("/metrics/shard/".length);
      writeMetrics(res, telemetry, () => telemetry.renderShardChunks(/^\d+$/.test(i) ? Number(i) : -1));
      return;
    }
    if (path.startsWith("/metrics/sidecar/")) {
      const partition = decodeURIComponent(path.slice("/metrics/sidecar/".length));
      writeMetrics(res, telemetry, () => telemetry.renderPartitionChunks(partition));
      return;
    }
    if (path === "/debug/metrics-targets") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(metricsTargets(req.headers.host ?? "127.0.0.1", telemetry.shards)));
      return;
    }
    if (path === "/debug/state") {
      const body = JSON.stringify(state());
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    if (path === "/debug/xds") {
      const q = url.searchParams;
      const namespace = q.get("namespace") ?? undefined;
      const workload = q.get("workload") ?? undefined;
      // connect=1 (with namespace, workload, labels=k=v,k=v, serviceAccount): create that caller's sidecar
      // first and wait for its configuration, as its first request would, without sending one.
      const identity: SidecarIdentity | undefined =
        q.get("connect") === "1" && namespace && workload
          ? {
              namespace,
              workload,
              labels: parseLabelList(q.get("labels") ?? ""),
              serviceAccount: q.get("serviceAccount") || "default",
            }
          : undefined;
      const ready = identity && connect ? connect(identity) : Promise.resolve();
      ready
        .then(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(dumpSidecars(sidecars(), namespace, workload)));
        })
        .catch((err: unknown) => {
          res.writeHead(503, { "content-type": "text/plain" });
          res.end(`sidecar not ready: ${err instanceof Error ? err.message : String(err)}`);
        });
      return;
    }
    if (path === "/healthz" || path === "/readyz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end(
      "not found: try /metrics, /metrics/shard/<i>, /debug/metrics-targets, /debug/state or /debug/xds",
    );
  });
}
