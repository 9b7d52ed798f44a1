// Hand-written xDS configuration in the form istiod generates it for a sidecar (route configs named by
// port, virtual hosts `FQDN:PORT` with Istio's domains, clusters `outbound|PORT|SUBSET|FQDN` with EDS),
// for unit tests that need no istiod. Real captured configs are in xds/fixtures/.
import { readFileSync } from "node:fs";
import type {
  ClusterJson,
  ClusterLoadAssignmentJson,
  JsonObject,
  RetryPolicyJson,
  RouteConfigurationJson,
  RouteJson,
  VirtualHostJson,
  XdsSnapshot,
} from "./envoy/xds-json.js";
import { serviceFqdn } from "./hosts.js";
import type { PodInfo, ServiceInfo } from "./model.js";

const MAX = 4294967295;

/** Istio's default retry policy (pilot's retry.DefaultPolicy()). */
export const ISTIO_DEFAULT_RETRY: RetryPolicyJson = {
  retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
  num_retries: 2,
  retry_host_predicate: [
    {
      name: "envoy.retry_host_predicates.previous_hosts",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate",
      },
    } as { name: string },
  ],
  host_selection_retry_max_attempts: "5",
};

export function clusterName(service: string, namespace: string, port = 80, subset = ""): string {
  return `outbound|${port}|${subset}|${serviceFqdn(service, namespace)}`;
}

/** A route action to one cluster with Istio's defaults (no timeout, default retries). */
export function routeTo(cluster: string, over: Partial<NonNullable<RouteJson["route"]>> = {}): RouteJson {
  return {
    name: "default",
    match: { prefix: "/" },
    route: {
      cluster,
      timeout: "0s",
      retry_policy: ISTIO_DEFAULT_RETRY,
      max_grpc_timeout: "0s",
      ...over,
    } as RouteJson["route"],
  };
}

/** Istio's virtual host for a service seen from a sidecar in `clientNamespace` (ports ignored in matching). */
export function virtualHost(
  service: string,
  namespace: string,
  routes: RouteJson[],
  opts: { port?: number; clientNamespace?: string; extra?: Partial<VirtualHostJson> } = {},
): VirtualHostJson {
  const port = opts.port ?? 80;
  const fqdn = serviceFqdn(service, namespace);
  const domains = [fqdn, `${service}.${namespace}.svc`, `${service}.${namespace}`];
  if ((opts.clientNamespace ?? namespace) === namespace) domains.splice(1, 0, service);
  return {
    name: `${fqdn}:${port}`,
    domains,
    routes,
    include_request_attempt_count: true,
    ...opts.extra,
  };
}

export const ALLOW_ANY: VirtualHostJson = {
  name: "allow_any",
  domains: ["*"],
  routes: [
    { name: "allow_any", match: { prefix: "/" }, route: { cluster: "PassthroughCluster", timeout: "0s" } },
  ],
};

export function routeConfig(port: number, virtualHosts: VirtualHostJson[]): RouteConfigurationJson {
  return {
    name: String(port),
    virtual_hosts: [...virtualHosts, ALLOW_ANY],
    validate_clusters: false,
    ignore_port_in_host_matching: true,
  } as RouteConfigurationJson;
}

/** Istio's outbound EDS cluster (LEAST_REQUEST, circuit breakers at their maximum). */
export function edsCluster(name: string, extra: Partial<ClusterJson> = {}): ClusterJson {
  return {
    name,
    type: "EDS",
    eds_cluster_config: { service_name: name },
    connect_timeout: "10s",
    lb_policy: "LEAST_REQUEST",
    circuit_breakers: {
      thresholds: [{ max_connections: MAX, max_pending_requests: MAX, max_requests: MAX, max_retries: MAX }],
    },
    common_lb_config: {},
    ...extra,
  };
}

export const PASSTHROUGH: ClusterJson = {
  name: "PassthroughCluster",
  type: "ORIGINAL_DST",
  lb_policy: "CLUSTER_PROVIDED",
};

