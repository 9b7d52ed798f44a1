// RDS: which RouteConfiguration and virtual host a request lands in, the first matching route, and what
// that route does (cluster / weighted clusters / redirect / direct response), with Envoy's semantics.
import { compileFault, type FaultConfig } from "./fault.js";
import { type HeaderOps, requestOps, responseOps } from "./headers.js";
import { type CompiledRouteMatch, compileRouteMatch, type MatchRequest, pathOnly, re2 } from "./matchers.js";
import { compileRetryPolicy, type RetryPolicy } from "./retry.js";
import type {
  ClusterWeightJson,
  HashPolicyJson,
  JsonObject,
  RouteConfigurationJson,
  RouteJson,
  VirtualHostJson,
} from "./xds-json.js";
import { durationMs, fraction } from "./xds-json.js";

export interface WeightedTarget {
  cluster: string;
  weight: number;
  requestOps: HeaderOps;
  responseOps: HeaderOps;
  hostRewrite: string | undefined;
  fault: FaultConfig | undefined;
}

export interface MirrorPolicy {
  cluster: string;
  probability: number;
  shadowSuffix: boolean;
}

export interface ForwardAction {
  kind: "forward";
  /** A single cluster, or undefined when weighted. */
  cluster: string | undefined;
  weighted: WeightedTarget[];
  totalWeight: number;
  clusterNotFoundStatus: number;
  /** undefined = no timeout ("0s"); Envoy's default when absent is 15 s. */
  timeoutMs: number | undefined;
  retry: RetryPolicy | undefined;
  mirrors: MirrorPolicy[];
  hashPolicies: HashPolicyJson[];
  prefixRewrite: string | undefined;
  regexRewrite: { pattern: string; substitution: string } | undefined;
  hostRewrite: string | undefined;
}

export type RedirectActionForRequest = NonNullable<RouteJson["redirect"]>;

export type RouteAction =
  | ForwardAction
  | { kind: "redirect"; redirect: NonNullable<RouteJson["redirect"]> }
  | { kind: "direct"; status: number; body: string }
  | { kind: "none" };

export interface CompiledRoute {
  name: string;
  match: CompiledRouteMatch;
  action: RouteAction;
  requestOps: HeaderOps;
  responseOps: HeaderOps;
  fault: FaultConfig | undefined;
}

export interface CompiledVirtualHost {
  name: string;
  domains: string[];
  routes: CompiledRoute[];
  requestOps: HeaderOps;
  responseOps: HeaderOps;
  fault: FaultConfig | undefined;
}

export interface CompiledRouteConfig {
  name: string;
  /** The listener port the config serves (its name, or the `:port` suffix of a `host:port` name). */
  port: number | undefined;
  ignorePort: boolean;
  virtualHosts: CompiledVirtualHost[];
  requestOps: HeaderOps;
  responseOps: HeaderOps;
  exact: Map<string, CompiledVirtualHost>;
  /** `*.foo` / `*-foo`: longest suffix first. */
  suffixes: Array<{ suffix: string; vh: CompiledVirtualHost }>;
  /** `foo.*`: longest prefix first. */
  prefixes: Array<{ prefix: string; vh: CompiledVirtualHost }>;
  star: CompiledVirtualHost | undefined;
}

const NOT_FOUND_CODES: Record<string, number> = {
  SERVICE_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
};

function compileWeighted(c: ClusterWeightJson): WeightedTarget {
  return {
    cluster: c.name ?? "",
    weight: Math.max(0, c.weight ?? 0),
    requestOps: requestOps(c),
    responseOps: responseOps(c),
    hostRewrite: c.host_rewrite_literal || undefined,
    fault: compileFault(c.typed_per_filter_config),
  };
}

