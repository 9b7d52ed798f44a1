// Cookie-based session affinity (analysis.sessionAffinity) on an HTTPRoute, as Flagger's
// GatewayAPIRouter does it and with the same cookie bookkeeping as the Istio router
// (istio-session-affinity.ts: the cookies come from status, minted by nextSessionCookies):
//   - while the canary gets traffic, the weighted rule's canary backendRef answers with
//     Set-Cookie <cookie> (a backendRef ResponseHeaderModifier filter), and a sticky rule matching
//     that cookie sends its holder to the canary; primaryCookieName does the same for the primary;
//   - when the canary is back to 0, a rule matching the last cookie expires it (Max-Age=-1).
// The sticky rule has one header match more than the weighted rule, so the Gateway API's precedence
// (more header matches first) picks it for a request carrying the cookie.
import type { Canary } from "../api/canary.js";
import { toRouteMatches } from "./gateway-api-matches.js";
import type { HTTPBackendRef, HTTPRouteFilter, HTTPRouteRule } from "./gateway-api-types.js";
import {
  analysisOf,
  buildSetCookie,
  cookieMatch,
  primaryCookieMaxAge,
  statusCookies,
} from "./istio-session-affinity.js";
import { mergeMatchConditions } from "./istio-virtual-service.js";
import type { RouteSplit } from "./router.js";
import { serviceNames } from "./services.js";

function setCookie(value: string): HTTPRouteFilter {
  return { type: "ResponseHeaderModifier", responseHeaderModifier: { add: [{ name: "Set-Cookie", value }] } };
}

/** A rule's filters with one more Set-Cookie added (one ResponseHeaderModifier per rule, as the API requires). */
function withSetCookie(filters: readonly HTTPRouteFilter[] | undefined, value: string): HTTPRouteFilter[] {
  const out = structuredClone([...(filters ?? [])]);
  const existing = out.find((f) => f.type === "ResponseHeaderModifier");
  if (existing === undefined) return [...out, setCookie(value)];
  const mod = existing.responseHeaderModifier ?? {};
  mod.add = [...(mod.add ?? []), { name: "Set-Cookie", value }];
  existing.responseHeaderModifier = mod;
  return out;
}

function stickyRule(
  canary: Canary,
  weighted: HTTPRouteRule,
  cookie: string,
  primary: number,
  canaryWeight: number,
): HTTPRouteRule {
  const names = serviceNames(canary);
  const port = canary.spec.service.port;
  const matches = mergeMatchConditions([cookieMatch(cookie)], canary.spec.service.match ?? []);
  const backend = (name: string, weight: number): HTTPBackendRef => ({
    group: "",
    kind: "Service",
    name,
    port,
    weight,
  });
  const { backendRefs: _weights, ...rest } = structuredClone(weighted);
  return {
    ...rest,
    matches: toRouteMatches(matches),
    backendRefs: [backend(names.primary, primary), backend(names.canary, canaryWeight)],
  };
}

/** The rules for `weighted` with session affinity, or [weighted] when the Canary has none. */
export function sessionAffinityRules(
  canary: Canary,
  weighted: HTTPRouteRule,
  split: RouteSplit,
): HTTPRouteRule[] {
  const affinity = analysisOf(canary)?.sessionAffinity;
  if (affinity === undefined) return [weighted];
  const cookies = split.cookies ?? statusCookies(canary);
  const names = serviceNames(canary);
  if (split.canaryWeight !== 0) {
    if (cookies.canary === undefined) return [weighted]; // no cookie minted yet: plain split
    const canaryCookie = cookies.canary;
    const primaryCookie = cookies.primary;
    for (const ref of weighted.backendRefs ?? []) {
      if (ref.name === names.canary) ref.filters = [setCookie(buildSetCookie(canaryCookie, affinity))];
      else if (ref.name === names.primary && primaryCookie !== undefined)
        ref.filters = [setCookie(buildSetCookie(primaryCookie, affinity, primaryCookieMaxAge(canary)))];
    }
    const rules = [stickyRule(canary, weighted, canaryCookie, 0, 100)];
    if (primaryCookie !== undefined) rules.push(stickyRule(canary, weighted, primaryCookie, 100, 0));
    return [...rules, weighted];
  }
  if (cookies.previous !== undefined) {
    // The run is over: whoever still carries its cookie gets the primary and an expired cookie.
    const expire = stickyRule(canary, weighted, cookies.previous, split.primaryWeight, split.canaryWeight);
    expire.filters = withSetCookie(expire.filters, `${cookies.previous}; Max-Age=-1`);
    return [expire, weighted];
  }
  return [weighted];
}
