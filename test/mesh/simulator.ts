// Library entry points: the mesh simulator fed by a real cluster and istiod (each caller's sidecar gets
// its xDS configuration from istiod through the xDS bridge), or, for unit tests, by static xDS
// configuration and a fixed MeshState.
import { KubeConfig } from "@kubernetes/client-node";
import {
  createAdminServer,
  debugState,
  type MeshDebugState,
  type MetricsTarget,
  metricsTargets,
  type SidecarDebugInfo,
} from "./admin.js";
import { BackendManager } from "./backends.js";
import { type ImageCatalogue, loadImageCatalogue } from "./behaviour.js";
import { ClusterView } from "./cluster-view.js";
import type { XdsSnapshot } from "./envoy/xds-json.js";
import { listenLoopback } from "./listen.js";
import { MeshIndex } from "./mesh-index.js";
import type { MeshState } from "./model.js";
import { MeshProxy, type SidecarIdentity, type SidecarSource, sidecarKey } from "./proxy.js";
import type { Rng } from "./rng.js";
import { MeshTelemetry } from "./telemetry.js";
import { XdsClient } from "./xds/client.js";

export type { MetricsTarget } from "./admin.js";
export type { SidecarIdentity } from "./proxy.js";

/**
 * istiod's xDS address from $SERIN_ISTIOD_XDS, for callers that do not start istiod themselves yet;
 * throws when it is not set (the cluster-backed simulator cannot route without istiod).
 */
export function xdsAddressFromEnv(): string {
  const v = process.env.SERIN_ISTIOD_XDS;
  if (!v) {
    throw new Error(
      "mesh simulator: SERIN_ISTIOD_XDS is not set (istiod's plaintext xDS address, e.g. 127.0.0.1:15010; test/env/istiod.ts starts one)",
    );
  }
  return v;
}

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
  /** Scrape targets the metrics are split into (/metrics/shard/<i>, see metricsTargets()). Default 32. */
  metricsShards?: number;
  log?: (msg: string) => void;
}

export interface MeshSimulatorOptions extends MeshCommonOptions {
  /** istiod's plaintext xDS address, `127.0.0.1:PORT` (pilot-discovery's --grpcAddr). */
  xdsAddress: string;
  /** The xDS bridge binary (default: xds/client.ts's bridgeBinaryPath()). */
  xdsBridgePath?: string;
  /** How long a caller's first request waits for its sidecar's configuration. Default 30 s. */
  sidecarTimeoutMs?: number;
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
  /**
   * What Prometheus should scrape: one target per metrics shard (`/metrics/shard/<i>`, each with its own
   * `instance` label), as Istio's series are spread over one /metrics per sidecar. A fixed list (hash of
   * the sidecar onto `metricsShards` shards), known before any traffic. Pass to setTargets(job, targets).
   */
  metricsTargets(): MetricsTarget[];
  telemetry: MeshTelemetry;
  debugState(): MeshDebugState;
  /** Stops the servers, the informers, the xDS client and every backend. Idempotent. */
  stop(): Promise<void>;
}

function defaultLog(msg: string): void {
  if (
    process.env.SERIN_MESH_LOG ||
    msg.startsWith("watch ") ||
    msg.startsWith("proxy error") ||
    msg.startsWith("xds client") ||
    msg.startsWith("sidecar ")
  ) {
    process.stderr.write(`[mesh] ${msg}\n`);
  }
}

interface CoreOptions extends MeshCommonOptions {
  index: () => MeshIndex;
  sidecarFor: (identity: SidecarIdentity) => Promise<SidecarSource>;
  sidecars: () => SidecarDebugInfo[];
  onStop: () => Promise<void>;
  subscribe?: (listener: () => void) => () => void;
}

async function startCore(o: CoreOptions): Promise<MeshSimulator> {
  const log = o.log ?? defaultLog;
  const telemetry = new MeshTelemetry(o.keepRecentRecords ?? 0, o.metricsShards);
  const backends = new BackendManager(log);
  const proxy = new MeshProxy({
    index: o.index,
    sidecarFor: o.sidecarFor,
    backends,
    telemetry,
    catalogue: o.catalogue ?? loadImageCatalogue(),
    rng: o.rng ?? Math.random,
    defaultNamespace: o.defaultSourceNamespace ?? "default",
    log,
  });
  // Stop backends whose version has no pods left, and start the backend of a version as soon as one of
  // its pods becomes ready (debounced: informers fire per object), so that starting it is never part of
  // the first requests' latency (a real pod is ready before it gets traffic).
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
  const state = () => debugState(o.index(), backends.list(), o.sidecars());
  const admin = createAdminServer(telemetry, state, o.sidecars, o.sidecarFor);
  let proxyPort: number;
  let adminPort: number;
  try {
    proxyPort = await proxy.listen(o.proxyPort ?? 0);
    adminPort = await listenLoopback(admin, o.metricsPort ?? 0);
  } catch (err) {
    await proxy.close().catch(() => {});
    admin.close();
    await o.onStop();
    await backends.stopAll();
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
    metricsTargets: () => metricsTargets(`127.0.0.1:${adminPort}`, telemetry.shards),
    telemetry,
    debugState: state,
    stop,
  };
}

