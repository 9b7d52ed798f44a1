// Finding the named routes of an adopted route object (spec.service.routeRef) and their two destinations,
// or saying exactly what is in the way. Pure. The object is the user's and may have any shape, so it is
// read defensively as JSON, never trusted to match Serin's types.
//
// A named route is adoptable when it sends to exactly two destinations, `<svc>-primary` and `<svc>-canary`
// (Istio: destination.host, short or qualified with the namespace; Gateway API: a Service backendRef in the
// Canary's namespace): the user writes both, Serin only moves their weights. Every conflict names the
// Canary field it concerns, so Ready=False tells the user where to look.
import type { Canary } from "../api/canary.js";
import { controllerOf, isControlledBy } from "./ownership.js";
import type { RoutingObject, RoutingRef } from "./router.js";
import { serviceNames } from "./services.js";

const FIELD = "spec.service.routeRef";

/** One destination of a located route: where it is named and where its weight lives (JSON pointers). */
export interface LocatedDestination {
  /** JSON pointer of the value naming it (destination/host or backendRef name) */
  idPath: string;
  /** that value as found (fenced by a JSON-patch test, so a moved destination is never weighed) */
  id: string;
  weightPath: string;
  /** the weight as it counts for the router (Istio: absent is 0; Gateway API: absent is 1) */
  weight: number;
}

export interface LocatedRoute {
  name: string;
  /** JSON pointer of the route's name, e.g. /spec/http/1/name */
  namePath: string;
  primary: LocatedDestination;
  canary: LocatedDestination;
  /** the route mirrors a copy of its traffic to the canary */
  mirrored: boolean;
}

export type Located = { ok: true; routes: LocatedRoute[] } | { ok: false; conflicts: string[] };

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The shape of each kind: where the routes are and how a destination is named and weighed. */
interface KindShape {
  /** spec field holding the routes, as written in messages and pointers */
  routesField: "http" | "rules";
  /** a route's destinations field */
  destinationsField: "route" | "backendRefs";
  /** the value naming a destination (Istio: destination.host; Gateway API: the backendRef's name) */
  idOf(dest: Json): string | undefined;
  /** the destination's name as a Service, or undefined when it is not a Service in the namespace */
  serviceOf(dest: Json, namespace: string): string | undefined;
  /** where idOf's value is, relative to the destination (a JSON pointer's tail) */
  idPath: string;
  defaultWeight: number;
  /** the route's mirror target, shaped like a destination; undefined when it mirrors nothing */
  mirrorOf(route: Json): Json | undefined;
}

/**
 * The Service an Istio host names in `namespace`: a short name (resolved in the route's namespace, the
 * Canary's), or qualified as name.namespace[.svc[.<cluster domain>]]; undefined for any other host.
 */
function istioService(host: string, namespace: string): string | undefined {
  const [name, ns, svc] = host.split(".");
  if (ns === undefined) return name;
  if (ns !== namespace) return undefined;
  return svc === undefined || svc === "svc" ? name : undefined;
}

const ISTIO: KindShape = {
  routesField: "http",
  destinationsField: "route",
  idOf: (dest) => str(isRecord(dest.destination) ? dest.destination.host : undefined),
  serviceOf: (dest, namespace) => {
    const host = ISTIO.idOf(dest);
    return host === undefined ? undefined : istioService(host, namespace);
  },
  idPath: "destination/host",
  defaultWeight: 0,
  mirrorOf: (route) => (isRecord(route.mirror) ? { destination: route.mirror } : undefined),
};

const GATEWAY_API: KindShape = {
  routesField: "rules",
  destinationsField: "backendRefs",
  idOf: (dest) => str(dest.name),
  serviceOf: (dest, namespace) => {
    const group = str(dest.group) ?? "";
    const kind = str(dest.kind) ?? "Service";
    const ns = str(dest.namespace) ?? namespace;
    return group === "" && kind === "Service" && ns === namespace ? str(dest.name) : undefined;
  },
  idPath: "name",
  defaultWeight: 1,
  mirrorOf: (route) => {
    const mirror = list(route.filters).find((f) => isRecord(f) && f.type === "RequestMirror");
    const ref =
      isRecord(mirror) && isRecord(mirror.requestMirror) ? mirror.requestMirror.backendRef : undefined;
    return isRecord(ref) ? ref : undefined;
  },
};

const shapeOf = (kind: string): KindShape => (kind === "HTTPRoute" ? GATEWAY_API : ISTIO);