function compileAction(r: RouteJson, vh: VirtualHostJson): RouteAction {
  if (r.redirect) return { kind: "redirect", redirect: r.redirect };
  if (r.direct_response) {
    const b = r.direct_response.body;
    const body =
      b?.inline_string ?? (b?.inline_bytes ? Buffer.from(b.inline_bytes, "base64").toString("utf8") : "");
    return { kind: "direct", status: r.direct_response.status ?? 200, body };
  }
  const a = r.route;
  if (!a) return { kind: "none" };
  const weighted = (a.weighted_clusters?.clusters ?? []).map(compileWeighted);
  const sum = weighted.reduce((s, w) => s + w.weight, 0);
  const timeout = a.timeout === undefined ? 15_000 : durationMs(a.timeout);
  const rx = a.regex_rewrite;
  return {
    kind: "forward",
    cluster: a.weighted_clusters ? undefined : (a.cluster ?? ""),
    weighted,
    totalWeight: a.weighted_clusters?.total_weight ?? sum,
    clusterNotFoundStatus: NOT_FOUND_CODES[a.cluster_not_found_response_code ?? "SERVICE_UNAVAILABLE"] ?? 503,
    timeoutMs: timeout !== undefined && timeout > 0 ? timeout : undefined,
    // A route's policy replaces the virtual host's.
    retry: compileRetryPolicy(a.retry_policy ?? vh.retry_policy),
    mirrors: (a.request_mirror_policies ?? []).map((m) => ({
      cluster: m.cluster ?? "",
      probability: m.runtime_fraction?.default_value ? fraction(m.runtime_fraction.default_value) : 1,
      shadowSuffix: m.disable_shadow_host_suffix_append !== true,
    })),
    hashPolicies: a.hash_policy ?? [],
    prefixRewrite: a.prefix_rewrite,
    regexRewrite:
      rx?.pattern?.regex !== undefined
        ? { pattern: rx.pattern.regex, substitution: rx.substitution ?? "" }
        : undefined,
    hostRewrite: a.host_rewrite_literal || undefined,
  };
}

function compileVirtualHost(vh: VirtualHostJson): CompiledVirtualHost {
  return {
    name: vh.name ?? "",
    domains: (vh.domains ?? []).map((d) => d.toLowerCase()),
    routes: (vh.routes ?? []).map((r) => ({
      name: r.name ?? "",
      match: compileRouteMatch(r.match),
      action: compileAction(r, vh),
      requestOps: requestOps(r),
      responseOps: responseOps(r),
      fault: compileFault(r.typed_per_filter_config),
    })),
    requestOps: requestOps(vh),
    responseOps: responseOps(vh),
    fault: compileFault(vh.typed_per_filter_config),
  };
}

function portOfName(name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  const m = /:(\d+)$/.exec(name);
  return m?.[1] ? Number(m[1]) : undefined;
}

export function compileRouteConfig(name: string, json: JsonObject): CompiledRouteConfig {
  const rc = json as RouteConfigurationJson;
  const virtualHosts = (rc.virtual_hosts ?? []).map(compileVirtualHost);
  const exact = new Map<string, CompiledVirtualHost>();
  const suffixes: CompiledRouteConfig["suffixes"] = [];
  const prefixes: CompiledRouteConfig["prefixes"] = [];
  let star: CompiledVirtualHost | undefined;
  for (const vh of virtualHosts) {
    for (const d of vh.domains) {
      if (d === "*") star ??= vh;
      else if (d.startsWith("*")) suffixes.push({ suffix: d.slice(1), vh });
      else if (d.endsWith("*")) prefixes.push({ prefix: d.slice(0, -1), vh });
      else if (!exact.has(d)) exact.set(d, vh);
    }
  }
  // Longest first; the sort is stable, so config order breaks ties.
  suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return {
    name: rc.name ?? name,
    port: portOfName(rc.name ?? name),
    ignorePort: rc.ignore_port_in_host_matching === true,
    virtualHosts,
    requestOps: requestOps(rc),
    responseOps: responseOps(rc),
    exact,
    suffixes,
    prefixes,
    star,
  };
}

