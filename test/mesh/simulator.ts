// Library entry points: a mesh simulator fed by a real cluster, or by a fixed MeshState (tests).
import type http from "node:http";
import { KubeConfig } from "@kubernetes/client-node";
import { createAdminServer, debugState, type MeshDebugState } from "./admin.js";
import { BackendManager } from "./backends.js";
import { type ImageCatalogue, loadImageCatalogue } from "./behaviour.js";
import { ClusterView } from "./cluster-view.js";
import { MeshIndex } from "./mesh-index.js";
import type { MeshState } from "./model.js";
import { MeshProxy } from "./proxy.js";
import type { Rng } from "./rng.js";
import { MeshTelemetry } from "./telemetry.js";

export interface MeshCommonOptions {
  /** Default 0 = a free port. Both servers bind 127.0.0.1 only. */
  proxyPort?: number;
  metricsPort?: number;
  /** Routing randomness (weights, fault and mirror percentages, RANDOM LB). Default Math.random. */
  rng?: Rng;
  catalogue?: ImageCatalogue;
  /** Namespace assumed for callers that send no x-mesh-source-namespace. Default "default". */
  defaultSourceNamespace?: string;
  /** Keep the last N metric records in memory (MeshSimulator.telemetry.recentRecords()). Default 0. */
  keepRecentRecords?: number;
  log?: (msg: string) => void;
}

export interface MeshSimulatorOptions extends MeshCommonOptions {
  /** Default: $KUBECONFIG, then ~/.kube/config. */
  kubeconfigPath?: string;
  /** Watch one namespace; undefined = all namespaces. */
  namespace?: string;
  /** How long to wait for the first list of every informer. Default 60 s. */
  syncTimeoutMs?: number;
}

export interface MeshSimulator {
  /** Send requests here with `Host: <service>` and the x-mesh-source-* headers. */
  proxyUrl: string;
  /** Prometheus scrape URL (`.../metrics`). */
  metricsUrl: string;
  /** Base URL of the admin server (`/metrics`, `/debug/state`, `/healthz`). */
  adminUrl: string;
  telemetry: MeshTelemetry;
  debugState(): MeshDebugState;
  /** Stops the servers, the informers and every backend process. Idempotent. */
  stop(): Promise<void>;
}

function defaultLog(msg: string): void {
  if (process.env.SERIN_MESH_LOG || msg.startsWith("watch ") || msg.startsWith("proxy error")) {
    process.stderr.write(`[mesh] ${msg}\n`);
  }
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      const a = server.address();
      resolve(a && typeof a === "object" ? a.port : port);
    });
  });
}

interface CoreOptions extends MeshCommonOptions {
  index: () => MeshIndex;
  onStop: () => Promise<void>;
  subscribe?: (listener: () => void) => () => void;
}

async function startCore(o: CoreOptions): Promise<MeshSimulator> {
  const log = o.log ?? defaultLog;
  const telemetry = new MeshTelemetry(o.keepRecentRecords ?? 0);
  const backends = new BackendManager(log);
  const proxy = new MeshProxy({
    index: o.index,
    backends,
    telemetry,
    catalogue: o.catalogue ?? loadImageCatalogue(),
    rng: o.rng ?? Math.random,
    defaultNamespace: o.defaultSourceNamespace ?? "default",
    log,
  });
  // Stop backends whose version has no pods left, and start the backend of a version as soon as one of
  // its pods becomes ready (debounced: informers fire per object). Starting on first use instead would put
  // the process start (seconds on a busy machine) into the first requests' latency — a fresh canary's p99
  // — which a real pod, ready before it gets traffic, never shows.
  let reconcileTimer: NodeJS.Timeout | undefined;
  const readySeen = new Set<string>();
  const reconcile = () => {
    const index = o.index();
    const keep = new Set(index.state.pods.map((p) => proxy.backendSpec(index, p).key));
    backends.retain(keep).catch((err: unknown) => log(`backend cleanup failed: ${String(err)}`));
    const present = new Set<string>();
    for (const pod of index.state.pods) {
      const key = `${pod.namespace}/${pod.name}`;
      present.add(key);
      if (!pod.ready || pod.terminating || readySeen.has(key)) continue;
      readySeen.add(key);
      backends.ensure(proxy.backendSpec(index, pod)).catch(() => {
        // a failed start is retried on first use, and reported there
      });
    }
    for (const key of readySeen) if (!present.has(key)) readySeen.delete(key);
  };
  const unsubscribe = o.subscribe?.(() => {
    if (reconcileTimer) clearTimeout(reconcileTimer);
    reconcileTimer = setTimeout(reconcile, 250);
  });
  const state = () => debugState(o.index(), backends.list());
  const admin = createAdminServer(telemetry, state);
  let proxyPort: number;
  let adminPort: number;
  try {
    proxyPort = await proxy.listen(o.proxyPort ?? 0);
    adminPort = await listen(admin, o.metricsPort ?? 0);
  } catch (err) {
    await proxy.close().catch(() => {});
    admin.close();
    await o.onStop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      unsubscribe?.();
      if (reconcileTimer) clearTimeout(reconcileTimer);
      admin.closeAllConnections();
      await Promise.all([proxy.close(), new Promise<void>((r) => admin.close(() => r())), o.onStop()]);
      await backends.stopAll();
    })();
    return stopping;
  };
  return {
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    metricsUrl: `http://127.0.0.1:${adminPort}/metrics`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    telemetry,
    debugState: state,
    stop,
  };
}

/** The simulator against a real API server (informers on Services, Pods, ReplicaSets, ConfigMaps, Istio). */
export async function startMeshSimulator(opts: MeshSimulatorOptions = {}): Promise<MeshSimulator> {
  const kc = new KubeConfig();
  if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else kc.loadFromDefault();
  const log = opts.log ?? defaultLog;
  const view = new ClusterView(kc, { namespace: opts.namespace, log });
  try {
    await view.start(opts.syncTimeoutMs ?? 60_000);
  } catch (err) {
    await view.stop();
    throw err;
  }
  return startCore({
    ...opts,
    log,
    index: () => view.index(),
    subscribe: (l) => view.onChange(l),
    onStop: () => view.stop(),
  });
}

/** The simulator over a fixed (or caller-updated) MeshState: no cluster needed. */
export async function startStaticMesh(
  opts: MeshCommonOptions & { state: () => MeshState },
): Promise<MeshSimulator> {
  let cached: { state: MeshState; index: MeshIndex } | undefined;
  const index = () => {
    const s = opts.state();
    if (!cached || cached.state !== s) cached = { state: s, index: new MeshIndex(s) };
    return cached.index;
  };
  return startCore({ ...opts, index, onStop: async () => {} });
}
