// Envoy's route matching (config.route.v3.RouteMatch, HeaderMatcher, QueryParameterMatcher and
// type.matcher.v3.StringMatcher), compiled once into predicates. Regexes are RE2 (re2js), full match.
import { RE2JS } from "re2js";
import type {
  HeaderMatcherJson,
  QueryParameterMatcherJson,
  RegexMatcherJson,
  RouteMatchJson,
  StringMatcherJson,
} from "./xds-json.js";
import { fraction } from "./xds-json.js";

/** What a route match looks at. Header names lower case; repeated headers joined with ",". */
export interface MatchRequest {
  method: string;
  /** :path as sent, with the query string. */
  path: string;
  /** :authority (the Host header) as sent. */
  authority: string;
  scheme: string;
  headers: Readonly<Record<string, string | undefined>>;
}

export type Predicate = (value: string) => boolean;

const regexCache = new Map<string, RE2JS | null>();

/** A compiled RE2; null when the pattern does not compile (Envoy would have rejected the config). */
export function re2(pattern: string, ignoreCase = false): RE2JS | null {
  const key = `${ignoreCase ? "i" : "s"}:${pattern}`;
  let re = regexCache.get(key);
  if (re === undefined) {
    try {
      re = RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
    } catch {
      re = null;
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(key, re);
  }
  return re;
}

/** RE2 full match, as Envoy's safe_regex. */
export function regexPredicate(m: RegexMatcherJson | undefined, ignoreCase = false): Predicate {
  const re = re2(m?.regex ?? "", ignoreCase);
  if (!re) return () => false;
  return (v) => re.matches(v);
}

export function stringMatcher(m: StringMatcherJson): Predicate {
  const ic = m.ignore_case === true;
  const norm = (s: string) => (ic ? s.toLowerCase() : s);
  if (m.exact !== undefined) {
    const e = norm(m.exact);
    return (v) => norm(v) === e;
  }
  if (m.prefix !== undefined) {
    const p = norm(m.prefix);
    return (v) => norm(v).startsWith(p);
  }
  if (m.suffix !== undefined) {
    const s = norm(m.suffix);
    return (v) => norm(v).endsWith(s);
  }
  if (m.contains !== undefined) {
    const c = norm(m.contains);
    return (v) => norm(v).includes(c);
  }
  if (m.safe_regex !== undefined) return regexPredicate(m.safe_regex);
  return () => false;
}

/** The value of a header or pseudo-header, as Envoy's HeaderUtility sees it. */
export function headerValue(req: MatchRequest, name: string): string | undefined {
  switch (name.toLowerCase()) {
    case ":authority":
    case "host":
      return req.authority;
    case ":method":
      return req.method;
    case ":path":
      return req.path;
    case ":scheme":
      return req.scheme;
    default:
      return req.headers[name.toLowerCase()];
  }
}

/** HeaderMatcher with Envoy's handling of a missing header (HeaderUtility::matchHeaders). */
export function headerMatcher(h: HeaderMatcherJson): (req: MatchRequest) => boolean {
  const name = h.name ?? "";
  const invert = h.invert_match === true;
  const treatMissingAsEmpty = h.treat_missing_header_as_empty === true;
  let presentMatch: boolean | undefined;
  let value: Predicate;
  if (h.present_match !== undefined) {
    presentMatch = h.present_match;
    value = () => presentMatch === true;
  } else if (h.string_match) value = stringMatcher(h.string_match);
  else if (h.exact_match !== undefined) value = stringMatcher({ exact: h.exact_match });
  else if (h.prefix_match !== undefined) value = stringMatcher({ prefix: h.prefix_match });
  else if (h.suffix_match !== undefined) value = stringMatcher({ suffix: h.suffix_match });
  else if (h.contains_match !== undefined) value = stringMatcher({ contains: h.contains_match });
  else if (h.safe_regex_match) value = regexPredicate(h.safe_regex_match);
  else if (h.range_match) {
    const start = Number(h.range_match.start ?? 0);
    const end = Number(h.range_match.end ?? 0);
    value = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    // No specifier: presence (Envoy's HeaderMatchType::Present with present_match true).
    presentMatch = true;
    value = () => true;
  }
  return (req) => {
    let v = headerValue(req, name);
    if (v === undefined) {
      if (!treatMissingAsEmpty) {
        if (presentMatch === undefined) return false;
        return invert ? presentMatch : !presentMatch;
      }
      v = "";
    }
    return value(v) !== invert;
  };
}

/** The query string's parameters, not percent-decoded (Envoy's parseQueryString); first value wins. */
export function queryParams(path: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = path.indexOf("?");
  if (q < 0) return out;
  const end = path.indexOf("#", q);
  const qs = path.slice(q + 1, end < 0 ? undefined : end);
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? "" : part.slice(eq + 1);
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

export function queryMatcher(m: QueryParameterMatcherJson): (params: Map<string, string>) => boolean {
  const name = m.name ?? "";
  if (m.present_match === true) return (p) => p.has(name);
  const value = m.string_match ? stringMatcher(m.string_match) : () => false;
  return (p) => {
    const v = p.get(name);
    return v !== undefined && value(v);
  };
}

export function pathOnly(path: string): string {
  let end = path.length;
  const q = path.indexOf("?");
  if (q >= 0) end = q;
  const h = path.indexOf("#");
  if (h >= 0 && h < end) end = h;
  return path.slice(0, end);
}

export type PathKind = "prefix" | "path" | "regex" | "separated" | "none";

export interface CompiledRouteMatch {
  matches(req: MatchRequest, rng: () => number): boolean;
  pathKind: PathKind;
  /** The literal of a prefix / path / path_separated_prefix match. */
  pathLiteral: string;
}

export function compileRouteMatch(m: RouteMatchJson | undefined): CompiledRouteMatch {
  const match = m ?? {};
  const caseSensitive = match.case_sensitive !== false;
  const low = (s: string) => (caseSensitive ? s : s.toLowerCase());
  let pathKind: PathKind = "none";
  let pathLiteral = "";
  let path: (p: string) => boolean = () => false;
  if (match.prefix !== undefined) {
    pathKind = "prefix";
    pathLiteral = match.prefix;
    const pre = low(match.prefix);
    // Envoy's prefix match sees the whole :path, query included.
    path = (p) => low(p).startsWith(pre);
  } else if (match.path !== undefined) {
    pathKind = "path";
    pathLiteral = match.path;
    const exact = low(match.path);
    path = (p) => low(pathOnly(p)) === exact;
  } else if (match.safe_regex !== undefined) {
    pathKind = "regex";
    const re = regexPredicate(match.safe_regex);
    path = (p) => re(pathOnly(p));
  } else if (match.path_separated_prefix !== undefined) {
    pathKind = "separated";
    pathLiteral = match.path_separated_prefix;
    const pre = low(match.path_separated_prefix);
    path = (p) => {
      const x = low(pathOnly(p));
      return x === pre || x.startsWith(`${pre}/`);
    };
  }
  const headers = (match.headers ?? []).map(headerMatcher);
  const query = (match.query_parameters ?? []).map(queryMatcher);
  const runtime = match.runtime_fraction?.default_value;
  const pct = runtime ? fraction(runtime) : undefined;
  // dynamic_metadata (JWT claims) never matches: the simulator has no authentication filter.
  const impossible = (match.dynamic_metadata?.length ?? 0) > 0;
  return {
    pathKind,
    pathLiteral,
    matches(req, rng) {
      if (impossible || !path(req.path)) return false;
      for (const h of headers) if (!h(req)) return false;
      if (query.length > 0) {
        const params = queryParams(req.path);
        for (const q of query) if (!q(params)) return false;
      }
      if (pct !== undefined && !(rng() < pct)) return false;
      return true;
    },
  };
}
