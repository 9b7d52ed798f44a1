// Lookup tables over one MeshState snapshot (built once per change, read per request): pods by IP (what
// istiod's endpoints point at), pods by namespace, ReplicaSets and ConfigMaps.
import { serviceFqdn } from "./hosts.js";
import type { ConfigMapInfo, MeshState, PodInfo, ReplicaSetInfo, ServiceInfo } from "./model.js";

export class MeshIndex {
  readonly state: MeshState;
  private readonly servicesByFqdn = new Map<string, ServiceInfo>();
  private readonly podsByNamespace = new Map<string, PodInfo[]>();
  private readonly podsByIp = new Map<string, PodInfo>();
  private readonly replicaSets = new Map<string, ReplicaSetInfo>();
  private readonly configMaps = new Map<string, ConfigMapInfo>();
  readonly namespaces = new Set<string>();

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
      if (!p.podIP) continue;
      // Two pods can briefly share an IP (one terminating, one new): the live one wins.
      const prev = this.podsByIp.get(p.podIP);
      if (!prev || (prev.terminating && !p.terminating)) this.podsByIp.set(p.podIP, p);
    }
    for (const rs of state.replicaSets) this.replicaSets.set(`${rs.namespace}/${rs.name}`, rs);
    for (const cm of state.configMaps) this.configMaps.set(`${cm.namespace}/${cm.name}`, cm);
  }

  service(fqdn: string): ServiceInfo | undefined {
    return this.servicesByFqdn.get(fqdn);
  }

  podsIn(namespace: string): readonly PodInfo[] {
    return this.podsByNamespace.get(namespace) ?? [];
  }

  /** The pod with this status.podIP (an EDS endpoint's address). */
  podByIp(ip: string): PodInfo | undefined {
    return this.podsByIp.get(ip);
  }

  replicaSet(namespace: string, name: string): ReplicaSetInfo | undefined {
    return this.replicaSets.get(`${namespace}/${name}`);
  }

  configMap(namespace: string, name: string): ConfigMapInfo | undefined {
    return this.configMaps.get(`${namespace}/${name}`);
  }
}
