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
  synced = false;

  constructor(
    clients: KubeClients,
    private readonly spec: InformerSpec,
    private readonly log: Logger,
  ) {
    const list = () =>
      clients.objects.list<T>(spec.apiVersion, spec.kind, spec.namespace) as Promise<KubernetesListObject<T>>;
    this.informer = makeInformer<T>(clients.config, spec.path, list);
    this.informer.on("add", (obj) => this.emit("change", obj));
    this.informer.on("update", (obj) => this.emit("change", obj));
    this.informer.on("delete", (obj) => this.emit("delete", obj));
    this.informer.on("error", (err: unknown) => this.restart(err));
    this.informer.on("connect", () => {
      this.failures = 0;
    });
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

  async start(): Promise<void> {
    await this.informer.start();
    this.synced = true;
    this.log.debug({ informer: this.spec.name, objects: this.informer.list().length }, "informer synced");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private emit(kind: "change" | "delete", obj: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === "change") h.onChange(obj);
        else h.onDelete(obj);
      } catch (err) {
        this.log.error({ informer: this.spec.name, err: describeError(err) }, "informer handler failed");
      }
    }
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    this.failures += 1;
    const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
    this.log.warn(
      { informer: this.spec.name, err: describeError(err), retryInMs: delay },
      "watch failed; restarting",
    );
    this.restartTimer = setTimeout(() => {
      if (this.stopped) return;
      this.informer.start().then(
        () => {
          this.synced = true;
        },
        (e: unknown) => this.restart(e),
      );
    }, delay);
    this.restartTimer.unref?.();
  }
}
