import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import { clampDelay } from "../net/timers.js";
import { reconnectDelay, retryAfterMs } from "./backoff.js";
import type { KubeClients } from "./client.js";
import { describeError } from "./client.js";
import { plainJson, type Trim } from "./trim.js";

export interface InformerSpec {
  /** a name for logs and metrics, e.g. "deployments" */
  name: string;
  apiVersion: string;
  kind: string;
  /** the watch path, e.g. "/apis/apps/v1/deployments" or "/apis/apps/v1/namespaces/x/deployments" */
  path: string;
  namespace?: string;
  /** how often to re-open the watch even if it looks healthy (default 10 min; 0 = never) */
  relistPeriodMs?: number;
  /** what the cache keeps of each object (trim.ts); applied to list items and watch events before caching */
  trim?: Trim;
}

type WatchCallback = Parameters<Watch["watch"]>[2];

/**
 * client-node's Watch with each object passed through `trim` before the informer sees it, so the
 * cache (and the handlers) only ever hold trimmed objects. ERROR and BOOKMARK events pass as they are.
 */
export class TrimmingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly trim: Trim,
  ) {
    super(config);
  }

  override watch(
    path: string,
    queryParams: Parameters<Watch["watch"]>[1],
    callback: WatchCallback,
    done: Parameters<Watch["watch"]>[3],
  ): Promise<AbortController> {
    return super.watch(path, queryParams, trimmingCallback(this.trim, callback), done);
  }
}

/** The watch callback that trims ADDED/MODIFIED/DELETED objects (exported for tests). */
export function trimmingCallback(trim: Trim, callback: WatchCallback): WatchCallback {
  return (phase: string, apiObj: unknown, watchObj?: unknown) => {
    const objectEvent = phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED";
    callback(
      phase,
      objectEvent && typeof apiObj === "object" && apiObj !== null
        ? trim(apiObj as KubernetesObject)
        : apiObj,
      watchObj,
    );
  };
}

export type Handler<T> = (obj: T, old?: T) => void;

/**
 * client-node's informer (list + watch + cache) made resilient: it relists on 410 by itself, but any
 * other error stops it, so we restart it at once with a short jittered backoff (backoff.ts: 200 ms
 * doubling to 5 s, at least a Retry-After capped at 5 s). Handlers only enqueue keys.
 */
