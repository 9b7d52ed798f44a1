// provider "gatewayapi:v1" / "gatewayapi:v1beta1": one generated HTTPRoute <svc> (gateway-api-http-route.ts),
// and readHttpRouteWeights, its GetRoutes, which observes the split on a live object.
import type { Canary } from "../api/canary.js";
import type { RoutingProvider } from "../api/providers.js";
import { buildHttpRoute, GATEWAY_API_V1, GATEWAY_API_V1BETA1 } from "./gateway-api-http-route.js";
import type { HTTPBackendRef, HTTPRouteRule, HTTPRouteSpec } from "./gateway-api-types.js";
import { analysisOf } from "./istio-session-affinity.js";
import type { ObservedRoutes, Router, RoutingRef } from "./router.js";
import { serviceNames } from "./services.js";

function weightOf(ref: HTTPBackendRef, refs: readonly HTTPBackendRef[]): number {
  // A sole backend receives everything whatever its weight (0 aside); the API server defaults weight to 1.
  if (refs.length === 1) return (ref.weight ?? 1) === 0 ? 0 : 100;
  return ref.weight ?? 1;
}

/**
 * Reads the current split from a live HTTPRoute (Flagger's GetRoutes): the last rule that sends to the
 * canary Service is the weighted one in every layout; with session affinity the rule whose backendRefs
 * set cookies wins. Errors when no rule carries the primary or the canary.
 */
export function readHttpRouteWeights(
  spec: HTTPRouteSpec,
  canary: Canary,
): ObservedRoutes | { error: string } {
  const names = serviceNames(canary);
  const rules: HTTPRouteRule[] = spec.rules ?? [];
  const sendsToCanary = (r: HTTPRouteRule) => (r.backendRefs ?? []).some((b) => b.name === names.canary);
  let weighted = rules.findLast(sendsToCanary);
  if (analysisOf(canary)?.sessionAffinity !== undefined) {
    weighted = rules.find((r) => (r.backendRefs ?? []).some((b) => (b.filters ?? []).length > 0)) ?? weighted;
  }
  let primaryWeight = 0;
  let canaryWeight = 0;
  const refs = weighted?.backendRefs ?? [];
  for (const ref of refs) {
    if (ref.name === names.primary) primaryWeight = weightOf(ref, refs);
    if (ref.name === names.canary) canaryWeight = weightOf(ref, refs);
  }
  const mirrored = (weighted?.filters ?? []).some(
    (f) => f.type === "RequestMirror" && f.requestMirror?.backendRef.name === names.canary,
  );
  if (primaryWeight === 0 && canaryWeight === 0) {
    return { error: `HTTPRoute ${names.apex} does not route to ${names.primary} and ${names.canary}` };
  }
  return { primaryWeight, canaryWeight, mirrored };
}

export function gatewayApiRouter(provider: RoutingProvider): Router {
  const apiVersion = provider === "gatewayapi:v1beta1" ? GATEWAY_API_V1BETA1 : GATEWAY_API_V1;
  const routeRef = (canary: Pick<Canary, "spec">): RoutingRef => ({
    apiVersion,
    kind: "HTTPRoute",
    name: serviceNames(canary).apex,
  });
  return {
    provider,
    desired: (canary, split) => [{ write: "owned", object: buildHttpRoute(canary, split, apiVersion) }],
    routeRef,
    getRoutes: (live, canary) => readHttpRouteWeights(live.spec as HTTPRouteSpec, canary),
    finalize: (canary) => [routeRef(canary)],
    giveBack: () => [],
    generated: (canary) => [routeRef(canary)],
  };
}
