// The simulated applications, one virtual backend per (namespace, workload, pod-template hash, behaviour),
// created on first use (or when a pod of that version becomes ready) and closed when that version has no
// pods left. Every virtual backend is a real HTTP server on its own loopback port inside a shared child
// process (backend-server.ts; a small fixed pool of them, sharded by version): requests still cross a real
// process boundary and real sockets, but a new version costs an IPC round trip and a listen() (~1 ms), not
// a Node process start (~0.5 CPU-s, ~30 MB).
//
// SERIN_MESH_BACKENDS=per-version brings back the old layout (one process per version) for comparisons;
// SERIN_MESH_BACKEND_PROCESSES=N sets the pool size (default 1).
import { type ChildProcess, fork, type Serializable } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BackendConfig } from "./backend-plan.js";
import { type Behaviour, behaviourKey } from "./behaviour.js";

export interface BackendSpec {
  key: string;
  namespace: string;
  workload: string;
  behaviour: Behaviour;
}

export interface BackendSummary {
  key: string;
  namespace: string;
  workload: string;
  version: string;
  /** The process hosting it (shared by many backends unless mode is "per-version"). */
  pid: number | undefined;
  port: number | undefined;
  /** Requests this backend answered, and how many with a 5xx (reported about once a second). */
  requests: number;
  errors: number;
}

/** Requests served by one version (namespace, workload, pod-template hash), across behaviour changes. */
export interface ServedCount {
  namespace: string;
  workload: string;
  /** `<namespace>/<workload>/<pod-template-hash>` */
  versionId: string;
  /** image `name:tag` */
  version: string;
  requests: number;
  errors: number;
}

export type BackendMode = "shared" | "per-version";

export interface BackendManagerOptions {
  /** Default $SERIN_MESH_BACKENDS, else "shared". */
  mode?: BackendMode;
  /** Processes in the shared pool. Default $SERIN_MESH_BACKEND_PROCESSES, else 1. */
  processes?: number;
}

const SCRIPT = fileURLToPath(new URL("./backend-server.ts", import.meta.url));
const START_TIMEOUT_MS = 20_000;
/** A version that comes back within this long keeps its start time (no second cold start or burst). */
const EPOCH_GRACE_MS = 30_000;

function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("tsx/package.json");
  return pathToFileURL(path.join(path.dirname(pkg), "dist", "loader.mjs")).href;
}

/** `<ns>/<workload>/<hash>/<behaviourKey>` -> `<ns>/<workload>/<hash>`: what stays when behaviour changes. */
export function versionIdOf(spec: BackendSpec): string {
  const suffix = `/${behaviourKey(spec.behaviour)}`;
  return spec.key.endsWith(suffix) ? spec.key.slice(0, -suffix.length) : spec.key;
}

