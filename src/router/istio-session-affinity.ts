// Cookie-based session affinity (analysis.sessionAffinity), as Flagger's Istio router does it:
// while the canary gets traffic, responses from the canary set a random cookie and a "sticky"
// route sends requests carrying it to the canary; with primaryCookieName the primary does the same
// for its users. When the canary weight drops to 0 the last cookie is expired by a route that
// matches it and answers with Max-Age=-1.
//
// Flagger mutates status inside its router; here the cookie bookkeeping is a pure function
// (nextSessionCookies) whose result the reconciler stores in status and passes to the builder.
import type { Canary, SessionAffinity } from "../api/canary.js";
import { DEFAULTS } from "../api/defaults.js";
import { parseDuration, tryParseDuration } from "../api/duration.js";
import type { HttpMatch } from "../api/istio.js";

/** "name=value" cookies, as kept in status.sessionAffinityCookie & co. */
export interface SessionCookies {
  /** Pins users to the canary during a run (status.sessionAffinityCookie). */
  canary?: string;
  /** Pins users to the primary during a run (status.primarySessionAffinityCookie). */
  primary?: string;
  /** The canary cookie of the finished run, expired on sight (status.previousSessionAffinityCookie). */
  previous?: string;
}

export const STICKY_ROUTE_NAME = "sticky-route";
export const STICKY_PRIMARY_ROUTE_NAME = "sticky-route-primary";

export function analysisOf(canary: Pick<Canary, "spec">) {
  // Flagger's GetAnalysis: the deprecated canaryAnalysis is honoured when analysis is absent.
  return canary.spec.analysis ?? canary.spec.canaryAnalysis;
}

/** The cookies as currently recorded in the Canary's status. */
export function statusCookies(canary: Pick<Canary, "status">): SessionCookies {
  const s = canary.status;
  const out: SessionCookies = {};
  if (s?.sessionAffinityCookie) out.canary = s.sessionAffinityCookie;
  if (s?.primarySessionAffinityCookie) out.primary = s.primarySessionAffinityCookie;
  if (s?.previousSessionAffinityCookie) out.previous = s.previousSessionAffinityCookie;
  return out;
}

/** 10 random letters, like Flagger's randSeq. Injected into nextSessionCookies to keep it pure. */
export function randomCookieValue(random: () => number = Math.random): string {
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  let out = "";
  for (let i = 0; i < 10; i++) out += letters[Math.floor(random() * letters.length)] ?? "a";
  return out;
}

/**
 * The cookies to use for a routing step at `canaryWeight`: keep the run's cookies while the canary
 * gets traffic (minting them on first use), and retire them when it gets none. The result goes to
 * status and to buildVirtualService.
 */
export function nextSessionCookies(
  canary: Pick<Canary, "spec" | "status">,
  canaryWeight: number,
  mint: () => string = randomCookieValue,
): SessionCookies {
  const affinity = analysisOf(canary)?.sessionAffinity;
  const current = statusCookies(canary);
  if (affinity === undefined) return current;
  if (canaryWeight !== 0) {
    const next: SessionCookies = { canary: current.canary ?? `${affinity.cookieName}=${mint()}` };
    if (affinity.primaryCookieName)
      next.primary = current.primary ?? `${affinity.primaryCookieName}=${mint()}`;
    if (current.previous) next.previous = current.previous;
    return next;
  }
  const previous = current.canary ?? current.previous;
  return previous ? { previous } : {};
}

/** Set-Cookie value for a cookie: Max-Age plus the optional attributes of sessionAffinity. */
export function buildSetCookie(cookie: string, affinity: SessionAffinity, maxAgeSeconds?: number): string {
  const parts = [cookie, `Max-Age=${maxAgeSeconds ?? affinity.maxAge ?? DEFAULTS.sessionAffinityMaxAge}`];
  if (affinity.domain) parts.push(`Domain=${affinity.domain}`);
  if (affinity.path) parts.push(`Path=${affinity.path}`);
  if (affinity.httpOnly) parts.push("HttpOnly");
  if (affinity.secure) parts.push("Secure");
  if (affinity.partitioned) parts.push("Partitioned");
  if (affinity.sameSite) parts.push(`SameSite=${affinity.sameSite}`);
  return parts.join("; ");
}

/** Max-Age of the primary cookie: one analysis interval, so primary users are re-dealt every step. */
export function primaryCookieMaxAge(canary: Pick<Canary, "spec">): number {
  const interval = analysisOf(canary)?.interval;
  const ms =
    (interval === undefined ? undefined : tryParseDuration(interval)) ??
    parseDuration(DEFAULTS.analysisInterval);
  return Math.floor(ms / 1000);
}

function escapeRegex(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** Istio match on the Cookie header carrying "name=value" (RE2, whole header value). */
export function cookieMatch(cookie: string): HttpMatch {
  const eq = cookie.indexOf("=");
  const name = eq < 0 ? cookie : cookie.slice(0, eq);
  const value = eq < 0 ? "" : cookie.slice(eq + 1);
  return { headers: { Cookie: { regex: `.*${escapeRegex(name)}.*${escapeRegex(value)}.*` } } };
}
