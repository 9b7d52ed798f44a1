// Lookup tables over one MeshState snapshot (built once per change, read per request).
import { resolveConfigHost, serviceFqdn } from "./hosts.js";
import type {
  ConfigMapInfo,
  DestinationRuleInfo,
  MeshState,
  PodInfo,
  ReplicaSetInfo,
  ServiceInfo,
  VirtualServiceInfo,
} from "./model.js";

export interface ResolvedVirtualService {
  vs: VirtualServiceInfo;
  /** Hosts resolved against the VS namespace (FQDN, literal or wildcard). */
  hosts: string[];
}

export interface ResolvedDestinationRule {
  dr: DestinationRuleInfo;
  host: string;
}

export class MeshIndex {
  readonly state: MeshState;
  private readonly servicesByFqdn = new Map<string, ServiceInfo>();
  private readonly podsByNamespace = new Map<string, PodInfo[]>();
  private readonly replicaSets = new Map<string, ReplicaSetInfo>();
  private readonly configMaps = new Map<string, ConfigMapInfo>();
  readonly namespaces = new Set<string>();
  /** Mesh-visible VirtualServices, oldest first (Istio's conflict rule). */
  readonly virtualServices: ResolvedVirtualService[];
  readonly destinationRules: ResolvedDestinationRule[];

  constructor(state: MeshState) {
    this.state = state;
    for (const s of state.services) {
      this.servicesByFqdn.set(serviceFqdn(s.name, s.namespace), s);
      this.namespaces.add(s.namespace);
    }
    for (const p of state.pods) {
      let list = this.podsByNamespace.get(p.namespace);
      if (!list) {
        list = [];
        this.podsByNamespace.set(p.namespace, list);
      }
      list.push(p);
      this.namespaces.add(p.namespace);
    }
    for (const rs of state.replicaSets) this.replicaSets.set(`${rs.namespace}/${rs.name}`, rs);
    for (const cm of state.configMaps) this.configMaps.set(`${cm.namespace}/${cm.name}`, cm);
    this.virtualServices = state.virtualServices
      .filter((vs) => {
        const gws = vs.spec.gateways ?? [];
        return gws.length === 0 || gws.includes("mesh");
      })
      .slice()
      .sort((a, b) => a.createdAt - b.createdAt || keyOf(a).localeCompare(keyOf(b)))
      .map((vs) => ({ vs, hosts: vs.spec.hosts.map((h) => resolveConfigHost(h, vs.namespace)) }));
    this.destinationRules = state.destinationRules
      .slice()
      .sort((a, b) => a.createdAt - b.createdAt || keyOf(a).localeCompare(keyOf(b)))
      .map((dr) => ({ dr, host: resolveConfigHost(dr.spec.host, dr.namespace) }));
  }

  service(fqdn: string): ServiceInfo | undefined {
    return this.servicesByFqdn.get(fqdn);
  }

  podsIn(namespace: string): readonly PodInfo[] {
    return this.podsByNamespace.get(namespace) ?? [];
  }

  replicaSet(namespace: string, name: string): ReplicaSetInfo | undefined {
    return this.replicaSets.get(`${namespace}/${name}`);
  }

  configMap(namespace: string, name: string): ConfigMapInfo | undefined {
    return this.configMaps.get(`${namespace}/${name}`);
  }
}

function keyOf(o: { namespace: string; name: string }): string {
  return `${o.namespace}/${o.name}`;
}
