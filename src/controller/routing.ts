// The I/O half of router/router.ts: Flagger's Reconcile + SetRoutes, GetRoutes and Finalize for every
// router alike. Objects come from the informer caches and go out with their resourceVersion
// (owned-objects.ts); a routing kind the cluster cannot list yet (no Gateway API CRDs, no RBAC) blocks
// only the Canaries that need it, with the reason.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary } from "../api/canary.js";
import { isNotFound, type KubeClients } from "../kube/client.js";
import { isControlledBy } from "../router/ownership.js";
import {
  type ObservedRoutes,
  otherRouters,
  type Router,
  type RouteSplit,
  routerFor,
} from "../router/router.js";
import type { ClusterCache } from "./cluster-cache.js";
import { BlockedError, ensureOwned } from "./owned-objects.js";

export class RoutingShell {
  constructor(
    private readonly clients: KubeClients,
    private readonly cache: ClusterCache,
    private readonly log: Logger,
  ) {}

  /** Reconcile + SetRoutes: the Canary's router objects route `split`; other routers' objects are gone. */
  async reconcile(canary: Canary, split: RouteSplit): Promise<void> {
    const router = routerFor(canary);
    const namespace = canary.metadata.namespace;
    for (const piece of router.desired(canary, split)) {
      const { apiVersion, kind, metadata } = piece.object;
      const cache = this.cache.routing(apiVersion, kind);
      if ("waiting" in cache) throw new BlockedError(`spec.provider ${router.provider}: ${cache.waiting}`);
      const existing = cache.get(metadata.name ?? "", namespace);
      await ensureOwned(this.clients, canary, piece.object as unknown as KubernetesObject, existing);
    }
    await this.removeOtherRouters(canary, router);
  }

  /** GetRoutes: the split the live route object sends, from the cache; undefined when it is not there. */
  getRoutes(canary: Canary): ObservedRoutes | { error: string } | undefined {
    const router = routerFor(canary);
    const ref = router.routeRef(canary);
    const live = this.cache
      .routingIfReady(ref.apiVersion, ref.kind)
      ?.get(ref.name, canary.metadata.namespace);
    if (live === undefined) return undefined;
    return router.getRoutes(live as unknown as { spec: object }, canary);
  }

  /** Finalize (revertOnDeletion): removes the route objects this Canary controls; true when none is left. */
  async finalize(canary: Canary): Promise<boolean> {
    const router = routerFor(canary);
    let done = true;
    for (const ref of router.finalize(canary)) {
      const cache = this.cache.routing(ref.apiVersion, ref.kind);
      if ("waiting" in cache) {
        done = false;
        continue;
      }
      await this.deleteIfOurs(canary, cache.get(ref.name, canary.metadata.namespace));
    }
    return done;
  }

  /**
   * A Canary whose spec.provider changed leaves the old router's objects behind: a VirtualService and
   * an HTTPRoute for the same host would both claim its traffic. Removed only when controlled by this
   * Canary, and only from caches that are filled (an HTTPRoute cache that never started has none).
   */
  private async removeOtherRouters(canary: Canary, router: Router): Promise<void> {
    for (const other of otherRouters(router)) {
      for (const ref of other.generated(canary)) {
        const live = this.cache
          .routingIfReady(ref.apiVersion, ref.kind)
          ?.get(ref.name, canary.metadata.namespace);
        if (await this.deleteIfOurs(canary, live))
          this.log.info(
            { canary: canary.metadata.name, kind: ref.kind, name: ref.name, provider: router.provider },
            "removed the routing object of the previous provider",
          );
      }
    }
  }

  private async deleteIfOurs(canary: Canary, live: KubernetesObject | undefined): Promise<boolean> {
    if (live === undefined || !isControlledBy(live, canary)) return false;
    try {
      await this.clients.objects.delete(live);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
