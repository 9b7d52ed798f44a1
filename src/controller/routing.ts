// The I/O half of router/router.ts: Flagger's Reconcile + SetRoutes, GetRoutes and Finalize for every
// router alike. Generated objects come from the informer caches and go out with their resourceVersion
// (owned-objects.ts); a route adopted from its user gets only its weights patched (adopted-routes.ts);
// a routing kind the cluster cannot list yet (no Gateway API CRDs, no RBAC) blocks only the Canaries
// that need it, with the reason.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary } from "../api/canary.js";
import { isNotFound, type KubeClients } from "../kube/client.js";
import { adoptedTarget } from "../router/adopted-router.js";
import { isControlledBy } from "../router/ownership.js";
import {
  type DesiredRoutingObject,
  type ObservedRoutes,
  otherRouters,
  type Router,
  type RouteSplit,
  type RoutingRef,
  routerFor,
} from "../router/router.js";
import { AdoptedRoutes } from "./adopted-routes.js";
import type { ClusterCache } from "./cluster-cache.js";
import { BlockedError, ensureOwned } from "./owned-objects.js";

const sameRef = (a: Pick<RoutingRef, "kind" | "name">, b: Pick<RoutingRef, "kind" | "name">) =>
  a.kind === b.kind && a.name === b.name;

export class RoutingShell {
  private readonly adopted: AdoptedRoutes;

  constructor(
    private readonly clients: KubeClients,
    private readonly cache: ClusterCache,
    private readonly log: Logger,
  ) {
    this.adopted = new AdoptedRoutes(clients, cache, log);
  }

  /**
   * Reconcile + SetRoutes: the Canary's router objects route `split`; what it generated before and
   * wants no more (other routers' objects, its own route once it adopts the user's) is gone.
   */
  async reconcile(canary: Canary, split: RouteSplit): Promise<void> {
    const router = routerFor(canary);
    const desired = router.desired(canary, split);
    for (const piece of desired) await this.write(canary, router, piece);
    await this.removeUnwanted(canary, router, desired);
  }

  /** GetRoutes: the split the live route object sends; undefined when it is not there. */
  async getRoutes(canary: Canary): Promise<ObservedRoutes | { error: string } | undefined> {
    const router = routerFor(canary);
    const ref = router.routeRef(canary);
    const target = adoptedTarget(canary);
    const live =
      target === undefined
        ? this.cache.routingIfReady(ref.apiVersion, ref.kind)?.get(ref.name, canary.metadata.namespace)
        : await this.adopted.read(canary, target.ref);
    if (live === undefined) return undefined;
    return router.getRoutes(live as unknown as { spec: object }, canary);
  }

  /**
   * The Canary is being deleted: an adopted route goes back to primary 100 / canary 0. Returns what
   * could not be given back (told in the Terminated Event), never blocks the deletion on it.
   */
  async giveBack(canary: Canary): Promise<string[]> {
    const skipped: string[] = [];
    for (const piece of routerFor(canary).giveBack(canary)) {
      if (piece.write !== "patch-weights") continue;
      skipped.push(...(await this.adopted.giveBack(canary, piece)));
    }
    return skipped;
  }

  /** Canary `namespace/name` is gone: nothing read for it is kept. */
  forget(canaryKey: string): void {
    this.adopted.forget(canaryKey);
  }

  private async write(canary: Canary, router: Router, piece: DesiredRoutingObject): Promise<void> {
    if (piece.write === "patch-weights") {
      await this.adopted.write(canary, piece, piece.weights);
      return;
    }
    const { apiVersion, kind, metadata } = piece.object;
    const cache = this.cache.routing(apiVersion, kind);
    if ("waiting" in cache) throw new BlockedError(`spec.provider ${router.provider}: ${cache.waiting}`);
    const existing = cache.get(metadata.name ?? "", canary.metadata.namespace);
    await ensureOwned(this.clients, canary, piece.object as unknown as KubernetesObject, existing);
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
   * an HTTPRoute for the same host would both claim its traffic. So does a Canary that adopts the
   * user's route (spec.service.routeRef) with the route it generated before. Removed only when
   * controlled by this Canary (never the adopted object, whoever controls it), and only from caches
   * that are filled (an HTTPRoute cache that never started has none).
   */
  private async removeUnwanted(
    canary: Canary,
    router: Router,
    desired: readonly DesiredRoutingObject[],
  ): Promise<void> {
    const kept = desired.flatMap((p) =>
      p.write === "owned" ? [{ kind: p.object.kind, name: p.object.metadata.name ?? "" }] : [p.ref],
    );
    const others = otherRouters(router).flatMap((other) => other.generated(canary));
    for (const ref of [...router.generated(canary), ...others]) {
      if (kept.some((k) => sameRef(k, ref))) continue;
      const live = this.cache
        .routingIfReady(ref.apiVersion, ref.kind)
        ?.get(ref.name, canary.metadata.namespace);
      if (await this.deleteIfOurs(canary, live))
        this.log.info(
          { canary: canary.metadata.name, kind: ref.kind, name: ref.name, provider: router.provider },
          "removed a routing object the Canary no longer uses",
        );
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
