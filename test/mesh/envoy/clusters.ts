// CDS + EDS: a cluster's load-balancing policy, circuit breakers, outlier detection and hosts.
import type {
  ClusterJson,
  ClusterLoadAssignmentJson,
  JsonObject,
  OutlierDetectionJson,
  ThresholdsJson,
} from "./xds-json.js";
import { durationMs, parseClusterName } from "./xds-json.js";

export type LbPolicy =
  | "ROUND_ROBIN"
  | "LEAST_REQUEST"
  | "RANDOM"
  | "RING_HASH"
  | "MAGLEV"
  | "CLUSTER_PROVIDED";

export interface Host {
  /** `ip:port`. */
  key: string;
  address: string;
  port: number;
  weight: number;
  /** HEALTHY or UNKNOWN (Envoy routes to both); DEGRADED hosts are used only when no healthy one is left. */
  health: "healthy" | "degraded" | "unhealthy";
  priority: number;
}

export interface CircuitBreakerLimits {
  maxConnections: number;
  maxPending: number;
  maxRequests: number;
  maxRetries: number;
}

export interface OutlierConfig {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcing5xx: number;
  enforcingGateway: number;
  intervalMs: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectionPercent: number;
}

export interface ServiceOfCluster {
  /** FQDN of the destination service (`catalog.shop.svc.cluster.local`). */
  host: string;
  port: number;
  subset: string;
}

export interface CompiledCluster {
  name: string;
  type: "EDS" | "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "ORIGINAL_DST" | "OTHER";
  service: ServiceOfCluster | undefined;
  lbPolicy: LbPolicy;
  limits: CircuitBreakerLimits;
  outlier: OutlierConfig | undefined;
  /** Percent of healthy hosts under which Envoy's panic mode routes to all hosts; 0 disables it. */
  panicThreshold: number;
  hosts: Host[];
}

/** Envoy's built-in circuit breaker defaults (no circuit_breakers on the cluster). */
export const ENVOY_DEFAULT_LIMITS: CircuitBreakerLimits = {
  maxConnections: 1024,
  maxPending: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

function limit(n: number | undefined, dflt: number): number {
  if (n === undefined) return dflt;
  return n >= 4294967295 ? Number.POSITIVE_INFINITY : n;
}

function limitsOf(t: ThresholdsJson[] | undefined): CircuitBreakerLimits {
  const d = (t ?? []).find((x) => (x.priority ?? "DEFAULT") === "DEFAULT");
  if (!d) return { ...ENVOY_DEFAULT_LIMITS };
  return {
    maxConnections: limit(d.max_connections, ENVOY_DEFAULT_LIMITS.maxConnections),
    maxPending: limit(d.max_pending_requests, ENVOY_DEFAULT_LIMITS.maxPending),
    maxRequests: limit(d.max_requests, ENVOY_DEFAULT_LIMITS.maxRequests),
    maxRetries: limit(d.max_retries, ENVOY_DEFAULT_LIMITS.maxRetries),
  };
}

function outlierOf(o: OutlierDetectionJson | undefined): OutlierConfig | undefined {
  if (!o) return undefined;
  const base = durationMs(o.base_ejection_time) ?? 30_000;
  return {
    consecutive5xx: o.consecutive_5xx ?? 5,
    consecutiveGatewayFailure: o.consecutive_gateway_failure ?? 5,
    enforcing5xx: o.enforcing_consecutive_5xx ?? 100,
    enforcingGateway: o.enforcing_consecutive_gateway_failure ?? 0,
    intervalMs: durationMs(o.interval) ?? 10_000,
    baseEjectionMs: base,
    maxEjectionMs: Math.max(base, durationMs(o.max_ejection_time) ?? 300_000),
    maxEjectionPercent: o.max_ejection_percent ?? 10,
  };
}

export function hostsOf(cla: ClusterLoadAssignmentJson | undefined): Host[] {
  const out: Host[] = [];
  for (const loc of cla?.endpoints ?? []) {
    for (const e of loc.lb_endpoints ?? []) {
      const sa = e.endpoint?.address?.socket_address;
      if (!sa?.address) continue;
      const port = sa.port_value ?? 0;
      const status = e.health_status ?? "UNKNOWN";
      out.push({
        key: `${sa.address}:${port}`,
        address: sa.address,
        port,
        weight: Math.max(1, e.load_balancing_weight ?? 1),
        health:
          status === "HEALTHY" || status === "UNKNOWN"
            ? "healthy"
            : status === "DEGRADED"
              ? "degraded"
              : "unhealthy",
        priority: loc.priority ?? 0,
      });
    }
  }
  return out;
}

export function compileCluster(
  name: string,
  json: JsonObject,
  endpoints: ReadonlyMap<string, JsonObject>,
): CompiledCluster {
  const c = json as ClusterJson;
  const clusterName = c.name ?? name;
  const type = c.type ?? (c.cluster_type ? "OTHER" : "STATIC");
  let hosts: Host[];
  if (type === "EDS") {
    const edsName = c.eds_cluster_config?.service_name || clusterName;
    hosts = hostsOf(endpoints.get(edsName) as ClusterLoadAssignmentJson | undefined);
  } else hosts = hostsOf(c.load_assignment);
  const parsed = parseClusterName(clusterName);
  const threshold = c.common_lb_config?.healthy_panic_threshold;
  return {
    name: clusterName,
    type:
      type === "EDS" ||
      type === "STATIC" ||
      type === "STRICT_DNS" ||
      type === "LOGICAL_DNS" ||
      type === "ORIGINAL_DST"
        ? type
        : "OTHER",
    service:
      parsed && parsed.direction === "outbound"
        ? { host: parsed.host, port: parsed.port, subset: parsed.subset }
        : undefined,
    lbPolicy: c.lb_policy ?? "ROUND_ROBIN",
    limits: limitsOf(c.circuit_breakers?.thresholds),
    outlier: outlierOf(c.outlier_detection),
    // Envoy's default panic threshold is 50 %; a present Percent without value is 0 (disabled).
    panicThreshold: threshold === undefined ? 50 : (threshold.value ?? 0),
    hosts,
  };
}
