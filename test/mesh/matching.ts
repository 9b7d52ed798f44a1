// Istio HTTPMatchRequest evaluation (what Envoy's route matcher does with the config Istio generates).
import type { HttpMatchRequest, StringMatch } from "./istio-types.js";

/** What a match can look at. Header names are lower case; repeated headers are joined with ",". */
export interface RequestFacts {
  method: string;
  /** Path as sent, with the query string. */
  path: string;
  /** The Host / :authority header as sent (with port if any). */
  authority: string;
  scheme: string;
  headers: Readonly<Record<string, string | undefined>>;
  /** The service port the client addressed (Envoy's listener port). */
  port: number;
  source: { labels: Readonly<Record<string, string>>; namespace: string };
}

const regexCache = new Map<string, RegExp | null>();

/** RE2 semantics as Envoy uses them: the regex must match the whole value. Invalid regexes never match. */
export function fullRegex(source: string): RegExp | null {
  let re = regexCache.get(source);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${source})$`, "s");
    } catch {
      re = null;
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(source, re);
  }
  return re;
}

/** `{}` (or Istio's `regex: "*"`) means "present, any value". */
export function isPresenceMatch(m: StringMatch | null | undefined): boolean {
  if (m === null || m === undefined) return true;
  if (m.exact === undefined && m.prefix === undefined && m.regex === undefined) return true;
  return m.regex === "*";
}

/** Value-level StringMatch (exact / prefix / full-match regex). */
export function stringMatches(m: StringMatch, value: string, ignoreCase = false): boolean {
  if (m.exact !== undefined) {
    return ignoreCase ? value.toLowerCase() === m.exact.toLowerCase() : value === m.exact;
  }
  if (m.prefix !== undefined) {
    return ignoreCase ? value.toLowerCase().startsWith(m.prefix.toLowerCase()) : value.startsWith(m.prefix);
  }
  if (m.regex !== undefined) {
    const re = fullRegex(m.regex);
    return re?.test(value) === true;
  }
  return true;
}

/** A header-style matcher against a possibly missing value. */
function presentAndMatches(m: StringMatch | null | undefined, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (isPresenceMatch(m) || m === null || m === undefined) return true;
  return stringMatches(m, value);
}

function splitPath(path: string): { pathOnly: string; query: string } {
  const q = path.indexOf("?");
  return q < 0 ? { pathOnly: path, query: "" } : { pathOnly: path.slice(0, q), query: path.slice(q + 1) };
}

function uriMatches(m: StringMatch, path: string, ignoreCase: boolean): boolean {
  const { pathOnly } = splitPath(path);
  // Envoy: prefix is compared with the whole :path; exact and regex with the path minus the query string.
  if (m.prefix !== undefined) return stringMatches({ prefix: m.prefix }, path, ignoreCase);
  if (m.exact !== undefined) return stringMatches({ exact: m.exact }, pathOnly, ignoreCase);
  return stringMatches(m, pathOnly, false);
}

function queryValue(query: string, name: string): string | undefined {
  if (query === "") return undefined;
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    let key = rawKey;
    try {
      key = decodeURIComponent(rawKey.replace(/\+/g, " "));
    } catch {
      // keep the raw key
    }
    if (key !== name) continue;
    const rawVal = eq < 0 ? "" : part.slice(eq + 1);
    try {
      return decodeURIComponent(rawVal.replace(/\+/g, " "));
    } catch {
      return rawVal;
    }
  }
  return undefined;
}

/**
 * Whether a match entry applies to this client at all (Istio decides this when it builds the sidecar's
 * config): `gateways` on the match must name `mesh`; otherwise `sourceLabels` must be a subset of the
 * client's labels and `sourceNamespace` equal its namespace; `port` must be the addressed port.
 */
export function matchAppliesToSource(match: HttpMatchRequest, req: RequestFacts): boolean {
  if (match.port !== undefined && match.port !== 0 && match.port !== req.port) return false;
  if (match.gateways && match.gateways.length > 0) return match.gateways.includes("mesh");
  for (const [k, v] of Object.entries(match.sourceLabels ?? {})) {
    if (req.source.labels[k] !== v) return false;
  }
  return !match.sourceNamespace || match.sourceNamespace === req.source.namespace;
}

/** All conditions of one match entry (AND). */
export function matchRequest(match: HttpMatchRequest, req: RequestFacts): boolean {
  if (!matchAppliesToSource(match, req)) return false;
  if (match.uri && !uriMatches(match.uri, req.path, match.ignoreUriCase === true)) return false;
  if (match.method && !presentAndMatches(match.method, req.method)) return false;
  if (match.authority && !presentAndMatches(match.authority, req.authority)) return false;
  if (match.scheme && !presentAndMatches(match.scheme, req.scheme)) return false;
  for (const [name, m] of Object.entries(match.headers ?? {})) {
    if (!presentAndMatches(m, req.headers[name.toLowerCase()])) return false;
  }
  for (const [name, m] of Object.entries(match.withoutHeaders ?? {})) {
    const value = req.headers[name.toLowerCase()];
    // Istio inverts the header matcher; a missing header counts as "" unless it is a presence check.
    const matched = isPresenceMatch(m) ? value !== undefined : presentAndMatches(m, value ?? "");
    if (matched) return false;
  }
  const { query } = splitPath(req.path);
  for (const [name, m] of Object.entries(match.queryParams ?? {})) {
    if (!presentAndMatches(m, queryValue(query, name))) return false;
  }
  return true;
}

/** `match` entries are OR'ed; a route without entries matches everything. Returns the entry that matched. */
export function routeMatches(
  matches: readonly HttpMatchRequest[] | undefined,
  req: RequestFacts,
): { matched: boolean; entry: HttpMatchRequest | undefined } {
  if (!matches || matches.length === 0) return { matched: true, entry: undefined };
  for (const m of matches) {
    if (matchRequest(m, req)) return { matched: true, entry: m };
  }
  return { matched: false, entry: undefined };
}