function hashOf(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface Waiter<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

/** One backend process and the virtual backends it hosts. */
class BackendHost {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  exited = false;
  private readonly creating = new Map<number, Waiter<number>>();
  private readonly closing = new Map<number, Waiter<void>>();
  private readonly exitWaiters: Array<() => void> = [];

  constructor(
    loader: string,
    private readonly log: (msg: string) => void,
    private readonly onStats: (stats: Array<[number, number, number]>) => void,
    private readonly onExit: (host: BackendHost, why: string) => void,
  ) {
    this.child = fork(SCRIPT, [], {
      execArgv: ["--import", loader],
      env: {
        PATH: process.env.PATH ?? "",
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    // Neither the process nor its channel keeps the simulator alive; the channel is ref'd while a reply is
    // awaited. The child exits by itself when the channel closes (whatever way the simulator ends).
    this.child.unref();
    this.updateRef();
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("backend process did not start"));
        this.child.kill("SIGKILL"); // its exit replaces it (hostAt) on the next ensure()
      }, START_TIMEOUT_MS);
      this.child.on("message", (raw: unknown) => {
        if (typeof raw !== "object" || raw === null) return;
        const m = raw as { t?: unknown; id?: unknown; port?: unknown; error?: unknown; s?: unknown };
        if (m.t === "ready") {
          clearTimeout(timer);
          resolve();
        } else if (m.t === "up" && typeof m.id === "number" && typeof m.port === "number") {
          this.settle(this.creating, m.id, (w) => w.resolve(m.port as number));
        } else if (m.t === "fail" && typeof m.id === "number") {
          const err = new Error(`backend listen failed: ${String(m.error)}`);
          this.settle(this.creating, m.id, (w) => w.reject(err));
        } else if (m.t === "closed" && typeof m.id === "number") {
          this.settle(this.closing, m.id, (w) => w.resolve());
        } else if (m.t === "stats" && Array.isArray(m.s)) {
          this.onStats(m.s as Array<[number, number, number]>);
        }
      });
      const gone = (why: string) => {
        clearTimeout(timer);
        if (this.exited) return;
        this.exited = true;
        const err = new Error(`backend process ${this.child.pid} ${why}`);
        reject(err);
        for (const w of this.creating.values()) w.reject(err);
        for (const w of this.closing.values()) w.resolve();
        this.creating.clear();
        this.closing.clear();
        this.updateRef();
        for (const w of this.exitWaiters.splice(0)) w();
        this.onExit(this, why);
      };
      this.child.on("exit", (code, signal) => gone(`exited (code ${code}, signal ${signal})`));
      this.child.on("error", (err) => gone(`failed: ${err.message}`));
    });
    this.ready.catch(() => {});
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private updateRef(): void {
    const busy = !this.exited && (this.creating.size > 0 || this.closing.size > 0);
    const ch = this.child.channel as { ref?(): void; unref?(): void } | null | undefined;
    if (busy) ch?.ref?.();
    else ch?.unref?.();
  }

  private settle<T>(m: Map<number, Waiter<T>>, id: number, f: (w: Waiter<T>) => void): void {
    const w = m.get(id);
    if (!w) return;
    m.delete(id);
    this.updateRef();
    f(w);
  }

  private send(msg: Serializable): boolean {
    if (this.exited || !this.child.connected) return false;
    try {
      // A send that fails asynchronously (channel closing) surfaces as the process's exit.
      // false only means "queued behind earlier messages": still sent.
      this.child.send(msg, (err) => {
        if (err) this.log(`backend process ${this.child.pid}: ${err.message}`);
      });
      return true;
    } catch {
      return false;
    }
  }

  async create(id: number, cfg: BackendConfig, startedAt: number): Promise<number> {
    await this.ready;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(this.creating, id, (w) => w.reject(new Error(`backend ${id} did not start`)));
      }, START_TIMEOUT_MS);
      this.creating.set(id, {
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.updateRef();
      if (!this.send({ t: "create", id, cfg: cfg as unknown as Serializable, startedAt })) {
        this.settle(this.creating, id, (w) => w.reject(new Error("backend process gone")));
      }
    });
  }

  close(id: number): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.settle(this.closing, id, (w) => w.resolve()), 5_000);
      this.closing.set(id, {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.updateRef();
      if (!this.send({ t: "close", id })) this.settle(this.closing, id, (w) => w.resolve());
    });
  }

  kill(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => this.child.kill("SIGKILL"), 2_000);
      this.exitWaiters.push(() => {
        clearTimeout(force);
        resolve();
      });
      this.child.ref();
      this.child.kill("SIGTERM");
    });
  }
}

interface Backend {
  spec: BackendSpec;
  id: number;
  versionId: string;
  host: BackendHost;
  port: number | undefined;
  ready: Promise<number>;
  requests: number;
  errors: number;
}

export class BackendManager {
  private readonly backends = new Map<string, Backend>();
  private readonly byId = new Map<number, Backend>();
  private readonly loader = tsxLoaderUrl();
  private readonly mode: BackendMode;
  private readonly pool: Array<BackendHost | undefined>;
  private readonly epochs = new Map<string, { startedAt: number; live: number; lastSeen: number }>();
  private readonly served = new Map<string, ServedCount>();
  private nextId = 1;
  private stopped = false;

  constructor(
    private readonly log: (msg: string) => void = () => {},
    opts: BackendManagerOptions = {},
  ) {
    const envMode = process.env.SERIN_MESH_BACKENDS;
    this.mode = opts.mode ?? (envMode === "per-version" ? "per-version" : "shared");
    const n = opts.processes ?? Number(process.env.SERIN_MESH_BACKEND_PROCESSES ?? 1);
    this.pool = Array.from({ length: Number.isInteger(n) && n >= 1 ? Math.min(n, 16) : 1 }, () => undefined);
    // Start the shared pool now, so the first version does not wait for a process start either.
    if (this.mode === "shared") for (let i = 0; i < this.pool.length; i++) this.hostAt(i);
  }

  /** Resolves when the shared backend processes are up (ensure() is then a ~1 ms IPC round trip). */
  async whenReady(): Promise<void> {
    if (this.mode === "shared") {
      await Promise.all(this.pool.map((_, i) => this.hostAt(i).ready));
    }
  }

  /** Port of a backend that is already listening, without waiting. */
  portOf(key: string): number | undefined {
    return this.backends.get(key)?.port;
  }

  /** The backend's port, creating it if needed (in a running process: about a millisecond). */
  ensure(spec: BackendSpec): Promise<number> {
    if (this.stopped) return Promise.reject(new Error("mesh simulator stopped"));
    const existing = this.backends.get(spec.key);
    if (existing) return existing.ready;
    return this.start(spec).ready;
  }

  private hostAt(i: number): BackendHost {
    const h = this.pool[i];
    if (h && !h.exited) return h;
    const host = this.newHost();
    this.pool[i] = host;
    return host;
  }

