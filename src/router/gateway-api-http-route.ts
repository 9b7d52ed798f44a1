// The HTTPRoute <svc> that splits traffic between the Services <svc>-primary and <svc>-canary, built
// like Flagger's GatewayAPIRouter (Reconcile + SetRoutes in one pure function; same name, parentRefs
// from spec.service.gatewayRefs, hostnames from spec.service.hosts, same rule layouts):
//   canary / blue-green  [ {matches: service.match | PathPrefix "/", filters, backendRefs: [primary 100-w, canary w]} ]
//   analysis.match (A/B) [ {matches: analysis.match x service.match, backendRefs: [primary, canary]},
//                          {matches: service.match, backendRefs: [primary 100]} ]
//   session affinity     [ sticky canary cookie -> canary, (sticky primary cookie -> primary),
//                          weighted rule whose backendRefs set the cookies ]
// Gateway API picks the most specific matching rule (more header matches win), so the cookie and A/B
// rules take precedence over the plain one as they do by order in a VirtualService.
//
// Without gatewayRefs the route attaches to the apex Service itself (GAMMA: mesh traffic to <svc>, the
// Gateway API's counterpart of Istio's default gateways [mesh]); Flagger requires gatewayRefs instead.
// Every field the API server would default is written out, so the stored spec equals the built one.
import type { Canary } from "../api/canary.js";
import { toRouteMatches } from "./gateway-api-matches.js";
import { sessionAffinityRules } from "./gateway-api-session-affinity.js";
import {
  type BackendObjectReference,
  GATEWAY_API_GROUP,
  type HTTPBackendRef,
  type HTTPHeaderFilter,
  type HTTPRoute,
  type HTTPRouteFilter,
  type HTTPRouteRule,
  type ParentReference,
} from "./gateway-api-types.js";
import { analysisOf } from "./istio-session-affinity.js";
import { mergeMatchConditions } from "./istio-virtual-service.js";
import { apexRouteMetadata } from "./ownership.js";
import type { RouteSplit } from "./router.js";
import { serviceNames } from "./services.js";

export const GATEWAY_API_V1 = `${GATEWAY_API_GROUP}/v1`;
export const GATEWAY_API_V1BETA1 = `${GATEWAY_API_GROUP}/v1beta1`;

/** spec.service.gatewayRefs with the API server's defaults, or the apex Service (mesh) when empty. */
export function parentRefs(canary: Pick<Canary, "spec">): ParentReference[] {
  const svc = canary.spec.service;
  const refs = svc.gatewayRefs ?? [];
  if (refs.length === 0)
    return [{ group: "", kind: "Service", name: serviceNames(canary).apex, port: svc.port }];
  return refs.map((ref) => {
    const kind = ref.kind ?? "Gateway";
    // Flagger's Linkerd tutorial writes group "core" for a Service; the Gateway API (and Istio) spell it "".
    const group = kind === "Service" && ref.group === "core" ? "" : (ref.group ?? GATEWAY_API_GROUP);
    return { ...structuredClone(ref), group, kind };
  });
}

export function backendRef(name: string, port: number): BackendObjectReference {
  return { group: "", kind: "Service", name, port };
}

function weighted(name: string, port: number, weight: number): HTTPBackendRef {
  return { ...backendRef(name, port), weight };
}

function headerFilter(ops: {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}) {
  const list = (map: Record<string, string> | undefined) =>
    Object.keys(map ?? {})
      .sort()
      .map((name) => ({ name, value: map?.[name] ?? "" }));
  const out: HTTPHeaderFilter = {};
  if (ops.set && Object.keys(ops.set).length > 0) out.set = list(ops.set);
  if (ops.add && Object.keys(ops.add).length > 0) out.add = list(ops.add);
  if (ops.remove && ops.remove.length > 0) out.remove = [...ops.remove];
  return out;
}

