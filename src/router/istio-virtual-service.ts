// The VirtualService <svc> that splits traffic between <svc>-primary and <svc>-canary, built like
// Flagger's IstioRouter (reconcileVirtualService + SetRoutes in one pure function), and readWeights,
// its GetRoutes, which observes the split on a live object.
//
// Route layouts (http; appProtocol "tcp" gets the same split under spec.tcp):
//   canary / blue-green  [ {match: service.match, ..., route: [primary 100-w, canary w], mirror?} ]
//   analysis.match (A/B) [ {match: analysis.match x service.match, route: [primary, canary]},
//                          {match: service.match, route: [primary]} ]
//   session affinity     [ sticky canary cookie -> canary 100, (sticky primary cookie -> primary 100),
//                          weighted route whose destinations set the cookies ]
import type { Canary } from "../api/canary.js";
import { DEFAULTS } from "../api/defaults.js";
import type { HttpMatch } from "../api/istio.js";
import { ISTIO_NETWORKING_API_VERSION } from "./istio-destination-rules.js";
import {
  analysisOf,
  buildSetCookie,
  cookieMatch,
  primaryCookieMaxAge,
  type SessionCookies,
  STICKY_PRIMARY_ROUTE_NAME,
  STICKY_ROUTE_NAME,
  statusCookies,
} from "./istio-session-affinity.js";
import type {
  HTTPRoute,
  HTTPRouteDestination,
  TCPRoute,
  VirtualService,
  VirtualServiceSpec,
} from "./istio-types.js";
import { apexRouteMetadata } from "./ownership.js";
import { type ServiceNames, serviceNames } from "./services.js";

export type { HTTPRoute, HTTPRouteDestination, VirtualService } from "./istio-types.js";

export const MESH_GATEWAY = "mesh";

export interface RouteWeights {
  primaryWeight: number;
  canaryWeight: number;
  /** Mirror the traffic to the canary (blue/green with analysis.mirror); mirrorWeight sets the share. */
  mirror?: boolean;
  /** Session-affinity cookies; defaults to those in canary.status (see nextSessionCookies). */
  cookies?: SessionCookies;
}

/** Flagger treats appProtocol "tcp" (any case) as an L4 service routed under spec.tcp. */
export function isTcp(canary: Pick<Canary, "spec">): boolean {
  return canary.spec.service.appProtocol?.toLowerCase() === "tcp";
}

/** VirtualService hosts: service.hosts plus the apex name unless it (or "*") is there; none when delegating. */
export function virtualServiceHosts(canary: Pick<Canary, "spec">): string[] {
  const svc = canary.spec.service;
  if (svc.delegation) return [];
  const hosts = [...new Set(svc.hosts ?? [])];
  const apex = serviceNames(canary).apex;
  if (!hosts.includes(apex) && !hosts.includes("*")) hosts.push(apex);
  return hosts;
}

/**
 * VirtualService gateways: service.gateways as given, or [mesh] when empty (as Flagger: "mesh" is
 * NOT added to a non-empty list, so a gateway-only VirtualService stays invisible to sidecars);
 * none when delegating.
 */
export function virtualServiceGateways(canary: Pick<Canary, "spec">): string[] {
  const svc = canary.spec.service;
  if (svc.delegation) return [];
  const gateways = [...new Set(svc.gateways ?? [])];
  return gateways.length > 0 ? gateways : [...DEFAULTS.gateways];
}

/**
 * Conditions of one analysis match AND-ed with each service match (Flagger's mergeMatchConditions:
 * the cross product, analysis fields winning). Map-valued conditions (headers, queryParams,
 * withoutHeaders, sourceLabels) are unioned so no condition of either side is lost.
 */
export function mergeMatchConditions(
  analysis: readonly HttpMatch[],
  service: readonly HttpMatch[],
): HttpMatch[] {
  if (service.length === 0) return analysis.map((m) => structuredClone(m));
  const merged: HttpMatch[] = [];
  for (const a of analysis) {
    for (const s of service) {
      const m: HttpMatch = { ...structuredClone(s), ...structuredClone(a) };
      if (s.headers && a.headers)
        m.headers = { ...structuredClone(s.headers), ...structuredClone(a.headers) };
      if (s.queryParams && a.queryParams) {
        m.queryParams = { ...structuredClone(s.queryParams), ...structuredClone(a.queryParams) };
      }
      if (s.withoutHeaders && a.withoutHeaders) {
        m.withoutHeaders = { ...structuredClone(s.withoutHeaders), ...structuredClone(a.withoutHeaders) };
      }
      if (s.sourceLabels && a.sourceLabels) m.sourceLabels = { ...s.sourceLabels, ...a.sourceLabels };
      merged.push(m);
    }
  }
  return merged;
}

