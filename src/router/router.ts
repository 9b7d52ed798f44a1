// The routers behind one small interface, in the spirit of Flagger's pkg/router Interface
// (Reconcile / SetRoutes / GetRoutes / Finalize), chosen per Canary by spec.provider.
//
// Flagger's routers talk to the API server themselves. Serin's stay pure: a router says which objects
// must exist for a split (Reconcile and SetRoutes in one answer, so one write moves the weights), how
// to read the split back from a live object (GetRoutes), and which objects to remove to give the
// routing back (Finalize). The controller's shell (controller/routing.ts) does the I/O for all of
// them alike: create or update with the cached resourceVersion, refuse objects someone else owns.
//
// A route the user owns (spec.service.routeRef, GitOps mode) is not an object Serin writes whole: the
// adopting router answers `write: "patch-weights"` pieces, and the shell changes only the weights of the
// named routes (a fenced JSON patch: Istio's http[] and the Gateway API's rules[] are atomic lists, so
// server-side apply could not own just the weights; adopted-router.ts, controller/adopted-routes.ts).
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { isGatewayApi, type RoutingProvider, routingProvider } from "../api/providers.js";
import { adoptedRouter } from "./adopted-router.js";
import { gatewayApiRouter } from "./gateway-api-router.js";
import { istioRouter } from "./istio-router.js";
import type { SessionCookies } from "./istio-session-affinity.js";

/** A routing object as written and as read from a cache (fields beyond these are kept verbatim). */
export interface RoutingObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta;
  spec: object;
}

/** The split a router is asked to route (the decision core's DesiredRouting plus the cookies of status). */
export interface RouteSplit {
  primaryWeight: number;
  canaryWeight: number;
  /** Mirror the traffic to the canary (analysis.mirror); analysis.mirrorWeight sets the share. */
  mirror?: boolean;
  /** Session-affinity cookies; defaults to those in canary.status (see nextSessionCookies). */
  cookies?: SessionCookies;
}

/** What getRoutes reads back from a live route object. */
export interface ObservedRoutes {
  primaryWeight: number;
  canaryWeight: number;
  mirrored: boolean;
}

/** One object of a router, by API version, kind and name (in the Canary's namespace). */
export interface RoutingRef {
  apiVersion: string;
  kind: string;
  name: string;
}

/** The weights of one adopted route's two destinations. */
export interface RouteWeights {
  primaryWeight: number;
  canaryWeight: number;
}

/**
 * How an object is written. "owned": generated and controlled by the Canary, replaced as a whole.
 * "patch-weights": a route object the user owns; only the weights of the destinations `<svc>-primary`
 * and `<svc>-canary` of the named routes change, nothing else of it, and it is never created or deleted.
 */
export type DesiredRoutingObject =
  | { write: "owned"; object: RoutingObject }
  | { write: "patch-weights"; ref: RoutingRef; routes: readonly string[]; weights: RouteWeights };

export interface Router {
  readonly provider: RoutingProvider;
  /** Reconcile + SetRoutes: every object that must exist for `split`, in the order to write them. */
  desired(canary: Canary, split: RouteSplit): DesiredRoutingObject[];
  /** The live object getRoutes reads. */
  routeRef(canary: Canary): RoutingRef;
  /** GetRoutes: the split `live` (the object of routeRef) sends. */
  getRoutes(live: Pick<RoutingObject, "spec">, canary: Canary): ObservedRoutes | { error: string };
  /** Finalize (revertOnDeletion): the objects to delete so the apex Service routes plainly again. */
  finalize(canary: Canary): RoutingRef[];
  /** What to write when the Canary is deleted, with or without revertOnDeletion: an adopted route at 100/0. */
  giveBack(canary: Canary): DesiredRoutingObject[];
  /** Every object this router may have generated for the Canary (removed when spec.provider changes). */
  generated(canary: Canary): RoutingRef[];
}

/**
 * Flagger's router factory: the router of spec.provider (istio unless it names the Gateway API); with
 * spec.service.routeRef the same provider adopting the user's route instead of generating one.
 */
export function routerFor(canary: Pick<Canary, "spec">): Router {
  const provider = routingProvider(canary.spec);
  const router = isGatewayApi(provider) ? gatewayApiRouter(provider) : istioRouter;
  return canary.spec.service.routeRef === undefined ? router : adoptedRouter(router);
}

/** The routers a Canary is not using: what they generated for it must go. */
export function otherRouters(router: Router): Router[] {
  const all: Router[] = [istioRouter, gatewayApiRouter("gatewayapi:v1")];
  // Both gatewayapi versions are the same stored HTTPRoute: switching between them is not a change of router.
  return all.filter((r) => isGatewayApi(r.provider) !== isGatewayApi(router.provider));
}
