// Pure route evaluation: request host -> VirtualService -> first matching HTTP route -> one weighted
// destination. No I/O; randomness comes from an injectable Rng.
import { hostMatches, hostSpecificity, requestHostCandidates, resolveConfigHost } from "./hosts.js";
import type { HttpMatchRequest, HttpRoute, HttpRouteDestination } from "./istio-types.js";
import { type RequestFacts, routeMatches } from "./matching.js";
import type { MeshIndex, ResolvedVirtualService } from "./mesh-index.js";
import type { ServiceInfo } from "./model.js";
import type { Rng } from "./rng.js";

/** Istio `exportTo`: absent or `*` = everyone, `.` = own namespace, else listed namespaces. */
export function visibleTo(
  exportTo: readonly string[] | undefined,
  objectNs: string,
  clientNs: string,
): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.some((e) => e === "*" || (e === "." ? objectNs === clientNs : e === clientNs));
}

export interface HostResolution {
  /** The host the request is for (FQDN for Kubernetes services). */
  host: string;
  vs: ResolvedVirtualService | undefined;
  /** The Service behind `host`, if any. */
  service: ServiceInfo | undefined;
}

/** The VirtualService owning `host` for a client in `clientNs`: most specific host, then oldest. */
export function findVirtualService(
  index: MeshIndex,
  host: string,
  clientNs: string,
): ResolvedVirtualService | undefined {
  let best: ResolvedVirtualService | undefined;
  let bestScore = -1;
  for (const r of index.virtualServices) {
    if (!visibleTo(r.vs.spec.exportTo, r.vs.namespace, clientNs)) continue;
    for (const h of r.hosts) {
      if (!hostMatches(h, host)) continue;
      const score = hostSpecificity(h);
      // Strictly greater: among equals the oldest (sorted first) wins.
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
  }
  return best;
}

/** Resolve the Host header of a request from a client in `clientNs`; undefined = unknown host. */
export function resolveRequestHost(
  index: MeshIndex,
  host: string,
  clientNs: string,
): HostResolution | undefined {
  for (const candidate of requestHostCandidates(host, clientNs)) {
    const vs = findVirtualService(index, candidate, clientNs);
    const service = index.service(candidate);
    if (vs || service) return { host: candidate, vs, service };
  }
  return undefined;
}

/** The service port a request addresses: the Host header's port, else 80, else the Service's only port. */
export function listenPort(requestPort: number | undefined, service: ServiceInfo | undefined): number {
  if (requestPort !== undefined) return requestPort;
  if (!service || service.ports.length === 0 || service.ports.some((p) => p.port === 80)) return 80;
  return service.ports[0]?.port ?? 80;
}

export interface SelectedRoute {
  route: HttpRoute;
  index: number;
  entry: HttpMatchRequest | undefined;
}

/** First-match-wins over `http` routes. */
export function selectRoute(routes: readonly HttpRoute[], req: RequestFacts): SelectedRoute | undefined {
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i];
    if (!route) continue;
    const m = routeMatches(route.match, req);
    if (m.matched) return { route, index: i, entry: m.entry };
  }
  return undefined;
}

/**
 * One destination, chosen independently per request with probability weight/sum. A single destination
 * takes everything whatever its weight (Istio routes it as a plain cluster); with several, weight 0 (or a
 * missing weight) is never chosen. undefined when no destination can be chosen.
 */
export function pickWeighted<T extends { weight?: number | undefined }>(
  destinations: readonly T[],
  rng: Rng,
): T | undefined {
  if (destinations.length === 1) return destinations[0];
  let total = 0;
  for (const d of destinations) total += Math.max(0, d.weight ?? 0);
  if (total <= 0) return undefined;
  let x = rng() * total;
  for (const d of destinations) {
    const w = Math.max(0, d.weight ?? 0);
    if (w === 0) continue;
    if (x < w) return d;
    x -= w;
  }
  // Floating-point edge: the last positive-weight destination.
  for (let i = destinations.length - 1; i >= 0; i--) {
    const d = destinations[i];
    if (d && (d.weight ?? 0) > 0) return d;
  }
  return undefined;
}

/** A route destination with its host resolved against the VirtualService namespace. */
export interface Target {
  host: string;
  subset: string | undefined;
  port: number | undefined;
  destination: HttpRouteDestination | undefined;
}

export type RouteDecision =
  | { kind: "no-route"; host: string }
  | { kind: "redirect"; status: number; location: string }
  | { kind: "direct"; status: number; body: string }
  | {
      kind: "forward";
      resolution: HostResolution;
      port: number;
      /** undefined for plain Kubernetes Service behaviour (no VirtualService). */
      selected: SelectedRoute | undefined;
      /** undefined when every destination has weight 0 (Envoy: no cluster). */
      target: Target | undefined;
    };

export function targetOf(d: HttpRouteDestination, vsNamespace: string): Target {
  return {
    host: resolveConfigHost(d.destination.host, vsNamespace),
    subset: d.destination.subset || undefined,
    port: d.destination.port?.number || undefined,
    destination: d,
  };
}

/** The whole routing decision for one request. `req.port` is ignored; the addressed port is derived. */
export function decideRoute(
  index: MeshIndex,
  hostHeader: { host: string; port: number | undefined },
  req: RequestFacts,
  rng: Rng,
): RouteDecision {
  const resolution = resolveRequestHost(index, hostHeader.host, req.source.namespace);
  if (!resolution) return { kind: "no-route", host: hostHeader.host };
  const port = listenPort(hostHeader.port, resolution.service);
  const facts: RequestFacts = { ...req, port };
  if (!resolution.vs) {
    if (resolution.service && !resolution.service.ports.some((p) => p.port === port)) {
      return { kind: "no-route", host: resolution.host };
    }
    const target: Target = { host: resolution.host, subset: undefined, port, destination: undefined };
    return { kind: "forward", resolution, port, selected: undefined, target };
  }
  const selected = selectRoute(resolution.vs.vs.spec.http, facts);
  if (!selected) return { kind: "no-route", host: resolution.host };
  const { route } = selected;
  if (route.redirect) {
    const r = route.redirect;
    const authority = r.authority ?? req.authority;
    const scheme = r.scheme ?? req.scheme;
    const portPart = r.port ? `:${r.port}` : "";
    return {
      kind: "redirect",
      status: r.redirectCode ?? 301,
      location: `${scheme}://${authority}${portPart}${r.uri ?? req.path}`,
    };
  }
  if (route.directResponse) {
    const body = route.directResponse.body;
    const text = body?.string ?? (body?.bytes ? Buffer.from(body.bytes, "base64").toString("utf8") : "");
    return { kind: "direct", status: route.directResponse.status, body: text };
  }
  const chosen = pickWeighted(route.route ?? [], rng);
  const target = chosen ? targetOf(chosen, resolution.vs.vs.namespace) : undefined;
  return { kind: "forward", resolution, port, selected, target };
}
