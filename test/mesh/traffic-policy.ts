// The DestinationRule trafficPolicy in force for one cluster (host + port + subset), merged the way
// Istio does: DR level, then its portLevelSettings for the port, then the subset's, then the subset's
// portLevelSettings; each of loadBalancer / connectionPool is replaced as a whole by the more specific one.
import type {
  ConnectionPoolSettings,
  DestinationRuleSpec,
  LoadBalancerSettings,
  TrafficPolicy,
} from "./istio-types.js";

export type LbPolicy =
  | { kind: "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST" }
  | { kind: "CONSISTENT_HASH"; hash: NonNullable<LoadBalancerSettings["consistentHash"]> };

export interface PoolLimits {
  /** tcp.maxConnections: requests in flight at once (HTTP/1.1: one per connection). */
  maxConnections: number;
  /** http.http1MaxPendingRequests: requests allowed to wait for a connection. */
  maxPending: number;
  /** http.http2MaxRequests: requests in flight at once to the cluster. */
  maxRequests: number;
}

export interface EffectivePolicy {
  lb: LbPolicy;
  pool: PoolLimits;
  /** outlierDetection is parsed but not simulated. */
  hasOutlierDetection: boolean;
}

type Components = Pick<TrafficPolicy, "loadBalancer" | "connectionPool" | "outlierDetection">;

function overlay(base: Components, top: Components | undefined): Components {
  if (!top) return base;
  return {
    loadBalancer: top.loadBalancer ?? base.loadBalancer,
    connectionPool: top.connectionPool ?? base.connectionPool,
    outlierDetection: top.outlierDetection ?? base.outlierDetection,
  };
}

function withPort(policy: TrafficPolicy | undefined, port: number | undefined): Components {
  if (!policy) return {};
  const base: Components = {
    loadBalancer: policy.loadBalancer,
    connectionPool: policy.connectionPool,
    outlierDetection: policy.outlierDetection,
  };
  const pls = port === undefined ? undefined : policy.portLevelSettings?.find((p) => p.port?.number === port);
  return overlay(base, pls);
}

function lbOf(lb: LoadBalancerSettings | undefined): LbPolicy {
  if (lb?.consistentHash) return { kind: "CONSISTENT_HASH", hash: lb.consistentHash };
  switch (lb?.simple) {
    case "RANDOM":
      return { kind: "RANDOM" };
    case "LEAST_REQUEST":
    case "LEAST_CONN":
      return { kind: "LEAST_REQUEST" };
    default:
      // ROUND_ROBIN, PASSTHROUGH and unset. (Istio >= 1.14 defaults to LEAST_REQUEST; with equal backends
      // both spread evenly, and round robin keeps the simulator's picks reproducible.)
      return { kind: "ROUND_ROBIN" };
  }
}

function limit(n: number | undefined): number {
  return n !== undefined && n > 0 ? n : Number.POSITIVE_INFINITY;
}

function poolOf(cp: ConnectionPoolSettings | undefined): PoolLimits {
  return {
    maxConnections: limit(cp?.tcp?.maxConnections),
    maxPending: limit(cp?.http?.http1MaxPendingRequests),
    maxRequests: limit(cp?.http?.http2MaxRequests),
  };
}

export function effectivePolicy(
  dr: DestinationRuleSpec | undefined,
  subsetName: string | undefined,
  port: number | undefined,
): EffectivePolicy {
  let c = withPort(dr?.trafficPolicy, port);
  if (dr && subsetName) {
    const subset = dr.subsets.find((s) => s.name === subsetName);
    if (subset?.trafficPolicy) c = overlay(c, withPort(subset.trafficPolicy, port));
  }
  return {
    lb: lbOf(c.loadBalancer),
    pool: poolOf(c.connectionPool),
    hasOutlierDetection: !!c.outlierDetection,
  };
}