export function loadAssignment(
  name: string,
  pods: readonly PodInfo[],
  port = 8080,
): ClusterLoadAssignmentJson {
  return {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: pods
          .filter((p) => p.podIP)
          .map((p) => ({
            endpoint: { address: { socket_address: { address: p.podIP, port_value: port } } },
            health_status: "HEALTHY" as const,
            load_balancing_weight: 1,
          })),
        load_balancing_weight: pods.length,
      },
    ],
  };
}

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>) {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

export interface MeshXdsInput {
  services: ServiceInfo[];
  pods: PodInfo[];
  /** DestinationRule subsets per service name: subset name -> labels. */
  subsets?: Record<string, Record<string, Record<string, string>>>;
  /** Routes of a service's virtual host (default: Istio's default route to the service). */
  routes?: Record<string, RouteJson[]>;
  /** Extra fields for a cluster, by cluster name. */
  clusterExtra?: Record<string, Partial<ClusterJson>>;
  clientNamespace?: string;
  version?: number;
}

/** What istiod would push to a sidecar: a virtual host per service port, clusters, endpoints. */
export function meshXds(input: MeshXdsInput): XdsSnapshot {
  const byPort = new Map<number, VirtualHostJson[]>();
  const clusters: ClusterJson[] = [PASSTHROUGH];
  const endpoints: ClusterLoadAssignmentJson[] = [];
  for (const svc of input.services) {
    const ready = input.pods.filter(
      (p) =>
        p.namespace === svc.namespace &&
        p.ready &&
        !p.terminating &&
        !!svc.selector &&
        selects(svc.selector, p.labels),
    );
    for (const { port } of svc.ports) {
      const name = clusterName(svc.name, svc.namespace, port);
      clusters.push(edsCluster(name, input.clusterExtra?.[name]));
      endpoints.push(loadAssignment(name, ready));
      for (const [subset, labels] of Object.entries(input.subsets?.[svc.name] ?? {})) {
        const sn = clusterName(svc.name, svc.namespace, port, subset);
        clusters.push(edsCluster(sn, input.clusterExtra?.[sn]));
        endpoints.push(
          loadAssignment(
            sn,
            ready.filter((p) => selects(labels, p.labels)),
          ),
        );
      }
      const routes = input.routes?.[svc.name] ?? [routeTo(name)];
      const list = byPort.get(port) ?? [];
      list.push(
        virtualHost(svc.name, svc.namespace, routes, { port, clientNamespace: input.clientNamespace }),
      );
      byPort.set(port, list);
    }
  }
  return snapshotOf({
    routes: [...byPort].map(([port, vhs]) => routeConfig(port, vhs)),
    clusters,
    endpoints,
    version: input.version,
  });
}

export function snapshotOf(parts: {
  routes?: RouteConfigurationJson[];
  clusters?: ClusterJson[];
  endpoints?: ClusterLoadAssignmentJson[];
  version?: number | undefined;
}): XdsSnapshot {
  const map = <T extends { name?: string; cluster_name?: string }>(list: T[] | undefined) =>
    new Map<string, JsonObject>((list ?? []).map((x) => [x.name ?? x.cluster_name ?? "", x as JsonObject]));
  return {
    version: parts.version ?? 1,
    listeners: new Map(),
    routes: map(parts.routes),
    clusters: map(parts.clusters),
    endpoints: map(parts.endpoints),
  };
}

/** A configuration istiod really generated (xds/fixtures/NAME.json), with the pods and Services behind it. */
export interface XdsFixture {
  description: string;
  identity: { namespace: string; labels: Record<string, string>; workload: string; serviceAccount: string };
  snapshot: XdsSnapshot;
  pods: PodInfo[];
  services: ServiceInfo[];
}

interface FixtureJson {
  description: string;
  identity: XdsFixture["identity"];
  services: Array<{
    name: string;
    selector?: Record<string, string>;
    ports: Array<{ name?: string; port: number }>;
  }>;
  pods: Array<{ name: string; ip: string; labels: Record<string, string> }>;
  config: Record<"listeners" | "routes" | "clusters" | "endpoints", Record<string, JsonObject>>;
}

export function loadXdsFixture(name: string): XdsFixture {
  const raw = JSON.parse(
    readFileSync(new URL(`./xds/fixtures/${name}.json`, import.meta.url), "utf8"),
  ) as FixtureJson;
  const namespace = raw.identity.namespace;
  const map = (m: Record<string, JsonObject>) => new Map(Object.entries(m));
  return {
    description: raw.description,
    identity: raw.identity,
    snapshot: {
      version: 1,
      listeners: map(raw.config.listeners),
      routes: map(raw.config.routes),
      clusters: map(raw.config.clusters),
      endpoints: map(raw.config.endpoints),
    },
    services: raw.services.map((s) => ({
      name: s.name,
      namespace,
      selector: s.selector,
      ports: s.ports.map((p) => ({ name: p.name, port: p.port })),
    })),
    pods: raw.pods.map((p) => {
      const hash = p.labels["pod-template-hash"] ?? "";
      const rs = hash && p.name.includes(`-${hash}-`) ? p.name.slice(0, p.name.lastIndexOf("-")) : p.name;
      return {
        name: p.name,
        namespace,
        labels: p.labels,
        ready: true,
        terminating: false,
        serviceAccount: "default",
        podIP: p.ip,
        owner: { kind: "ReplicaSet", name: rs },
        containers: [
          {
            name: "app",
            image: `${p.labels.app ?? p.name}:${p.labels.version ?? "latest"}`,
            env: [],
            envFromConfigMaps: [],
          },
        ],
      };
    }),
  };
}