/** Flagger's makeFilters: header modifiers, URL rewrite, then spec.service.mirror. */
export function ruleFilters(canary: Pick<Canary, "spec">): HTTPRouteFilter[] {
  const svc = canary.spec.service;
  const filters: HTTPRouteFilter[] = [];
  if (svc.headers?.request)
    filters.push({ type: "RequestHeaderModifier", requestHeaderModifier: headerFilter(svc.headers.request) });
  if (svc.headers?.response)
    filters.push({
      type: "ResponseHeaderModifier",
      responseHeaderModifier: headerFilter(svc.headers.response),
    });
  const rw = svc.rewrite;
  if (rw !== undefined && (rw.uri !== undefined || rw.authority !== undefined)) {
    const filter: HTTPRouteFilter = { type: "URLRewrite", urlRewrite: {} };
    if (rw.authority !== undefined && filter.urlRewrite) filter.urlRewrite.hostname = rw.authority;
    if (rw.uri !== undefined && filter.urlRewrite) {
      filter.urlRewrite.path =
        rw.type === "ReplacePrefixMatch"
          ? { type: "ReplacePrefixMatch", replacePrefixMatch: rw.uri }
          : { type: "ReplaceFullPath", replaceFullPath: rw.uri };
    }
    filters.push(filter);
  }
  for (const m of svc.mirror ?? []) {
    const ref = m.backendRef;
    const mirrorRef: BackendObjectReference = {
      group: ref.group ?? "",
      kind: ref.kind ?? "Service",
      name: ref.name,
    };
    if (ref.namespace !== undefined) mirrorRef.namespace = ref.namespace;
    if (ref.port !== undefined) mirrorRef.port = ref.port;
    filters.push({ type: "RequestMirror", requestMirror: { backendRef: mirrorRef } });
  }
  return filters;
}

/** The fields every generated rule shares: spec.service.match, filters, timeouts. */
export function ruleTemplate(canary: Pick<Canary, "spec">): HTTPRouteRule {
  const svc = canary.spec.service;
  const rule: HTTPRouteRule = { matches: toRouteMatches(svc.match) };
  const filters = ruleFilters(canary);
  if (filters.length > 0) rule.filters = filters;
  if (svc.timeout !== undefined || svc.backendTimeout !== undefined) {
    rule.timeouts = {};
    if (svc.timeout !== undefined) rule.timeouts.request = svc.timeout;
    if (svc.backendTimeout !== undefined) rule.timeouts.backendRequest = svc.backendTimeout;
  }
  return rule;
}

function httpRules(canary: Canary, split: RouteSplit): HTTPRouteRule[] {
  const names = serviceNames(canary);
  const port = canary.spec.service.port;
  const template = ruleTemplate(canary);
  const backends = (): HTTPBackendRef[] => [
    weighted(names.primary, port, split.primaryWeight),
    weighted(names.canary, port, split.canaryWeight),
  ];
  const analysis = analysisOf(canary);
  const abMatch = analysis?.match ?? [];
  if (abMatch.length > 0) {
    const merged = mergeMatchConditions(abMatch, canary.spec.service.match ?? []);
    return [
      { ...structuredClone(template), matches: toRouteMatches(merged), backendRefs: backends() },
      { ...structuredClone(template), backendRefs: [weighted(names.primary, port, 100)] },
    ];
  }
  const rule: HTTPRouteRule = { ...structuredClone(template), backendRefs: backends() };
  if (split.mirror === true) {
    const mirrorWeight = analysis?.mirrorWeight ?? 0;
    const mirror: HTTPRouteFilter = {
      type: "RequestMirror",
      requestMirror: { backendRef: backendRef(names.canary, port) },
    };
    if (mirrorWeight > 0 && mirror.requestMirror) mirror.requestMirror.percent = mirrorWeight;
    rule.filters = [...(rule.filters ?? []), mirror];
  }
  return sessionAffinityRules(canary, rule, split);
}

/** The desired HTTPRoute for the split, written at `apiVersion` (v1, or v1beta1 for gatewayapi:v1beta1). */
export function buildHttpRoute(
  canary: Canary,
  split: RouteSplit,
  apiVersion: string = GATEWAY_API_V1,
): HTTPRoute {
  const names = serviceNames(canary);
  const hosts = [...new Set(canary.spec.service.hosts ?? [])];
  const spec: HTTPRoute["spec"] = { parentRefs: parentRefs(canary) };
  if (hosts.length > 0) spec.hostnames = hosts;
  spec.rules = httpRules(canary, split);
  return {
    apiVersion,
    kind: "HTTPRoute",
    metadata: apexRouteMetadata(canary, names.apex),
    spec,
  };
}
