// The parts of Istio's VirtualService (networking.istio.io) that Serin writes and reads back.
// Index signatures keep fields Serin does not model (fault, directResponse, ...) when a live object
// is read, so passing it through a typed function never loses data.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { CorsPolicy, Headers, HttpMatch, HttpRetry } from "../api/istio.js";

export interface PortSelector {
  number: number;
}

export interface Destination {
  host: string;
  subset?: string;
  port?: PortSelector;
}

export interface HTTPRouteDestination {
  destination: Destination;
  /** Relative weight; Istio omits 0 on read, and a sole destination gets all traffic regardless. */
  weight?: number;
  /** Per-destination header operations (session affinity sets cookies here). */
  headers?: Headers;
}

export interface HTTPRewrite {
  uri?: string;
  authority?: string;
  [field: string]: unknown;
}

export interface HTTPRoute {
  name?: string;
  match?: HttpMatch[];
  route?: HTTPRouteDestination[];
  rewrite?: HTTPRewrite;
  timeout?: string;
  retries?: HttpRetry;
  corsPolicy?: CorsPolicy;
  headers?: Headers;
  mirror?: Destination;
  mirrorPercentage?: { value: number };
  [field: string]: unknown;
}

export interface L4MatchAttributes {
  port?: number;
  [field: string]: unknown;
}

export interface TCPRoute {
  match?: L4MatchAttributes[];
  route?: HTTPRouteDestination[];
  [field: string]: unknown;
}

export interface VirtualServiceSpec {
  hosts?: string[];
  gateways?: string[];
  http?: HTTPRoute[];
  tcp?: TCPRoute[];
  [field: string]: unknown;
}

export interface VirtualService {
  apiVersion: string;
  kind: "VirtualService";
  metadata: V1ObjectMeta;
  spec: VirtualServiceSpec;
}
