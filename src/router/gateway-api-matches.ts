// Istio-shaped match conditions (spec.service.match, analysis.match: Flagger's API) written as
// Gateway API HTTPRouteMatches. Only what validate-gateway-api.ts lets through reaches this file:
// uri, method, headers and queryParams. Prefixes and suffixes of headers and query parameters have no
// HTTPRoute match type, so they become RE2 regular expressions matching the same values (Istio, the
// implementation Serin is tested with, evaluates RegularExpression with RE2 against the whole value).
//
// Every match is written with the defaults the API server would fill in (path PathPrefix "/", header
// type Exact), so the stored object equals the built one and an unchanged route is never rewritten.
import type { HttpMatch, StringMatch } from "../api/canary.js";
import type { HTTPHeaderMatch, HTTPPathMatch, HTTPRouteMatch } from "./gateway-api-types.js";

export const DEFAULT_PATH_MATCH: HTTPPathMatch = { type: "PathPrefix", value: "/" };

/** RE2 source matching `text` literally. */
export function quoteRe2(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

function valueMatch(name: string, sm: StringMatch): HTTPHeaderMatch {
  if (sm.exact !== undefined) return { type: "Exact", name, value: sm.exact };
  if (sm.regex !== undefined) return { type: "RegularExpression", name, value: sm.regex };
  if (sm.prefix !== undefined) return { type: "RegularExpression", name, value: `${quoteRe2(sm.prefix)}.*` };
  if (sm.suffix !== undefined) return { type: "RegularExpression", name, value: `.*${quoteRe2(sm.suffix)}` };
  // Istio reads an empty StringMatch as "the header is present".
  return { type: "RegularExpression", name, value: ".*" };
}

function pathMatch(uri: StringMatch | undefined): HTTPPathMatch {
  if (uri === undefined) return { ...DEFAULT_PATH_MATCH };
  if (uri.exact !== undefined) return { type: "Exact", value: uri.exact };
  // Flagger's mapping: an Istio uri prefix is a PathPrefix (which matches whole path segments).
  if (uri.prefix !== undefined) return { type: "PathPrefix", value: uri.prefix };
  if (uri.regex !== undefined) return { type: "RegularExpression", value: uri.regex };
  if (uri.suffix !== undefined) return { type: "RegularExpression", value: `.*${quoteRe2(uri.suffix)}` };
  return { ...DEFAULT_PATH_MATCH };
}

function sortedValueMatches(map: Readonly<Record<string, StringMatch>> | undefined): HTTPHeaderMatch[] {
  return Object.keys(map ?? {})
    .sort()
    .map((name) => valueMatch(name, map?.[name] ?? {}));
}

/** One Istio match as an HTTPRouteMatch. */
export function toRouteMatch(m: HttpMatch): HTTPRouteMatch {
  const out: HTTPRouteMatch = { path: pathMatch(m.uri) };
  const headers = sortedValueMatches(m.headers);
  if (headers.length > 0) out.headers = headers;
  const query = sortedValueMatches(m.queryParams);
  if (query.length > 0) out.queryParams = query;
  if (m.method?.exact !== undefined) out.method = m.method.exact;
  return out;
}

/** The matches of a rule: the given ones, or "every request" (path prefix "/") when there are none. */
export function toRouteMatches(matches: readonly HttpMatch[] | undefined): HTTPRouteMatch[] {
  const list = matches ?? [];
  return list.length === 0 ? [{ path: { ...DEFAULT_PATH_MATCH } }] : list.map(toRouteMatch);
}