function destination(canary: Canary, host: string, weight: number): HTTPRouteDestination {
  const svc = canary.spec.service;
  const firstGateway = svc.gateways?.[0];
  // Flagger pins the port when port discovery exposes several ports behind an ingress gateway.
  const pinPort =
    svc.portDiscovery === true &&
    ((firstGateway !== undefined && firstGateway !== MESH_GATEWAY) || svc.delegation);
  return pinPort
    ? { destination: { host, port: { number: svc.port } }, weight }
    : { destination: { host }, weight };
}

/** The route fields every generated HTTP route shares (service.match, rewrite, timeout, ...). */
function routeTemplate(canary: Canary): HTTPRoute {
  const svc = canary.spec.service;
  const route: HTTPRoute = {};
  if (svc.match !== undefined && svc.match.length > 0) route.match = structuredClone(svc.match);
  if (svc.rewrite !== undefined) {
    // "type" belongs to Gateway API rewrites (Flagger's GetIstioRewrite drops it).
    const { type: _gatewayApiOnly, ...rewrite } = structuredClone(svc.rewrite);
    if (Object.keys(rewrite).length > 0) route.rewrite = rewrite;
  }
  if (svc.timeout !== undefined) route.timeout = svc.timeout;
  if (svc.retries !== undefined) route.retries = structuredClone(svc.retries);
  if (svc.corsPolicy !== undefined) route.corsPolicy = structuredClone(svc.corsPolicy);
  if (svc.headers !== undefined) route.headers = structuredClone(svc.headers);
  return route;
}

function withMatch(template: HTTPRoute, match: HttpMatch[] | undefined): HTTPRoute {
  const { match: _old, ...rest } = structuredClone(template);
  return match === undefined || match.length === 0 ? rest : { ...rest, match };
}

function sessionAffinityRoutes(
  canary: Canary,
  names: ServiceNames,
  weighted: HTTPRoute,
  weights: RouteWeights,
): HTTPRoute[] {
  const affinity = analysisOf(canary)?.sessionAffinity;
  if (affinity === undefined) return [weighted];
  const cookies = weights.cookies ?? statusCookies(canary);
  const template = routeTemplate(canary);
  const serviceMatch = canary.spec.service.match ?? [];
  const sticky = (cookie: string, name: string, primary: number, canaryW: number): HTTPRoute => ({
    ...withMatch(template, mergeMatchConditions([cookieMatch(cookie)], serviceMatch)),
    name,
    route: [destination(canary, names.primary, primary), destination(canary, names.canary, canaryW)],
  });

  if (weights.canaryWeight !== 0) {
    if (cookies.canary === undefined) return [weighted]; // no cookie minted yet: plain split
    // Responses from each side of the weighted split set that side's cookie.
    for (const dest of weighted.route ?? []) {
      if (dest.destination.host === names.canary) {
        dest.headers = { response: { add: { "Set-Cookie": buildSetCookie(cookies.canary, affinity) } } };
      } else if (dest.destination.host === names.primary && cookies.primary !== undefined) {
        const maxAge = primaryCookieMaxAge(canary);
        dest.headers = {
          response: { add: { "Set-Cookie": buildSetCookie(cookies.primary, affinity, maxAge) } },
        };
      }
    }
    const routes = [sticky(cookies.canary, STICKY_ROUTE_NAME, 0, 100)];
    if (cookies.primary !== undefined)
      routes.push(sticky(cookies.primary, STICKY_PRIMARY_ROUTE_NAME, 100, 0));
    return [...routes, weighted];
  }
  if (cookies.previous !== undefined) {
    // The run is over: whoever still carries its cookie gets the primary and an expired cookie.
    const expire = sticky(cookies.previous, STICKY_ROUTE_NAME, weights.primaryWeight, weights.canaryWeight);
    const headers = structuredClone(expire.headers ?? {});
    headers.response = {
      ...headers.response,
      add: { ...headers.response?.add, "Set-Cookie": `${cookies.previous}; Max-Age=-1` },
    };
    return [{ ...expire, headers }, weighted];
  }
  return [weighted];
}