/** At most one recovery announcement per informer in this window (each one reconciles every Canary). */
const RECOVERY_ANNOUNCE_GAP_MS = 10_000;

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer;
  private readonly handlers: Array<{ onChange: Handler<T>; onDelete: Handler<T> }> = [];
  private readonly recoveredHandlers: Array<() => void> = [];
  /** when the last recovery was announced: a watch that fails right after every list must not make a storm */
  private lastRecoveredAt = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  /** an intentional stop/start (the watchdog relist) is under way: restarts wait for it */
  private relisting = false;
  synced = false;
  private lastListOk = false;
  private lastListError: unknown;

  constructor(
    clients: KubeClients,
    private readonly spec: InformerSpec,
    private readonly log: Logger,
  ) {
    // client-node's informer swallows a failed initial list (it emits "error" and resolves start()),
    // which would leave an empty cache looking synced: remember whether the last list really worked.
    const list = async () => {
      this.lastListOk = false;
      try {
        const result = (await clients.objects.list<T>(
          spec.apiVersion,
          spec.kind,
          spec.namespace,
        )) as KubernetesListObject<T>;
        this.lastListOk = true;
        this.failures = 0;
        return trimList(result, spec);
      } catch (err) {
        this.lastListError = err;
        throw err;
      }
    };
    // makeInformer() without its Watch: ours trims objects before the ListWatch caches them.
    this.informer = new ListWatch<T>(
      spec.path,
      spec.trim ? new TrimmingWatch(clients.config, spec.trim) : new Watch(clients.config),
      list,
      false,
    );
    // Any event proves the watch works: the next failure starts its backoff from the bottom again.
    this.informer.on("add", (obj) => this.emit("change", obj));
    this.informer.on("update", (obj) => this.emit("change", obj));
    this.informer.on("delete", (obj) => this.emit("delete", obj));
    this.informer.on("error", (err: unknown) => this.restart(err));
  }

  onChange(onChange: Handler<T>, onDelete: Handler<T> = onChange): void {
    this.handlers.push({ onChange, onDelete });
  }

  /**
   * Called when the watch is back after a failure (its relist succeeded): reconciles that failed while
   * the API server was away can run again now instead of waiting out their backoff.
   */
  onRecovered(handler: () => void): void {
    this.recoveredHandlers.push(handler);
  }

  /** Why the cache is not (yet) filled: the last failed list, for a message naming the cause (403, 404). */
  get waitingFor(): string | undefined {
    if (this.synced) return undefined;
    return this.lastListError === undefined ? "the first list" : describeError(this.lastListError);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** Resolves once a list has succeeded and filled the cache; retries with backoff until then. */
  async start(): Promise<void> {
    for (let attempt = 1; !this.stopped; attempt++) {
      await this.informer.start().catch(() => undefined);
      if (this.lastListOk) break;
      const delay = this.nextDelay(attempt, this.lastListError);
      this.log.warn(
        { informer: this.spec.name, err: describeError(this.lastListError), retryInMs: delay },
        "initial list failed; retrying",
      );
      await new Promise((r) => setTimeout(r, delay));
    }
    this.synced = true;
    this.scheduleRelist();
    this.log.debug({ informer: this.spec.name, objects: this.informer.list().length }, "informer synced");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.relistTimer) clearTimeout(this.relistTimer);
    await this.informer.stop();
  }

  /**
   * Watchdog: client-node 1.4's watch has no client-side timeout, so a connection that dies silently
   * (no FIN, e.g. a dropped NAT entry) would freeze the cache until TCP keepalive gives up (minutes).
   * Re-opening the watch on a jittered period from the last resourceVersion bounds how stale the cache
   * can get (the server answers 410 if that version is gone, and the informer relists).
   */
  private scheduleRelist(): void {
    if (this.stopped || this.spec.relistPeriodMs === 0) return;
    const period = this.spec.relistPeriodMs ?? 600_000;
    const delay = clampDelay(period * (0.9 + Math.random() * 0.2));
    this.relistTimer = setTimeout(() => {
      void (async () => {
        if (this.stopped) return;
        // A pending restart re-opens the watch anyway; two concurrent starts would leak a watch.
        if (this.restartTimer === undefined) {
          // Aborting the old watch makes client-node report an AbortError; restart() ignores those.
          this.relisting = true;
          try {
            await this.informer.stop();
            await this.informer.start().catch(() => undefined);
          } finally {
            this.relisting = false;
          }
        }
        this.scheduleRelist();
      })();
    }, delay);
    this.relistTimer.unref?.();
  }

  private emit(kind: "change" | "delete", obj: T): void {
    this.failures = 0;
    for (const h of this.handlers) {
      try {
        if (kind === "change") h.onChange(obj);
        else h.onDelete(obj);
      } catch (err) {
        this.log.error({ informer: this.spec.name, err: describeError(err) }, "informer handler failed");
      }
    }
  }

  private nextDelay(failures: number, err: unknown): number {
    return clampDelay(reconnectDelay({ failures, retryAfterMs: retryAfterMs(err), random: Math.random() }));
  }

  /**
   * Recovery after the informer reported an error and stopped: scheduled the moment the error is
   * seen. Not while start() is still retrying its first list (it owns that), not for aborts (only we
   * abort, when re-opening on purpose), and one pending restart at a time: calling start() on a
   * running informer would abort its live watch.
   */
  private restart(err: unknown): void {
    if (this.stopped || !this.synced || this.restartTimer !== undefined) return;
    if (err instanceof Error && (err.name === "AbortError" || /aborted/i.test(err.message))) return;
    this.failures += 1;
    const delay = this.nextDelay(this.failures, err);
    this.log.warn(
      { informer: this.spec.name, err: describeError(err), retryInMs: delay },
      "watch failed; restarting",
    );
    this.scheduleRestart(delay);
  }

  private scheduleRestart(delay: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      // The watchdog is re-opening the watch right now: let it finish, then look again.
      if (this.relisting) {
        this.scheduleRestart(this.nextDelay(1, undefined));
        return;
      }
      this.informer.start().then(
        () => {
          if (!this.lastListOk) {
            this.restart(this.lastListError ?? new Error("list failed"));
            return;
          }
          const now = Date.now();
          if (now - this.lastRecoveredAt < RECOVERY_ANNOUNCE_GAP_MS) return;
          this.lastRecoveredAt = now;
          for (const h of this.recoveredHandlers) h();
        },
        (e: unknown) => this.restart(e),
      );
    }, delay);
    this.restartTimer.unref?.();
  }
}

/**
 * A list's items as plain JSON, trimmed like watch events. List items come without apiVersion/kind
 * (the list carries them); they get the informer's, so a cached object looks the same whichever way
 * it arrived.
 */
export function trimList<T extends KubernetesObject>(
  list: KubernetesListObject<T>,
  spec: Pick<InformerSpec, "apiVersion" | "kind" | "trim">,
): KubernetesListObject<T> {
  const items = list.items.map((item) => {
    // client-node's typed models (undefined fields, Dates) as the plain JSON a watch event carries
    const json = plainJson(item) as T;
    const typed =
      json.apiVersion && json.kind ? json : { ...json, apiVersion: spec.apiVersion, kind: spec.kind };
    return (spec.trim ? spec.trim(typed) : typed) as T;
  });
  return { ...list, items };
}
