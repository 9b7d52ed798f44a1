// The I/O of routes adopted from their user (spec.service.routeRef): reading the whole object, and the
// one write Serin makes to it, the fenced JSON patch of the weights (router/adopted-route-patch.ts).
//
// Reading: the informer caches keep only the metadata of route objects no Canary controls (kube/trim.ts:
// most VirtualServices in a mesh are nobody's business here), so the spec of an adopted one is read with a
// GET and kept here, per object, until its generation changes (the cache's metadata says when: status
// writes by istiod and label edits do not change the generation, so they cost nothing). After Serin's own
// write the copy is the PATCH's answer, valid both before and after the watch event of that write arrives.
// An object read this way is shared by every Canary adopting routes of it, and dropped with the last one.
import { PatchStrategy } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary } from "../api/canary.js";
import { describeError, isNotFound, type KubeClients, statusCode } from "../kube/client.js";
import { type AdoptedTarget, locateRoutes } from "../router/adopted-route-locate.js";
import { weightPatch } from "../router/adopted-route-patch.js";
import type { RouteWeights, RoutingObject, RoutingRef } from "../router/router.js";
import type { ClusterCache } from "./cluster-cache.js";
import { BlockedError, FIELD_MANAGER } from "./owned-objects.js";

/** The object's spec, as read at `generation`; `from`: the generation Serin's own write replaced. */
interface Copy {
  uid: string | undefined;
  generation: number | undefined;
  from?: number | undefined;
  object: RoutingObject;
  /** the Canaries (namespace/name) that read it */
  users: Set<string>;
}

const PLURALS: Readonly<Record<string, string>> = {
  VirtualService: "virtualservices",
  HTTPRoute: "httproutes",
};

/** A JSON-patch test failed but the route is fine now: it changed under the write; read and write again. */
class RouteMovedError extends Error {
  override name = "RouteMovedError";
  /** the controller treats it like any stale read (409): a prompt retry with per-key backoff */
  readonly code = 409;
}

export class AdoptedRoutes {
  private readonly copies = new Map<string, Copy>();

  constructor(
    private readonly clients: KubeClients,
    private readonly cache: ClusterCache,
    private readonly log: Logger,
  ) {}

  /** The adopted object as the API server has it (through the copy when still current), or undefined. */
  async read(canary: Canary, ref: RoutingRef): Promise<RoutingObject | undefined> {
    const namespace = canary.metadata.namespace ?? "default";
    const informer = this.cache.routing(ref.apiVersion, ref.kind);
    if ("waiting" in informer) throw new BlockedError(`spec.service.routeRef: ${informer.waiting}`);
    const key = `${ref.kind}/${namespace}/${ref.name}`;
    const cached = informer.get(ref.name, namespace);
    if (cached === undefined) {
      this.copies.delete(key);
      return undefined;
    }
    const uid = cached.metadata?.uid;
    const generation = cached.metadata?.generation;
    let copy = this.copies.get(key);
    const current =
      copy !== undefined &&
      copy.uid === uid &&
      (copy.generation === generation || (copy.from !== undefined && copy.from === generation));
    if (!current) {
      const fresh = await this.get(ref, namespace);
      if (fresh === undefined) return undefined;
      copy = this.remember(key, fresh, copy?.users);
    }
    copy?.users.add(`${namespace}/${canary.metadata.name ?? ""}`);
    return copy?.object;
  }

  /** Gives the named routes `weights`. Throws BlockedError naming every conflict (Ready=False). */
  async write(canary: Canary, target: AdoptedTarget, weights: RouteWeights): Promise<void> {
    const conflicts = await this.patch(canary, target, weights);
    if (conflicts.length > 0) throw new BlockedError(conflicts.join("; "));
  }

  /**
   * The Canary is being deleted: every named route that can be found goes back to primary 100 / canary 0.
   * Returns what could not be given back (a route renamed or reshaped by someone else): a deletion is not
   * held up forever by a route that is no longer Serin's to weigh.
   */
  async giveBack(canary: Canary, target: AdoptedTarget): Promise<string[]> {
    const back = { primaryWeight: 100, canaryWeight: 0 };
    const skipped: string[] = [];
    for (const route of target.routes) {
      const conflicts = await this.patch(canary, { ref: target.ref, routes: [route] }, back);
      // A missing object has nothing to give back; a missing or reshaped route is told.
      if (conflicts.length > 0 && (await this.read(canary, target.ref)) !== undefined)
        skipped.push(...conflicts);
    }
    return skipped;
  }

  /** Canary `namespace/name` is gone: copies only it read are dropped. */
  forget(canaryKey: string): void {
    for (const [key, copy] of this.copies) {
      copy.users.delete(canaryKey);
      if (copy.users.size === 0) this.copies.delete(key);
    }
  }

  /** Writes the weights; returns the conflicts that keep it from doing so ([] when written or unchanged). */
  private async patch(canary: Canary, target: AdoptedTarget, weights: RouteWeights): Promise<string[]> {
    const live = await this.read(canary, target.ref);
    const located = locateRoutes(live, target, canary);
    if (!located.ok) return located.conflicts;
    const ops = weightPatch(located.routes, weights);
    if (ops === undefined || live === undefined) return [];
    const namespace = canary.metadata.namespace ?? "default";
    const key = `${target.ref.kind}/${namespace}/${target.ref.name}`;
    const before = this.copies.get(key);
    try {
      const patched = await this.clients.rest.send<RoutingObject>(
        "PATCH",
        this.resource(target.ref, namespace),
        {
          body: ops,
          contentType: PatchStrategy.JsonPatch,
          query: { fieldManager: FIELD_MANAGER },
        },
      );
      const copy = this.remember(key, patched, before?.users);
      copy.from = live.metadata.generation;
      this.log.info(
        {
          canary: canary.metadata.name,
          kind: target.ref.kind,
          name: target.ref.name,
          routes: target.routes,
          ...weights,
        },
        "set the weights of the adopted routes",
      );
      return [];
    } catch (err) {
      this.copies.delete(key);
      if (statusCode(err) !== 422) throw err;
      // A failed test: whoever changed the route since the read decides what comes next.
      const again = locateRoutes(await this.read(canary, target.ref), target, canary);
      if (!again.ok) return again.conflicts;
      if (/\btest/i.test(describeError(err)))
        throw new RouteMovedError(`${target.ref.kind} ${target.ref.name} changed during the write`);
      throw err;
    }
  }

  private async get(ref: RoutingRef, namespace: string): Promise<RoutingObject | undefined> {
    try {
      return await this.clients.rest.send<RoutingObject>("GET", this.resource(ref, namespace));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private resource(ref: RoutingRef, namespace: string) {
    return { apiVersion: ref.apiVersion, plural: PLURALS[ref.kind] ?? "", namespace, name: ref.name };
  }

  /** Keeps what the routes need of an answer (no managedFields: they are most of a route's size). */
  private remember(key: string, obj: RoutingObject, users: Set<string> | undefined): Copy {
    const meta = obj.metadata ?? {};
    const copy: Copy = {
      uid: meta.uid,
      generation: meta.generation,
      object: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        metadata: {
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          generation: meta.generation,
          resourceVersion: meta.resourceVersion,
          ...(meta.ownerReferences ? { ownerReferences: meta.ownerReferences } : {}),
        },
        spec: obj.spec,
      },
      users: users ?? new Set(),
    };
    this.copies.set(key, copy);
    return copy;
  }
}
