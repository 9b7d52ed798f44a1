// Informers over the objects the mesh needs besides istiod's xDS (client-node makeInformer): Pods (endpoint
// IP -> pod, backend behaviour, peer labels), ReplicaSets (workload names), ConfigMaps (SIM_* env) and
// Services, kept as a MeshState snapshot. Informers stop on any error but 410; each one here restarts
// itself with back-off.
import http from "node:http";
import https from "node:https";
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  makeInformer,
} from "@kubernetes/client-node";
import { toConfigMap, toPod, toReplicaSet, toService } from "./kube-objects.js";
import { MeshIndex } from "./mesh-index.js";
import type { MeshState } from "./model.js";

interface ResourceDef<T> {
  name: string;
  /** Candidate API paths; `{ns}` becomes `namespaces/<ns>/` or nothing (all namespaces). */
  paths: string[];
  convert: (raw: unknown) => T | undefined;
}

const DEFS = {
  pods: { name: "pods", paths: ["/api/v1/{ns}pods"], convert: toPod },
  services: { name: "services", paths: ["/api/v1/{ns}services"], convert: toService },
  configMaps: { name: "configmaps", paths: ["/api/v1/{ns}configmaps"], convert: toConfigMap },
  replicaSets: { name: "replicasets", paths: ["/apis/apps/v1/{ns}replicasets"], convert: toReplicaSet },
} satisfies { [K in keyof MeshState]: ResourceDef<MeshState[K][number]> };

class HttpStatusError extends Error {
  constructor(
    readonly statusCode: number,
    path: string,
  ) {
    super(`GET ${path}: HTTP ${statusCode}`);
  }
}

/** Raw JSON GET against the API server (list responses stay plain JSON, like watch events). */
async function getJson(kc: KubeConfig, path: string): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(cluster.server + path);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const mod = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {
      ...opts,
      method: "GET",
      headers: { ...opts.headers, accept: "application/json" },
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new HttpStatusError(res.statusCode ?? 0, path));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.end();
  });
}

function isList(x: unknown): x is KubernetesListObject<KubernetesObject> {
  return typeof x === "object" && x !== null && "items" in x && Array.isArray(x.items);
}

function keyOf(raw: KubernetesObject): string {
  return `${raw.metadata?.namespace ?? ""}/${raw.metadata?.name ?? ""}`;
}

const MAX_BACKOFF_MS = 4_000;

class ResourceWatch<T> {
  readonly objects = new Map<string, T>();
  synced = false;
  lastError: string | undefined;
  private pathIndex = 0;
  private informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private backoffMs = 500;
  private stopped = false;
  private syncWaiters: Array<() => void> = [];

  constructor(
    private readonly kc: KubeConfig,
    private readonly def: ResourceDef<T>,
    private readonly namespace: string | undefined,
    private readonly onChange: () => void,
    private readonly log: (msg: string) => void,
  ) {}