/** Per-identity sidecar promises (a failed one is forgotten, so the next request tries again). */
function sidecarCache(get: (id: SidecarIdentity) => Promise<SidecarSource>) {
  const cache = new Map<
    string,
    { identity: SidecarIdentity; sidecar: Promise<SidecarSource>; ready?: SidecarSource }
  >();
  return {
    sidecarFor(identity: SidecarIdentity): Promise<SidecarSource> {
      const key = sidecarKey(identity);
      const hit = cache.get(key);
      if (hit) return hit.sidecar;
      const entry: { identity: SidecarIdentity; sidecar: Promise<SidecarSource>; ready?: SidecarSource } = {
        identity,
        sidecar: get(identity),
      };
      entry.sidecar.then(
        (s) => {
          entry.ready = s;
        },
        () => {
          if (cache.get(key) === entry) cache.delete(key);
        },
      );
      cache.set(key, entry);
      return entry.sidecar;
    },
    list(): SidecarDebugInfo[] {
      return [...cache.values()].map((e) => ({
        identity: e.identity,
        ready: e.ready !== undefined,
        config: e.ready?.config(),
      }));
    },
  };
}

/**
 * The simulator against a real API server and istiod: informers on Pods, ReplicaSets, ConfigMaps and
 * Services; every caller identity gets a sidecar connected to istiod over xDS (through the bridge).
 */
export async function startMeshSimulator(opts: MeshSimulatorOptions): Promise<MeshSimulator> {
  if (!opts?.xdsAddress)
    throw new Error("startMeshSimulator: xdsAddress (istiod's plaintext xDS address) is required");
  const kc = new KubeConfig();
  if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
  else kc.loadFromDefault();
  const log = opts.log ?? defaultLog;
  const view = new ClusterView(kc, { namespace: opts.namespace, log });
  let xds: XdsClient | undefined;
  try {
    await view.start(opts.syncTimeoutMs ?? 60_000);
    xds = await XdsClient.start({
      xdsAddress: opts.xdsAddress,
      ...(opts.xdsBridgePath ? { bridgePath: opts.xdsBridgePath } : {}),
      log,
    });
  } catch (err) {
    await view.stop();
    throw err;
  }
  const client = xds;
  const sidecars = sidecarCache((id) => client.sidecar(id, opts.sidecarTimeoutMs ?? 30_000));
  return startCore({
    ...opts,
    log,
    index: () => view.index(),
    sidecarFor: (id) => sidecars.sidecarFor(id),
    sidecars: () => sidecars.list(),
    subscribe: (l) => view.onChange(l),
    onStop: async () => {
      await Promise.all([view.stop(), client.stop()]);
    },
  });
}

export interface StaticMeshOptions extends MeshCommonOptions {
  /**
   * The xDS configuration of every caller's sidecar, or of each identity (called per request, so a test
   * may change what it returns).
   */
  config: XdsSnapshot | ((identity: SidecarIdentity) => XdsSnapshot);
  /** Pods (with podIP: what the endpoints point at), ReplicaSets, ConfigMaps. */
  state: () => MeshState;
  /** How long a new identity's sidecar takes to get its configuration (as from istiod). Default 0. */
  sidecarReadyDelayMs?: number;
}

/** Test-only: the simulator over static xDS configuration and a fixed (or caller-updated) MeshState. */
export async function startStaticMesh(opts: StaticMeshOptions): Promise<MeshSimulator> {
  let cached: { state: MeshState; index: MeshIndex } | undefined;
  const index = () => {
    const s = opts.state();
    if (!cached || cached.state !== s) cached = { state: s, index: new MeshIndex(s) };
    return cached.index;
  };
  const configOf = opts.config;
  const delay = opts.sidecarReadyDelayMs ?? 0;
  const sidecars = sidecarCache(async (identity) => {
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return { config: () => (typeof configOf === "function" ? configOf(identity) : configOf) };
  });
  return startCore({
    ...opts,
    index,
    sidecarFor: (id) => sidecars.sidecarFor(id),
    sidecars: () => sidecars.list(),
    onStop: async () => {},
  });
}
