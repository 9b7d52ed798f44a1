// Informers for kinds a cluster may not have: Gateway API HTTPRoutes. Each API version's informer is
// started on first use and in the background, so a cluster without the Gateway API CRDs (or an RBAC
// role without httproutes) never keeps the controller from starting or being ready; only the Canaries
// that ask for an HTTPRoute wait, with the list error as the reason.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { describeError } from "../kube/client.js";
import type { Handler, ResilientInformer } from "../kube/informer.js";

export class LazyInformers {
  private readonly informers = new Map<string, ResilientInformer<KubernetesObject>>();
  private readonly handlers: Array<{
    onChange: Handler<KubernetesObject>;
    onDelete: Handler<KubernetesObject>;
  }> = [];
  private readonly recovered: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly kind: string,
    private readonly make: (apiVersion: string) => ResilientInformer<KubernetesObject>,
    private readonly log: Logger,
  ) {}

  /** The informer of `apiVersion`, started now if it was not (it may still be filling: check `synced`). */
  informer(apiVersion: string): ResilientInformer<KubernetesObject> {
    const known = this.informers.get(apiVersion);
    if (known !== undefined) return known;
    const informer = this.make(apiVersion);
    for (const h of this.handlers) informer.onChange(h.onChange, h.onDelete);
    for (const h of this.recovered) informer.onRecovered(h);
    this.informers.set(apiVersion, informer);
    if (!this.stopped) {
      this.log.info({ kind: this.kind, apiVersion }, "starting informer on first use");
      // Once filled, the Canaries that were told to wait for it may go on: as after a recovered watch.
      void informer.start().then(
        () => {
          if (!this.stopped) for (const h of this.recovered) h();
        },
        (err: unknown) =>
          this.log.error(
            { kind: this.kind, apiVersion, err: describeError(err) },
            "informer failed to start",
          ),
      );
    }
    return informer;
  }

  /** The informer of `apiVersion` if it was started, without starting it. */
  started(apiVersion: string): ResilientInformer<KubernetesObject> | undefined {
    return this.informers.get(apiVersion);
  }

  all(): ResilientInformer<KubernetesObject>[] {
    return [...this.informers.values()];
  }

  /** Handlers for every informer, present and future. */
  onChange(onChange: Handler<KubernetesObject>, onDelete: Handler<KubernetesObject> = onChange): void {
    this.handlers.push({ onChange, onDelete });
    for (const i of this.informers.values()) i.onChange(onChange, onDelete);
  }

  onRecovered(handler: () => void): void {
    this.recovered.push(handler);
    for (const i of this.informers.values()) i.onRecovered(handler);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