  private path(): string {
    const p = this.def.paths[this.pathIndex] ?? this.def.paths[0] ?? "";
    return p.replace("{ns}", this.namespace ? `namespaces/${this.namespace}/` : "");
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  async start(): Promise<void> {
    if (this.stopped) return;
    const path = this.path();
    let listed = false;
    const informer = makeInformer<KubernetesObject>(this.kc, path, async () => {
      const body = await getJson(this.kc, path);
      if (!isList(body)) throw new Error(`GET ${path}: not a list`);
      listed = true;
      // A restarted informer starts with an empty cache, so it reports no deletes for objects that went
      // away while it was down (e.g. across an API server restart): drop them here, or the mesh would
      // keep routing to pods that no longer exist.
      if (this.informer === informer) this.prune(new Set(body.items.map(keyOf)));
      return body;
    });
    this.informer = informer;
    const upsert = (raw: KubernetesObject) => {
      const v = this.def.convert(raw);
      if (v) this.objects.set(keyOf(raw), v);
      else this.objects.delete(keyOf(raw));
      this.onChange();
    };
    informer.on("add", upsert);
    informer.on("update", upsert);
    informer.on("delete", (raw) => {
      this.objects.delete(keyOf(raw));
      this.onChange();
    });
    informer.on("error", (err: unknown) => this.failed(informer, err));
    await informer.start();
    if (listed && this.informer === informer) {
      this.backoffMs = 500;
      this.lastError = undefined;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
    }
  }

  private prune(listed: ReadonlySet<string>): void {
    let removed = false;
    for (const key of [...this.objects.keys()]) {
      if (listed.has(key)) continue;
      this.objects.delete(key);
      removed = true;
    }
    if (removed) this.onChange();
  }

  /** `informer` undefined: whatever is current failed to start (start() itself threw). */
  failed(informer: ReturnType<typeof makeInformer<KubernetesObject>> | undefined, err: unknown): void {
    if (this.stopped || (informer !== undefined && this.informer !== informer)) return;
    const status = err instanceof HttpStatusError ? err.statusCode : undefined;
    if (status === 404 && this.def.paths.length > 1)
      this.pathIndex = (this.pathIndex + 1) % this.def.paths.length;
    const msg = err instanceof Error ? err.message : String(err);
    // A CRD's storage answers 429 for a moment after the CRD is created: not worth a line unless it lasts.
    const transient = status === 429 && this.backoffMs <= 500;
    if (!transient && msg !== this.lastError) this.log(`watch ${this.def.name}: ${msg}; retrying`);
    this.lastError = msg;
    this.informer?.stop().catch(() => {});
    this.informer = undefined;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start().catch((e: unknown) => this.failed(undefined, e));
    }, this.backoffMs);
    // Capped low: a test world's API server comes back within seconds of a restart, and a stale mesh
    // (old endpoints, old weights) would blur what the tests measure about the controller.
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const w of this.syncWaiters.splice(0)) w();
    await this.informer?.stop();
  }
}

export interface ClusterViewOptions {
  /** Watch one namespace; undefined = all namespaces. */
  namespace?: string | undefined;
  log?: (msg: string) => void;
}

type Watches = { [K in keyof MeshState]: ResourceWatch<MeshState[K][number]> };

export class ClusterView {
  private readonly watches: Watches;
  private version = 0;
  private built: { version: number; index: MeshIndex } | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(kc: KubeConfig, opts: ClusterViewOptions = {}) {
    const log = opts.log ?? (() => {});
    const ns = opts.namespace;
    const changed = () => this.changed();
    this.watches = {
      pods: new ResourceWatch(kc, DEFS.pods, ns, changed, log),
      services: new ResourceWatch(kc, DEFS.services, ns, changed, log),
      configMaps: new ResourceWatch(kc, DEFS.configMaps, ns, changed, log),
      replicaSets: new ResourceWatch(kc, DEFS.replicaSets, ns, changed, log),
    };
  }

  private all(): Array<ResourceWatch<unknown>> {
    return Object.values(this.watches);
  }

  private changed(): void {
    this.version++;
    for (const l of this.listeners) l();
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Start every informer and wait (up to `timeoutMs`) for each to have listed once. */
  async start(timeoutMs = 60_000): Promise<void> {
    for (const w of this.all()) w.start().catch((err: unknown) => w.failed(undefined, err));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = this.all()
          .filter((w) => !w.synced)
          .map((w) => w.lastError ?? "not listed yet");
        reject(
          new Error(`mesh simulator: informers not synced after ${timeoutMs} ms: ${missing.join("; ")}`),
        );
      }, timeoutMs);
    });
    try {
      await Promise.race([Promise.all(this.all().map((w) => w.whenSynced())), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((w) => w.stop()));
  }

  state(): MeshState {
    const w = this.watches;
    return {
      pods: [...w.pods.objects.values()],
      services: [...w.services.objects.values()],
      configMaps: [...w.configMaps.objects.values()],
      replicaSets: [...w.replicaSets.objects.values()],
    };
  }

  /** The lookup index for the current state, rebuilt lazily after changes. */
  index(): MeshIndex {
    if (!this.built || this.built.version !== this.version) {
      this.built = { version: this.version, index: new MeshIndex(this.state()) };
    }
    return this.built.index;
  }
}
