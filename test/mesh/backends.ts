// Real backend processes, one per (namespace, workload, pod-template hash, behaviour), started on first
// use and stopped when that version has no pods left.
import { type ChildProcess, fork } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Behaviour } from "./behaviour.js";

export interface BackendSpec {
  key: string;
  namespace: string;
  workload: string;
  behaviour: Behaviour;
}

interface Backend {
  spec: BackendSpec;
  child: ChildProcess;
  port: number | undefined;
  ready: Promise<number>;
  startedAt: number;
}

export interface BackendSummary {
  key: string;
  namespace: string;
  workload: string;
  version: string;
  pid: number | undefined;
  port: number | undefined;
}

const SCRIPT = fileURLToPath(new URL("./backend-server.ts", import.meta.url));
const START_TIMEOUT_MS = 20_000;

function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve("tsx/package.json");
  return pathToFileURL(path.join(path.dirname(pkg), "dist", "loader.mjs")).href;
}

export class BackendManager {
  private readonly backends = new Map<string, Backend>();
  private readonly loader = tsxLoaderUrl();
  private stopped = false;

  constructor(private readonly log: (msg: string) => void = () => {}) {}

  /** Port of a backend that is already listening, without waiting. */
  portOf(key: string): number | undefined {
    return this.backends.get(key)?.port;
  }

  /** The backend's port, starting the process if needed. */
  ensure(spec: BackendSpec): Promise<number> {
    if (this.stopped) return Promise.reject(new Error("mesh simulator stopped"));
    const existing = this.backends.get(spec.key);
    if (existing) return existing.ready;
    return this.start(spec).ready;
  }

  private start(spec: BackendSpec): Backend {
    const child = fork(SCRIPT, [], {
      execArgv: ["--import", this.loader],
      env: {
        PATH: process.env.PATH ?? "",
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        SIM_BACKEND: JSON.stringify({
          namespace: spec.namespace,
          workload: spec.workload,
          ...spec.behaviour,
        }),
      },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "json",
    });
    const backend: Backend = {
      spec,
      child,
      port: undefined,
      ready: Promise.resolve(0),
      startedAt: Date.now(),
    };
    backend.ready = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`backend ${spec.key} did not start`)),
        START_TIMEOUT_MS,
      );
      child.on("message", (msg: unknown) => {
        if (typeof msg === "object" && msg !== null && "port" in msg && typeof msg.port === "number") {
          clearTimeout(timer);
          backend.port = msg.port;
          this.log(`backend up ${spec.key} pid=${child.pid} port=${msg.port}`);
          resolve(msg.port);
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        if (this.backends.get(spec.key) === backend) this.backends.delete(spec.key);
        reject(new Error(`backend ${spec.key} exited (code ${code}, signal ${signal})`));
      });
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    // A failed start must not become an unhandled rejection when nobody awaits it.
    backend.ready.catch(() => {});
    this.backends.set(spec.key, backend);
    return backend;
  }

  /** Stop every backend whose key is not in `keep`. */
  async retain(keep: ReadonlySet<string>): Promise<void> {
    const doomed = [...this.backends.values()].filter((b) => !keep.has(b.spec.key));
    for (const b of doomed) this.backends.delete(b.spec.key);
    await Promise.all(doomed.map((b) => this.kill(b)));
  }

  async stopAll(): Promise<void> {
    this.stopped = true;
    const all = [...this.backends.values()];
    this.backends.clear();
    await Promise.all(all.map((b) => this.kill(b)));
  }

  list(): BackendSummary[] {
    return [...this.backends.values()].map((b) => ({
      key: b.spec.key,
      namespace: b.spec.namespace,
      workload: b.spec.workload,
      version: b.spec.behaviour.version,
      pid: b.child.pid,
      port: b.port,
    }));
  }

  private kill(b: Backend): Promise<void> {
    const child = b.child;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    this.log(`backend stop ${b.spec.key} pid=${child.pid}`);
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill("SIGKILL"), 2_000);
      child.once("exit", () => {
        clearTimeout(force);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }
}
