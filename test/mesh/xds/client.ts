// Simulated sidecars that get their configuration from the real istiod, the way Envoy does.
//
// One `serin-xds-bridge` child process (test/mesh/xds-bridge, built by scripts/testenv/build-istio.sh
// on Istio's own xDS client) holds one delta-xDS stream per simulated sidecar and reports every
// listener, route, cluster and endpoint resource as a JSON line (Envoy's config-dump form). This module
// keeps, per sidecar identity, an immutable snapshot of those resources that the mesh simulator can
// evaluate requests against.
//
// A sidecar is identified by what istiod uses to select configuration for a workload: namespace, pod
// labels (VirtualService `sourceLabels`, Sidecar/DestinationRule `workloadSelector`), workload name and
// service account. Its IP is a fake one from 10.255.0.0/16 that matches no pod, so istiod takes the
// labels from the node metadata.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export interface SidecarIdentity {
  namespace: string;
  labels: Record<string, string>;
  workload: string;
  serviceAccount: string;
}

export type JsonObject = { [k: string]: unknown };

/** An immutable snapshot of a sidecar's xDS resources, replaced as a whole on every update. */
export interface SidecarConfig {
  /** Increases with every new snapshot of this sidecar. */
  readonly version: number;
  /** By listener name, e.g. "0.0.0.0_80", "virtualOutbound", "10.96.0.12_9080". */
  listeners: ReadonlyMap<string, JsonObject>;
  /** RouteConfigurations by name: "80", "9080", "catalog.ns.svc.cluster.local:80"... */
  routes: ReadonlyMap<string, JsonObject>;
  /** Clusters by name: "outbound|80|canary|catalog.ns.svc.cluster.local", "PassthroughCluster"... */
  clusters: ReadonlyMap<string, JsonObject>;
  /** ClusterLoadAssignments by (EDS service) name, usually the cluster's name. */
  endpoints: ReadonlyMap<string, JsonObject>;
}

export interface Sidecar {
  readonly identity: SidecarIdentity;
  /** The node ID istiod knows this sidecar by (`sidecar~IP~POD.NS~NS.svc.cluster.local`). */
  readonly nodeId: string;
  /** `POD.NS`, for istiod's /debug/config_dump?proxyID=... */
  readonly proxyId: string;
  config(): SidecarConfig;
  /** Called after each new snapshot (bursts of xDS updates are coalesced); returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}

export interface XdsClientOptions {
  /** istiod's plaintext xDS address, "127.0.0.1:P". */
  xdsAddress: string;
  /** The bridge binary; bridgeBinaryPath() by default. */
  bridgePath?: string;
  log?: (msg: string) => void;
  /** How long to gather a burst of resource updates into one snapshot (default 15 ms). */
  coalesceMs?: number;
}

type ResourceType = "listener" | "route" | "cluster" | "endpoint";

interface BridgeLine {
  id: string;
  type?: ResourceType;
  name?: string;
  resource?: JsonObject;
  deleted?: boolean;
  synced?: boolean;
  error?: string;
}

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** $XDS_BRIDGE_BIN of scripts/testenv/versions.sh: the cached bridge built from the current source. */
export function bridgeBinaryPath(): string {
  const script = join(repoRoot, "scripts", "testenv", "versions.sh");
  return execFileSync("bash", ["-c", `source "${script}" && printf %s "$XDS_BRIDGE_BIN"`], {
    encoding: "utf8",
  });
}

/** The key under which identical identities share one simulated sidecar. */
export function identityKey(id: SidecarIdentity): string {
  const labels = Object.keys(id.labels)
    .sort()
    .map((k) => [k, id.labels[k]]);
  return JSON.stringify([id.namespace, labels, id.workload, id.serviceAccount]);
}

/** The i-th fake sidecar IP (i >= 1) in 10.255.0.0/16, skipping .0 and .255 host parts. */
export function fakeIp(i: number): string {
  const perBlock = 254;
  const block = Math.floor((i - 1) / perBlock);
  const host = ((i - 1) % perBlock) + 1;
  if (block > 255) throw new Error("xds client: out of fake sidecar IPs (10.255.0.0/16)");
  return `10.255.${block}.${host}`;
}