function httpRoutes(canary: Canary, names: ServiceNames, weights: RouteWeights): HTTPRoute[] {
  const template = routeTemplate(canary);
  const split = () => [
    destination(canary, names.primary, weights.primaryWeight),
    destination(canary, names.canary, weights.canaryWeight),
  ];
  const analysis = analysisOf(canary);

  const abMatch = analysis?.match ?? [];
  if (abMatch.length > 0) {
    // A/B testing: only requests matching analysis.match see the canary; everyone else stays on the
    // primary. (The sole destination gets all its traffic; written as 100 for readability.)
    return [
      {
        ...withMatch(template, mergeMatchConditions(abMatch, canary.spec.service.match ?? [])),
        route: split(),
      },
      { ...template, route: [destination(canary, names.primary, 100)] },
    ];
  }

  const weighted: HTTPRoute = { ...template, route: split() };
  if (weights.mirror === true) {
    weighted.mirror = { host: names.canary };
    const mirrorWeight = analysis?.mirrorWeight ?? 0;
    if (mirrorWeight > 0) weighted.mirrorPercentage = { value: mirrorWeight };
  }
  return sessionAffinityRoutes(canary, names, weighted, weights);
}

function tcpRoutes(canary: Canary, names: ServiceNames, weights: RouteWeights): TCPRoute[] {
  const route: TCPRoute = {
    route: [
      destination(canary, names.primary, weights.primaryWeight),
      destination(canary, names.canary, weights.canaryWeight),
    ],
  };
  // Flagger's canaryToL4Match: only the port of each service.match survives at L4.
  const match = (canary.spec.service.match ?? []).map((m) => (m.port === undefined ? {} : { port: m.port }));
  if (match.length > 0) route.match = match;
  return [route];
}

/** The desired VirtualService for the given split. Weights are used as given (the core keeps them summing to 100). */
export function buildVirtualService(canary: Canary, weights: RouteWeights): VirtualService {
  const names = serviceNames(canary);
  const spec: VirtualServiceSpec = {
    hosts: virtualServiceHosts(canary),
    gateways: virtualServiceGateways(canary),
  };
  if (isTcp(canary)) spec.tcp = tcpRoutes(canary, names, weights);
  else spec.http = httpRoutes(canary, names, weights);
  return {
    apiVersion: ISTIO_NETWORKING_API_VERSION,
    kind: "VirtualService",
    metadata: apexRouteMetadata(canary, names.apex),
    spec,
  };
}

export interface ObservedRoutes {
  primaryWeight: number;
  canaryWeight: number;
  mirrored: boolean;
}

function weightOf(dest: HTTPRouteDestination, route: readonly HTTPRouteDestination[]): number {
  // Istio drops weight 0 on read, and a sole destination receives everything whatever its weight.
  return route.length === 1 ? 100 : (dest.weight ?? 0);
}

/**
 * Reads the current split from a live VirtualService (Flagger's GetRoutes): the last route that
 * sends to the canary Service is the weighted one in every layout above; with session affinity the
 * destinations that set cookies win. Errors when no route carries the primary or the canary.
 */
export function readWeights(
  vs: Pick<VirtualService, "spec">,
  canary: Canary,
): ObservedRoutes | { error: string } {
  const names = serviceNames(canary);
  const routes: Array<HTTPRoute | TCPRoute> = (isTcp(canary) ? vs.spec.tcp : vs.spec.http) ?? [];
  const weighted = routes.findLast((r) => (r.route ?? []).some((d) => d.destination.host === names.canary));
  let primaryWeight = 0;
  let canaryWeight = 0;
  const dests = weighted?.route ?? [];
  for (const d of dests) {
    if (d.destination.host === names.primary) primaryWeight = weightOf(d, dests);
    if (d.destination.host === names.canary) canaryWeight = weightOf(d, dests);
  }
  const mirror = isTcp(canary) ? undefined : (weighted as HTTPRoute | undefined)?.mirror;
  const mirrored = mirror !== undefined && mirror.host !== "";

  if (!isTcp(canary) && analysisOf(canary)?.sessionAffinity !== undefined) {
    for (const route of routes) {
      for (const d of route.route ?? []) {
        if (d.headers === undefined) continue;
        if (d.destination.host === names.primary) primaryWeight = weightOf(d, route.route ?? []);
        if (d.destination.host === names.canary) canaryWeight = weightOf(d, route.route ?? []);
      }
    }
  }
  if (primaryWeight === 0 && canaryWeight === 0) {
    return { error: `VirtualService ${names.apex} does not route to ${names.primary} and ${names.canary}` };
  }
  return { primaryWeight, canaryWeight, mirrored };
}
