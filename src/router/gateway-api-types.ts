// The parts of the Gateway API HTTPRoute (gateway.networking.k8s.io, standard channel) that Serin
// writes and reads back. Index signatures keep fields Serin does not model when a live object is read.
import type { V1ObjectMeta } from "@kubernetes/client-node";

export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

export interface ParentReference {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
  [field: string]: unknown;
}

export interface BackendObjectReference {
  group: string;
  kind: string;
  name: string;
  namespace?: string;
  port?: number;
}

export interface HTTPHeader {
  name: string;
  value: string;
}

export interface HTTPHeaderFilter {
  set?: HTTPHeader[];
  add?: HTTPHeader[];
  remove?: string[];
}

export interface HTTPRequestMirrorFilter {
  backendRef: BackendObjectReference;
  percent?: number;
}

export interface HTTPURLRewriteFilter {
  hostname?: string;
  path?: { type: string; replaceFullPath?: string; replacePrefixMatch?: string };
}

export interface HTTPRouteFilter {
  type: "RequestHeaderModifier" | "ResponseHeaderModifier" | "RequestMirror" | "URLRewrite";
  requestHeaderModifier?: HTTPHeaderFilter;
  responseHeaderModifier?: HTTPHeaderFilter;
  requestMirror?: HTTPRequestMirrorFilter;
  urlRewrite?: HTTPURLRewriteFilter;
  [field: string]: unknown;
}

export interface HTTPPathMatch {
  type: "Exact" | "PathPrefix" | "RegularExpression";
  value: string;
}

export interface HTTPHeaderMatch {
  type: "Exact" | "RegularExpression";
  name: string;
  value: string;
}

export interface HTTPRouteMatch {
  path: HTTPPathMatch;
  headers?: HTTPHeaderMatch[];
  queryParams?: HTTPHeaderMatch[];
  method?: string;
}

export interface HTTPBackendRef extends BackendObjectReference {
  weight: number;
  filters?: HTTPRouteFilter[];
}

export interface HTTPRouteTimeouts {
  request?: string;
  backendRequest?: string;
}

export interface HTTPRouteRule {
  matches: HTTPRouteMatch[];
  filters?: HTTPRouteFilter[];
  backendRefs?: HTTPBackendRef[];
  timeouts?: HTTPRouteTimeouts;
  [field: string]: unknown;
}

export interface HTTPRouteSpec {
  parentRefs?: ParentReference[];
  hostnames?: string[];
  rules?: HTTPRouteRule[];
  [field: string]: unknown;
}

export interface HTTPRoute {
  apiVersion: string;
  kind: "HTTPRoute";
  metadata: V1ObjectMeta;
  spec: HTTPRouteSpec;
}