  private newHost(): BackendHost {
    const host = new BackendHost(
      this.loader,
      this.log,
      (stats) => this.onStats(stats),
      (h, why) => {
        if (!this.stopped && this.mode === "shared") this.log(`backend process ${h.pid} ${why}`);
        for (const b of [...this.backends.values()]) if (b.host === h) this.forget(b);
      },
    );
    this.log(`backend process started pid=${host.pid}`);
    return host;
  }

  private start(spec: BackendSpec): Backend {
    const versionId = versionIdOf(spec);
    const host =
      this.mode === "per-version" ? this.newHost() : this.hostAt(hashOf(versionId) % this.pool.length);
    const now = Date.now();
    let epoch = this.epochs.get(versionId);
    if (!epoch || (epoch.live === 0 && now - epoch.lastSeen > EPOCH_GRACE_MS)) {
      epoch = { startedAt: now, live: 0, lastSeen: now };
      this.epochs.set(versionId, epoch);
    }
    epoch.live++;
    const id = this.nextId++;
    const cfg: BackendConfig = { namespace: spec.namespace, workload: spec.workload, ...spec.behaviour };
    const backend: Backend = {
      spec,
      id,
      versionId,
      host,
      port: undefined,
      ready: Promise.resolve(0),
      requests: 0,
      errors: 0,
    };
    backend.ready = host.create(id, cfg, epoch.startedAt).then(
      (port) => {
        backend.port = port;
        this.log(`backend up ${spec.key} pid=${host.pid} port=${port}`);
        return port;
      },
      (err: unknown) => {
        this.forget(backend);
        if (this.mode === "per-version") void host.kill();
        throw err;
      },
    );
    // A failed start must not become an unhandled rejection when nobody awaits it.
    backend.ready.catch(() => {});
    this.backends.set(spec.key, backend);
    this.byId.set(id, backend);
    return backend;
  }

  /** Drop a backend from the books (its server is closed separately, or died with its process). */
  private forget(b: Backend): void {
    if (this.backends.get(b.spec.key) === b) this.backends.delete(b.spec.key);
    if (this.byId.get(b.id) !== b) return;
    this.byId.delete(b.id);
    const epoch = this.epochs.get(b.versionId);
    if (epoch) {
      epoch.live = Math.max(0, epoch.live - 1);
      epoch.lastSeen = Date.now();
    }
  }

  private onStats(stats: Array<[number, number, number]>): void {
    for (const [id, requests, errors] of stats) {
      const b = this.byId.get(id);
      if (!b) continue;
      let s = this.served.get(b.versionId);
      if (!s) {
        s = {
          namespace: b.spec.namespace,
          workload: b.spec.workload,
          versionId: b.versionId,
          version: b.spec.behaviour.version,
          requests: 0,
          errors: 0,
        };
        this.served.set(b.versionId, s);
      }
      s.requests += requests - b.requests;
      s.errors += errors - b.errors;
      b.requests = requests;
      b.errors = errors;
    }
  }

  private close(b: Backend): Promise<void> {
    this.forget(b);
    if (this.mode === "per-version") {
      this.log(`backend stop ${b.spec.key} pid=${b.host.pid}`);
      return b.host.kill();
    }
    return b.host.close(b.id);
  }

  /** Close every backend whose key is not in `keep`. */
  async retain(keep: ReadonlySet<string>): Promise<void> {
    const doomed = [...this.backends.values()].filter((b) => !keep.has(b.spec.key));
    await Promise.all(doomed.map((b) => this.close(b)));
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    const hosts = new Set<BackendHost>(this.pool.filter((h): h is BackendHost => h !== undefined));
    for (const b of this.backends.values()) hosts.add(b.host);
    for (const b of [...this.backends.values()]) this.forget(b);
    await Promise.all([...hosts].map((h) => h.kill()));
  }

  list(): BackendSummary[] {
    return [...this.backends.values()].map((b) => ({
      key: b.spec.key,
      namespace: b.spec.namespace,
      workload: b.spec.workload,
      version: b.spec.behaviour.version,
      pid: b.host.pid,
      port: b.port,
      requests: b.requests,
      errors: b.errors,
    }));
  }

  /** Requests (and 5xx) each version's app answered, as its process counted them (~1 s behind). */
  servedByVersion(): ServedCount[] {
    return [...this.served.values()].map((s) => ({ ...s }));
  }

  /** Process ids of the backend processes (for resource accounting). */
  pids(): number[] {
    const hosts = new Set<BackendHost>(this.pool.filter((h): h is BackendHost => h !== undefined));
    for (const b of this.backends.values()) hosts.add(b.host);
    return [...hosts].filter((h) => !h.exited && h.pid !== undefined).map((h) => h.pid as number);
  }
}
