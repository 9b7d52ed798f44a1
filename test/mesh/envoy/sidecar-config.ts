// One sidecar's xDS snapshot compiled for request evaluation (once per snapshot version), and the
// per-request routing decision with Envoy's semantics. Pure: no I/O; randomness from the caller's Rng.
import { type CompiledCluster, compileCluster } from "./clusters.js";
import type { FaultConfig } from "./fault.js";
import { applyLevels, type HeaderOps, type Headers } from "./headers.js";
import type { MatchRequest } from "./matchers.js";
import {
  type CompiledRoute,
  type CompiledRouteConfig,
  type CompiledVirtualHost,
  compileRouteConfig,
  type ForwardAction,
  pickWeighted,
  type RedirectActionForRequest,
  rewritePath,
  selectRoute,
  selectVirtualHost,
  splitHost,
  type WeightedTarget,
} from "./route-table.js";
import type { XdsSnapshot } from "./xds-json.js";

export interface CompiledSidecarConfig {
  readonly version: number;
  readonly routeConfigs: ReadonlyMap<string, CompiledRouteConfig>;
  readonly clusters: ReadonlyMap<string, CompiledCluster>;
  /** The route configuration and virtual host a Host header lands in (memoised). */
  resolve(authority: string): { rc: CompiledRouteConfig; vh: CompiledVirtualHost | undefined } | undefined;
}

const compiled = new WeakMap<XdsSnapshot, CompiledSidecarConfig>();

export function compileSidecarConfig(snapshot: XdsSnapshot): CompiledSidecarConfig {
  const hit = compiled.get(snapshot);
  if (hit) return hit;
  const routeConfigs = new Map<string, CompiledRouteConfig>();
  for (const [name, json] of snapshot.routes) routeConfigs.set(name, compileRouteConfig(name, json));
  const clusters = new Map<string, CompiledCluster>();
  for (const [name, json] of snapshot.clusters) {
    const c = compileCluster(name, json, snapshot.endpoints);
    clusters.set(c.name, c);
  }
  // Route configs by port (80 first), numeric names before `host:port` names.
  const ordered = [...routeConfigs.values()].sort(
    (a, b) =>
      Number(a.port !== 80) - Number(b.port !== 80) ||
      (a.port ?? 1e9) - (b.port ?? 1e9) ||
      Number(!/^\d+$/.test(a.name)) - Number(!/^\d+$/.test(b.name)) ||
      a.name.localeCompare(b.name),
  );
  /** A `host:port` route config (a sniffed service port) serves a Host that is its host or a prefix of it. */
  const namedFor = (rc: CompiledRouteConfig, host: string): boolean => {
    if (/^\d+$/.test(rc.name)) return false;
    const h = vhostHost({ name: rc.name } as CompiledVirtualHost);
    return h === host || h.startsWith(`${host}.`);
  };
  /** Does the virtual host's service have a cluster on that port (is it a real port of the service)? */
  const servesPort = (vh: CompiledVirtualHost, port: number | undefined): boolean =>
    port !== undefined && clusters.has(`outbound|${port}||${vhostHost(vh)}`);
  const memo = new Map<string, ReturnType<CompiledSidecarConfig["resolve"]>>();
  const resolveUncached = (authority: string): ReturnType<CompiledSidecarConfig["resolve"]> => {
    const { host, port } = splitHost(authority);
    if (port !== undefined) {
      const candidates = ordered.filter((rc) => rc.port === port);
      for (const rc of candidates) {
        const vh = selectVirtualHost(rc, authority, { includeStar: false });
        if (vh) return { rc, vh };
      }
      for (const rc of candidates)
        if (namedFor(rc, host)) return { rc, vh: selectVirtualHost(rc, authority) };
      const first = candidates[0];
      return first ? { rc: first, vh: selectVirtualHost(first, authority) } : undefined;
    }
    // No port in the Host: the route configuration that knows the host, preferring 80, then one whose
    // service really has that port (a VirtualService host gets a virtual host on every HTTP port).
    const found: Array<{ rc: CompiledRouteConfig; vh: CompiledVirtualHost }> = [];
    for (const rc of ordered) {
      const vh = selectVirtualHost(rc, rc.port !== undefined ? `${host}:${rc.port}` : host, {
        includeStar: false,
      });
      if (vh) found.push({ rc, vh });
    }
    const best = found.find((f) => servesPort(f.vh, f.rc.port)) ?? found[0];
    if (best) return best;
    for (const rc of ordered) if (namedFor(rc, host)) return { rc, vh: selectVirtualHost(rc, host) };
    const rc80 = routeConfigs.get("80");
    return rc80 ? { rc: rc80, vh: selectVirtualHost(rc80, host) } : undefined;
  };
  const out: CompiledSidecarConfig = {
    version: snapshot.version,
    routeConfigs,
    clusters,
    resolve(authority) {
      const key = authority.toLowerCase();
      if (memo.has(key)) return memo.get(key);
      const r = resolveUncached(key);
      if (memo.size > 10_000) memo.clear();
      memo.set(key, r);
      return r;
    },
  };
  compiled.set(snapshot, out);
  return out;
}

interface Matched {
  rc: CompiledRouteConfig;
  vh: CompiledVirtualHost;
  route: CompiledRoute;
}