const KINDS: Record<ResourceType, "listeners" | "routes" | "clusters" | "endpoints"> = {
  listener: "listeners",
  route: "routes",
  cluster: "clusters",
  endpoint: "endpoints",
};

class Node implements Sidecar {
  readonly nodeId: string;
  readonly proxyId: string;
  private readonly maps = {
    listeners: new Map<string, JsonObject>(),
    routes: new Map<string, JsonObject>(),
    clusters: new Map<string, JsonObject>(),
    endpoints: new Map<string, JsonObject>(),
  };
  private snapshot: SidecarConfig = {
    version: 0,
    listeners: new Map(),
    routes: new Map(),
    clusters: new Map(),
    endpoints: new Map(),
  };
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  /** Resources seen since the bridge was (re)started, to drop what a restarted bridge no longer reports. */
  private seenSinceRestart: Set<string> | undefined;
  synced = false;
  lastError = "";
  private waiters: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly ip: string,
    readonly podName: string,
    readonly identity: SidecarIdentity,
    private readonly coalesceMs: number,
    private readonly log: (msg: string) => void,
  ) {
    const ns = identity.namespace;
    this.nodeId = `sidecar~${ip}~${podName}.${ns}~${ns}.svc.cluster.local`;
    this.proxyId = `${podName}.${ns}`;
  }

  addMessage(): string {
    return JSON.stringify({
      op: "add",
      id: this.id,
      ip: this.ip,
      podName: this.podName,
      namespace: this.identity.namespace,
      labels: this.identity.labels,
      workload: this.identity.workload,
      serviceAccount: this.identity.serviceAccount,
    });
  }

  config(): SidecarConfig {
    return this.snapshot;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  whenSynced(timeoutMs: number): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(
          new Error(
            `xds client: sidecar ${this.nodeId} not synced with istiod after ${timeoutMs} ms` +
              (this.lastError ? ` (last error: ${this.lastError})` : ""),
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  bridgeRestarted(): void {
    this.seenSinceRestart = new Set();
  }

  handle(line: BridgeLine): void {
    if (line.error !== undefined) {
      this.lastError = line.error;
      this.log(`xds client: ${this.proxyId}: ${line.error}`);
      return;
    }
    if (line.synced) {
      if (this.seenSinceRestart) {
        // A restarted bridge reported everything it has: anything else went away meanwhile.
        for (const [kind, map] of Object.entries(this.maps)) {
          for (const name of map.keys()) {
            if (!this.seenSinceRestart.has(`${kind}/${name}`)) map.delete(name);
          }
        }
        this.seenSinceRestart = undefined;
      }
      this.publish();
      if (!this.synced) {
        this.synced = true;
        for (const w of this.waiters.splice(0)) w();
      }
      return;
    }
    if (!line.type || line.name === undefined) return;
    const kind = KINDS[line.type];
    if (!kind) return;
    if (line.deleted) this.maps[kind].delete(line.name);
    else if (line.resource) {
      this.maps[kind].set(line.name, line.resource);
      this.seenSinceRestart?.add(`${kind}/${line.name}`);
    }
    // Before the first sync, snapshots would be partial: publish on `synced`.
    if (this.synced && !this.seenSinceRestart) this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.publish(), this.coalesceMs);
  }

  private publish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.snapshot = {
      version: this.snapshot.version + 1,
      listeners: new Map(this.maps.listeners),
      routes: new Map(this.maps.routes),
      clusters: new Map(this.maps.clusters),
      endpoints: new Map(this.maps.endpoints),
    };
    for (const l of [...this.listeners]) {
      try {
        l();
      } catch (err) {
        this.log(`xds client: onChange listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }
}

export class XdsClient {
  private child: ChildProcess | undefined;
  private readonly nodes = new Map<string, Node>(); // by identity key
  private readonly byId = new Map<string, Node>();
  private nextIndex = 1;
  private stopping = false;
  private restarts = 0;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    private readonly xdsAddress: string,
    private readonly bridgePath: string,
    private readonly log: (msg: string) => void,
    private readonly coalesceMs: number,
  ) {}

  static async start(o: XdsClientOptions): Promise<XdsClient> {
    const client = new XdsClient(
      o.xdsAddress,
      o.bridgePath ?? bridgeBinaryPath(),
      o.log ?? (() => {}),
      o.coalesceMs ?? 15,
    );
    await client.spawnBridge();
    return client;
  }

  /** Number of times the bridge process was restarted after a crash. */
  get bridgeRestarts(): number {
    return this.restarts;
  }

  /** The bridge's pid (for fault injection in tests). */
  get bridgePid(): number | undefined {
    return this.child?.pid;
  }

  /** The sidecar for this identity (one per distinct identity), once istiod has sent its full config. */
  async sidecar(id: SidecarIdentity, timeoutMs = 30_000): Promise<Sidecar> {
    if (this.stopping) throw new Error("xds client: stopped");
    const key = identityKey(id);
    let node = this.nodes.get(key);
    if (!node) {
      const index = this.nextIndex++;
      const identity: SidecarIdentity = {
        namespace: id.namespace,
        labels: { ...id.labels },
        workload: id.workload,
        serviceAccount: id.serviceAccount,
      };
      node = new Node(
        `n${index}`,
        fakeIp(index),
        `${id.workload || "sidecar"}-sim-${index}`,
        identity,
        this.coalesceMs,
        this.log,
      );
      this.nodes.set(key, node);
      this.byId.set(node.id, node);
      this.send(node.addMessage());
    }
    await node.whenSynced(timeoutMs);
    return node;
  }

  /** Disconnects one sidecar from istiod and forgets it. */
  release(sidecar: Sidecar): void {
    const key = identityKey(sidecar.identity);
    const node = this.nodes.get(key);
    if (!node) return;
    this.nodes.delete(key);
    this.byId.delete(node.id);
    node.dispose();
    this.send(JSON.stringify({ op: "remove", id: node.id }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const node of this.nodes.values()) node.dispose();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.stdin?.end(); // the bridge exits when its stdin closes
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref());
    if (!(await Promise.race([this.exited.then(() => true), timeout]))) {
      child.kill("SIGKILL");
      await this.exited;
    }
  }

  private send(line: string): void {
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed) stdin.write(`${line}\n`);
    // Otherwise the bridge is restarting; every node is re-added when it is back.
  }

  private async spawnBridge(): Promise<void> {
    const child = spawn(this.bridgePath, ["--xds", this.xdsAddress], { stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) =>
        reject(
          new Error(
            `xds client: cannot start ${this.bridgePath}: ${err.message} (run scripts/testenv/build-istio.sh)`,
          ),
        ),
      );
    });
    child.stdin?.on("error", () => {}); // EPIPE when it dies: handled by the exit handler
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const out = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    out.on("line", (text) => {
      let line: BridgeLine;
      try {
        line = JSON.parse(text) as BridgeLine;
      } catch {
        this.log(`xds client: bridge wrote a non-JSON line: ${text.slice(0, 200)}`);
        return;
      }
      this.byId.get(line.id)?.handle(line);
    });
    const err = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    err.on("line", (text) => this.log(`xds bridge: ${text}`));
    child.once("exit", (code, signal) => {
      if (this.stopping || this.child !== child) return;
      this.restarts++;
      const delay = Math.min(5000, 200 * 2 ** Math.min(this.restarts - 1, 5));
      this.log(`xds client: bridge exited (code ${code}, signal ${signal}); restarting in ${delay} ms`);
      setTimeout(() => void this.restartBridge(), delay).unref();
    });
    // After a restart: every known sidecar again, same node IDs.
    for (const node of this.nodes.values()) {
      node.bridgeRestarted();
      this.send(node.addMessage());
    }
  }

  private async restartBridge(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.spawnBridge();
    } catch (err) {
      this.log(err instanceof Error ? err.message : String(err));
      setTimeout(() => void this.restartBridge(), 5000).unref();
    }
  }
}