/** What an adopting Canary reads of the user's object: which routes, and in which object. */
export interface AdoptedTarget {
  ref: RoutingRef;
  routes: readonly string[];
}

/**
 * The named routes of `live` (the object of `target.ref`, undefined when it does not exist) with their
 * destinations, or every conflict that keeps Serin from weighing them.
 */
export function locateRoutes(
  live: Pick<RoutingObject, "metadata" | "spec"> | undefined,
  target: AdoptedTarget,
  canary: Pick<Canary, "metadata" | "spec">,
): Located {
  const { kind, name } = target.ref;
  const namespace = canary.metadata.namespace ?? "default";
  if (live === undefined)
    return {
      ok: false,
      conflicts: [
        `${FIELD}.name: ${kind} ${name} does not exist in namespace ${namespace}: create it (Serin never creates or deletes an adopted route), or correct the name`,
      ],
    };
  const owner = controllerOf(live);
  if (owner !== undefined && owner.kind === "Canary")
    return {
      ok: false,
      conflicts: [
        `${FIELD}.name: ${kind} ${name} is generated by Canary ${owner.name}${isControlledBy(live, canary) ? " (this one, before routeRef was set)" : ""}, not a route of yours: point routeRef at a ${kind} you own, or remove routeRef to let Serin generate the route`,
      ],
    };
  const shape = shapeOf(kind);
  const spec = isRecord(live.spec) ? live.spec : {};
  const routes = list(spec[shape.routesField]);
  const names = serviceNames(canary);
  const conflicts: string[] = [];
  const located: LocatedRoute[] = [];
  target.routes.forEach((wanted, i) => {
    const field = `${FIELD}.routes[${i}] "${wanted}"`;
    const at = routes.flatMap((r, index) => (isRecord(r) && r.name === wanted ? [index] : []));
    const index = at[0];
    if (index === undefined) {
      conflicts.push(
        `${field} not found in ${kind} ${name} (${shape.routesField}[].name: ${routeNames(routes)}): name the route in the ${kind}, or correct routes[${i}]`,
      );
      return;
    }
    if (at.length > 1) {
      conflicts.push(
        `${field} names ${at.map((j) => `${shape.routesField}[${j}]`).join(" and ")} of ${kind} ${name}: route names must be unique`,
      );
      return;
    }
    const route = routes[index] as Json;
    const base = `/spec/${shape.routesField}/${index}`;
    const dests = list(route[shape.destinationsField]);
    const found = dests.map((d) => (isRecord(d) ? shape.serviceOf(d, namespace) : undefined));
    const primaryAt = found.indexOf(names.primary);
    const canaryAt = found.indexOf(names.canary);
    if (dests.length !== 2 || primaryAt < 0 || canaryAt < 0) {
      const what = dests.map((d, j) => (isRecord(d) ? describeDestination(shape, d) : `#${j}`));
      conflicts.push(
        `${field} (${shape.routesField}[${index}] of ${kind} ${name}) must send to exactly ${names.primary} and ${names.canary}, Serin changes only their weights; it sends to ${what.join(", ") || "nothing"}`,
      );
      return;
    }
    const destination = (j: number): LocatedDestination => {
      const d = dests[j] as Json;
      const path = `${base}/${shape.destinationsField}/${j}`;
      const weight = typeof d.weight === "number" ? d.weight : shape.defaultWeight;
      return {
        idPath: `${path}/${shape.idPath}`,
        id: shape.idOf(d) ?? "",
        weightPath: `${path}/weight`,
        weight,
      };
    };
    const mirror = shape.mirrorOf(route);
    located.push({
      name: wanted,
      namePath: `${base}/name`,
      primary: destination(primaryAt),
      canary: destination(canaryAt),
      mirrored: mirror !== undefined && shape.serviceOf(mirror, namespace) === names.canary,
    });
  });
  return conflicts.length > 0 ? { ok: false, conflicts } : { ok: true, routes: located };
}

function describeDestination(shape: KindShape, d: Json): string {
  if (shape === ISTIO) return shape.idOf(d) ?? "(no host)";
  const ns = str(d.namespace);
  const kind = str(d.kind);
  return `${kind && kind !== "Service" ? `${kind} ` : ""}${ns ? `${ns}/` : ""}${str(d.name) ?? "(no name)"}`;
}

function routeNames(routes: readonly unknown[]): string {
  if (routes.length === 0) return "none";
  return routes.map((r) => (isRecord(r) && typeof r.name === "string" ? r.name : "(unnamed)")).join(", ");
}