export type RouteDecision =
  | { kind: "no-route"; serviceHost: string }
  | (Matched & { kind: "direct"; status: number; body: string })
  | (Matched & { kind: "redirect"; status: number; location: string })
  | (Matched & {
      kind: "forward";
      action: ForwardAction;
      /** The cluster chosen (for weighted clusters: the picked one); "" when every weight is 0. */
      clusterName: string;
      weighted: WeightedTarget | undefined;
      serviceHost: string;
      /** The most specific fault filter config (weighted cluster, route, virtual host). */
      fault: FaultConfig | undefined;
    });

/** `catalog.shop.svc.cluster.local:80` -> `catalog.shop.svc.cluster.local`. */
function vhostHost(vh: CompiledVirtualHost): string {
  const name = vh.name;
  const i = name.lastIndexOf(":");
  return i > 0 && /^\d+$/.test(name.slice(i + 1)) ? name.slice(0, i) : name;
}

const REDIRECT_CODES: Record<string, number> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

/** Envoy's RedirectAction -> Location. */
export function redirectLocation(
  r: RedirectActionForRequest,
  route: CompiledRoute,
  req: MatchRequest,
): string {
  const scheme = r.scheme_redirect || (r.https_redirect ? "https" : req.scheme);
  let authority = r.host_redirect || req.authority;
  if (r.port_redirect) {
    const { host } = splitHost(authority);
    const dflt =
      (scheme === "http" && r.port_redirect === 80) || (scheme === "https" && r.port_redirect === 443);
    authority = dflt ? host : `${host}:${r.port_redirect}`;
  } else if (scheme !== req.scheme) {
    authority = splitHost(authority).host;
  }
  const q = req.path.search(/[?#]/);
  const path = q < 0 ? req.path : req.path.slice(0, q);
  const query = r.strip_query || q < 0 ? "" : req.path.slice(q);
  let newPath: string;
  if (r.path_redirect !== undefined && r.path_redirect !== "")
    newPath = r.path_redirect.includes("?") ? r.path_redirect : r.path_redirect + query;
  else if (r.prefix_rewrite !== undefined && route.match.pathKind === "prefix")
    newPath = r.prefix_rewrite + path.slice(route.match.pathLiteral.length) + query;
  else newPath = path + query;
  return `${scheme}://${authority}${newPath}`;
}

/** The whole routing decision of one sidecar for one request. */
export function decide(config: CompiledSidecarConfig, req: MatchRequest, rng: () => number): RouteDecision {
  const where = config.resolve(req.authority);
  const vh = where?.vh;
  if (!where || !vh) return { kind: "no-route", serviceHost: splitHost(req.authority).host };
  const serviceHost = vhostHost(vh);
  const route = selectRoute(vh, req, rng);
  if (!route) return { kind: "no-route", serviceHost };
  const m: Matched = { rc: where.rc, vh, route };
  const a = route.action;
  switch (a.kind) {
    case "none":
      return { kind: "no-route", serviceHost };
    case "direct":
      return { ...m, kind: "direct", status: a.status, body: a.body };
    case "redirect":
      return {
        ...m,
        kind: "redirect",
        status: REDIRECT_CODES[a.redirect.response_code ?? "MOVED_PERMANENTLY"] ?? 301,
        location: redirectLocation(a.redirect, route, req),
      };
    case "forward": {
      const weighted = a.cluster === undefined ? pickWeighted(a.weighted, a.totalWeight, rng) : undefined;
      return {
        ...m,
        kind: "forward",
        action: a,
        clusterName: a.cluster ?? weighted?.cluster ?? "",
        weighted,
        serviceHost,
        fault: weighted?.fault ?? route.fault ?? vh.fault,
      };
    }
  }
}

type WithLevels = { rc: CompiledRouteConfig; vh: CompiledVirtualHost; route: CompiledRoute };

function levels(
  d: WithLevels,
  weighted: WeightedTarget | undefined,
  kind: "request" | "response",
): HeaderOps[] {
  const pick = (x: { requestOps: HeaderOps; responseOps: HeaderOps }) =>
    kind === "request" ? x.requestOps : x.responseOps;
  const out: HeaderOps[] = [];
  if (weighted) out.push(pick(weighted));
  out.push(pick(d.route), pick(d.vh), pick(d.rc));
  return out;
}

/** Request headers, :authority and :path as the upstream sees them. */
export function upstreamRequest(
  d: Extract<RouteDecision, { kind: "forward" }>,
  headers: Headers,
  req: MatchRequest,
): { headers: Headers; authority: string; path: string } {
  const out: Headers = { ...headers };
  applyLevels(out, levels(d, d.weighted, "request"));
  const authority = d.weighted?.hostRewrite ?? d.action.hostRewrite ?? req.authority;
  return { headers: out, authority, path: rewritePath(d.route, d.action, req.path) };
}

/** Response header mutations of the matched route (also for direct responses and redirects). */
export function finalizeResponseHeaders(
  d: Exclude<RouteDecision, { kind: "no-route" }>,
  headers: Headers,
): void {
  applyLevels(headers, levels(d, d.kind === "forward" ? d.weighted : undefined, "response"));
}
