// An in-memory stand-in for the controller's informer caches (ClusterCache), for the benches that run
// the real reconciler or event wiring without a cluster (bench/reconcile.ts, bench/reconcile-cpu.ts).
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import type { ClusterCache } from "../src/controller/cluster-cache.js";

type Handler = (obj: KubernetesObject) => void;

/** An informer cache shaped like client-node's ObjectCache: per-namespace maps, list() copies. */
export class MemoryInformer<T extends KubernetesObject = KubernetesObject> {
  private readonly objects = new Map<string, Map<string, T>>();
  private readonly handlers: Array<{ change: Handler; remove: Handler }> = [];
  onRecovered(_h: () => void): void {}
  onChange(change: (obj: T) => void, remove: (obj: T) => void = change): void {
    this.handlers.push({ change: change as Handler, remove: remove as Handler });
  }
  get(name: string, namespace?: string): T | undefined {
    return this.objects.get(namespace ?? "")?.get(name);
  }
  list(namespace?: string): T[] {
    if (!namespace) return [...this.objects.values()].flatMap((m) => [...m.values()]);
    return Array.from(this.objects.get(namespace)?.values() ?? []);
  }
  /** store without events (the initial list) */
  put(obj: T): void {
    const ns = obj.metadata?.namespace ?? "";
    let m = this.objects.get(ns);
    if (m === undefined) {
      m = new Map();
      this.objects.set(ns, m);
    }
    m.set(obj.metadata?.name ?? "", obj);
  }
  /** a watch event */
  emit(obj: T): void {
    this.put(obj);
    for (const h of this.handlers) h.change(obj);
  }
}

export function memoryCache() {
  const informers = {
    canaries: new MemoryInformer(),
    deployments: new MemoryInformer<V1Deployment>(),
    configMaps: new MemoryInformer(),
    services: new MemoryInformer(),
    virtualServices: new MemoryInformer(),
    destinationRules: new MemoryInformer(),
    httpRoutes: new MemoryInformer(),
    metricTemplates: new MemoryInformer(),
    alertProviders: new MemoryInformer(),
    autoscalers: new MemoryInformer(),
  };
  const cache = { ...informers, all: () => Object.values(informers), synced: () => true };
  return { informers, cache: cache as unknown as ClusterCache };
}
