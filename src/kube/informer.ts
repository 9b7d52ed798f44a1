import { type KubernetesListObject, type KubernetesObject, makeInformer } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { KubeClients } from "./client.js";
import { describeError } from "./client.js";

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
}

export type Handler<T> = (obj: T, old?: T) => void;

/**
 * client-node's informer (list + watch + cache) made resilient: it relists on 410 by itself, but any
 * other error stops it, so we restart it with capped exponential backoff. Handlers only enqueue keys.
 */
export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer;
  private readonly handlers: Array<{ onChange: Handler<T>; onDelete: Handler<T> }> = [];
  private stopped = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private relistTimer: NodeJS.Timeout | undefined;
  private relisting = false;
  synced = false;
  private lastListOk = false;
  private lastListError = "";

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
        return result;
      } catch (err) {
        this.lastListError = describeError(err);
        throw err;
      }
    };
    this.informer = makeInformer<T>(clients.config, spec.path, list);
    // Any event proves the watch works: the next failure starts its backoff from the bottom again.
    this.informer.on("add", (obj) => this.emit("change", obj));
    this.informer.on("update", (obj) => this.emit("change", obj));
    this.informer.on("delete", (obj) => this.emit("delete", obj));
    this.informer.on("error", (err: unknown) => this.restart(err));
  }

  onChange(onChange: Handler<T>, onDelete: Handler<T> = onChange): void {
    this.handlers.push({ onChange, onDelete });
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** Resolves once a list has succeeded and filled the cache; retries with backoff until then. */
  async start(): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      await this.informer.start().catch(() => undefined);
      if (this.lastListOk) break;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
      this.log.warn(
        { informer: this.spec.name, err: this.lastListError, retryInMs: delay },
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
    const delay = period * (0.9 + Math.random() * 0.2);
    this.relistTimer = setTimeout(() => {
      void (async () => {
        if (this.stopped) return;
        // Aborting the old watch makes client-node report an error; it is ours, not a failure.
        this.relisting = true;
        try {
          await this.informer.stop();
          await this.informer.start().catch(() => undefined);
        } finally {
          setTimeout(() => {
            this.relisting = false;
          }, 1_000).unref?.();
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

  /**
   * Recovery after the informer reported an error and stopped. Not while start() is still retrying
   * its first list (it owns that), not for aborts (only we abort, when re-opening on purpose), and
   * one pending restart at a time: calling start() on a running informer would abort its live watch.
   */
  private restart(err: unknown): void {
    if (this.stopped || this.relisting || !this.synced || this.restartTimer !== undefined) return;
    if (err instanceof Error && (err.name === "AbortError" || /aborted/i.test(err.message))) return;
    this.failures += 1;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    this.log.warn(
      { informer: this.spec.name, err: describeError(err), retryInMs: delay },
      "watch failed; restarting",
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      this.informer.start().then(
        () => {
          if (!this.lastListOk) this.restart(new Error("list failed"));
        },
        (e: unknown) => this.restart(e),
      );
    }, delay);
    this.restartTimer.unref?.();
  }
}
