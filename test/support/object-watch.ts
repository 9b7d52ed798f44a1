// A recording API watch for e2e assertions: every ADDED / MODIFIED / DELETED event of one collection,
// with the time it arrived. It survives API server restarts: a closed watch resumes from the last
// resourceVersion, and a 410 (or a watch that cannot resume) relists and records the difference as
// synthetic events (`relisted: true`), so the timeline has no silent holes.
import { KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";
import { sleep } from "../env/processes.js";
import { getKubeJson } from "./kube-http.js";

export interface RecordedEvent<T extends KubernetesObject = KubernetesObject> {
  /** Date.now() when the event arrived */
  t: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: T;
  /** synthesised from a relist rather than received from the watch */
  relisted: boolean;
}

export interface ObjectWatchOptions {
  kubeconfig: string;
  /** collection path, e.g. `/apis/apps/v1/namespaces/NS/deployments` */
  path: string;
  /** called for each event as it is recorded (e.g. to SIGKILL a process the moment a phase appears) */
  onEvent?: (e: RecordedEvent) => void;
}

type Listener = (e: RecordedEvent) => void;

export class ObjectWatch<T extends KubernetesObject = KubernetesObject> {
  readonly events: Array<RecordedEvent<T>> = [];
  /** times the watch had to relist (API server restarts, 410s) */
  relists = 0;
  private readonly kc = new KubeConfig();
  private readonly known = new Map<string, T>();
  private resourceVersion = "";
  private stopped = false;
  private controller: AbortController | undefined;
  private readonly listeners = new Set<Listener>();
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: ObjectWatchOptions) {
    this.kc.loadFromFile(opts.kubeconfig);
    if (opts.onEvent) this.listeners.add(opts.onEvent);
  }

  /**
   * Resolves after the first list: from then on nothing is missed. Retries it for a while: a fresh CRD's
   * storage answers 429 for a moment, and the API server may be restarting.
   */
  async start(timeoutMs = 30_000): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.relist();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
    this.loop = this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller?.abort();
    await this.loop;
  }

  /** Calls `listener` for every future event; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(name: string): T | undefined {
    return this.known.get(name);
  }

  /** Resolves with the first recorded event (past or future) that satisfies `predicate`. */
  async waitFor(
    what: string,
    predicate: (e: RecordedEvent<T>) => boolean,
    timeoutMs: number,
  ): Promise<RecordedEvent<T>> {
    const past = this.events.find(predicate);
    if (past) return past;
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`${what}: not seen within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.subscribe((e) => {
        if (!predicate(e as RecordedEvent<T>)) return;
        clearTimeout(timer);
        off();
        resolve(e as RecordedEvent<T>);
      });
    });
  }

  private record(type: RecordedEvent["type"], object: T, relisted: boolean): void {
    const e: RecordedEvent<T> = { t: Date.now(), type, object, relisted };
    this.events.push(e);
    for (const l of [...this.listeners]) {
      try {
        l(e as unknown as RecordedEvent);
      } catch {
        // a listener's failure is its own business
      }
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const outcome = await this.watchOnce();
      if (this.stopped) return;
      if (outcome === "gone" || failures >= 3) {
        try {
          await this.relist();
          failures = 0;
        } catch {
          failures++;
          await sleep(250);
        }
        continue;
      }
      failures = outcome === "error" ? failures + 1 : 0;
      if (outcome === "error") await sleep(250);
    }
  }

  /** One watch connection from the last resourceVersion, until it ends. */
  private watchOnce(): Promise<"closed" | "gone" | "error"> {
    return new Promise((resolve) => {
      let gone = false;
      const watch = new Watch(this.kc);
      watch
        .watch(
          this.opts.path,
          { resourceVersion: this.resourceVersion, allowWatchBookmarks: true },
          (type: string, obj: T & { code?: number }) => {
            if (type === "ERROR") {
              if (obj.code === 410) gone = true;
              return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (type === "BOOKMARK") return;
            const name = obj.metadata?.name ?? "";
            if (type === "DELETED") this.known.delete(name);
            else this.known.set(name, obj);
            if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") this.record(type, obj, false);
          },
          (err: unknown) => {
            const code = (err as { statusCode?: number; code?: number } | null)?.statusCode;
            resolve(gone || code === 410 ? "gone" : err ? "error" : "closed");
          },
        )
        .then((controller: AbortController) => {
          this.controller = controller;
          if (this.stopped) controller.abort();
        })
        .catch(() => resolve("error"));
    });
  }

  private async relist(): Promise<void> {
    const list = (await getKubeJson(this.kc, this.opts.path)) as {
      metadata?: { resourceVersion?: string };
      items?: T[];
    };
    const first = this.events.length === 0 && this.relists === 0 && this.resourceVersion === "";
    if (!first) this.relists++;
    const seen = new Set<string>();
    for (const item of list.items ?? []) {
      const name = item.metadata?.name ?? "";
      seen.add(name);
      const before = this.known.get(name);
      this.known.set(name, item);
      if (before === undefined) this.record("ADDED", item, !first);
      else if (before.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.record("MODIFIED", item, true);
    }
    for (const [name, obj] of [...this.known]) {
      if (seen.has(name)) continue;
      this.known.delete(name);
      this.record("DELETED", obj, true);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? "";
  }
}

/** Starts a recording watch of one collection. */
export async function watchObjects<T extends KubernetesObject>(
  opts: ObjectWatchOptions,
): Promise<ObjectWatch<T>> {
  return await new ObjectWatch<T>(opts).start();
}