/** Split `host[:port]` (also `[v6]:port`), lower case. */
export function splitHost(authority: string): { host: string; port: number | undefined } {
  const a = authority.trim().toLowerCase();
  const v6 = /^(\[[^\]]+\])(?::(\d+))?$/.exec(a);
  if (v6) return { host: v6[1] ?? "", port: v6[2] ? Number(v6[2]) : undefined };
  const idx = a.lastIndexOf(":");
  if (idx > 0 && /^\d+$/.test(a.slice(idx + 1)))
    return { host: a.slice(0, idx), port: Number(a.slice(idx + 1)) };
  return { host: a, port: undefined };
}

/**
 * Envoy's virtual host selection: exact domain, then the longest `*suffix` wildcard, then the longest
 * `prefix*` wildcard, then `*`. With ignore_port_in_host_matching the port is stripped from the Host first;
 * otherwise the Host is matched as sent (with its port), then without the port (Envoy strips the port
 * when it equals the listener's).
 */
export function selectVirtualHost(
  rc: CompiledRouteConfig,
  authority: string,
  opts: { includeStar?: boolean } = {},
): CompiledVirtualHost | undefined {
  const a = authority.trim().toLowerCase();
  const { host, port } = splitHost(a);
  const candidates = rc.ignorePort ? [host] : port !== undefined && port === rc.port ? [a, host] : [a];
  for (const h of candidates) {
    const e = rc.exact.get(h);
    if (e) return e;
  }
  for (const h of candidates) {
    for (const s of rc.suffixes) if (h.length > s.suffix.length && h.endsWith(s.suffix)) return s.vh;
  }
  for (const h of candidates) {
    for (const p of rc.prefixes) if (h.length > p.prefix.length && h.startsWith(p.prefix)) return p.vh;
  }
  return opts.includeStar === false ? undefined : rc.star;
}

export function selectRoute(
  vh: CompiledVirtualHost,
  req: MatchRequest,
  rng: () => number,
): CompiledRoute | undefined {
  for (const r of vh.routes) if (r.match.matches(req, rng)) return r;
  return undefined;
}

/** Pick one weighted cluster with probability weight/total; weight 0 never. */
export function pickWeighted(targets: readonly WeightedTarget[], total: number, rng: () => number) {
  if (targets.length === 0 || total <= 0) return undefined;
  let x = rng() * total;
  let last: WeightedTarget | undefined;
  for (const t of targets) {
    if (t.weight <= 0) continue;
    last = t;
    if (x < t.weight) return t;
    x -= t.weight;
  }
  return last;
}

/** RE2 substitution: `\N` is group N, `\\` a backslash. */
function substitute(template: string, groups: readonly string[]): string {
  return template.replace(/\\(\d|\\)/g, (_, g: string) => (g === "\\" ? "\\" : (groups[Number(g)] ?? "")));
}

/** The upstream :path after prefix_rewrite / regex_rewrite (the query string is kept). */
export function rewritePath(route: CompiledRoute, action: ForwardAction, path: string): string {
  const q = path.search(/[?#]/);
  const p = q < 0 ? path : path.slice(0, q);
  const rest = q < 0 ? "" : path.slice(q);
  if (action.regexRewrite) {
    const re = re2(action.regexRewrite.pattern);
    if (!re) return path;
    const sub = action.regexRewrite.substitution;
    const out = re.matcher(p).replaceAll((...args: unknown[]) => {
      // (match, group1..groupN, offset, input): everything before the offset.
      const end = args.findIndex((a) => typeof a === "number");
      const groups = args.slice(0, end < 0 ? args.length : end).map((a) => (typeof a === "string" ? a : ""));
      return substitute(sub, groups);
    });
    return out + rest;
  }
  if (action.prefixRewrite === undefined) return path;
  const m = route.match;
  if (m.pathKind === "prefix") {
    // The matched prefix is swapped; a prefix match sees the query, so it may extend into it.
    return action.prefixRewrite + path.slice(m.pathLiteral.length);
  }
  if (m.pathKind === "separated") return action.prefixRewrite + p.slice(m.pathLiteral.length) + rest;
  return action.prefixRewrite + rest;
}

export { pathOnly };
