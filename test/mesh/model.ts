// The simulator's view of the cluster: plain data, built from the informers' caches (cluster-view.ts)
// or written by hand in tests. Everything that routes reads a MeshState and nothing else.
import type { DestinationRuleSpec, VirtualServiceSpec } from "./istio-types.js";

export interface ObjectRef {
  name: string;
  namespace: string;
}

export interface ServicePort {
  name?: string;
  port: number;
}

export interface ServiceInfo extends ObjectRef {
  /** undefined = a Service without selector (no endpoints the simulator can see). */
  selector: Record<string, string> | undefined;
  ports: ServicePort[];
}

export interface EnvVarInfo {
  name: string;
  value?: string;
  configMapKeyRef?: { name: string; key: string };
}

export interface ContainerInfo {
  name: string;
  image: string;
  env: EnvVarInfo[];
  /** ConfigMap names from envFrom[].configMapRef, in order. */
  envFromConfigMaps: string[];
}

export interface PodInfo extends ObjectRef {
  labels: Record<string, string>;
  ready: boolean;
  terminating: boolean;
  serviceAccount: string;
  /** Controller owner (kind + name), e.g. ReplicaSet catalog-7d9f. */
  owner: { kind: string; name: string } | undefined;
  containers: ContainerInfo[];
}

export interface ReplicaSetInfo extends ObjectRef {
  owner: { kind: string; name: string } | undefined;
}

export interface ConfigMapInfo extends ObjectRef {
  data: Record<string, string>;
}

export interface IstioObject<Spec> extends ObjectRef {
  resourceVersion: string;
  /** ms since epoch; the oldest VirtualService wins a host conflict, as in Istio. */
  createdAt: number;
  spec: Spec;
}

export type VirtualServiceInfo = IstioObject<VirtualServiceSpec>;
export type DestinationRuleInfo = IstioObject<DestinationRuleSpec>;

export interface MeshState {
  services: ServiceInfo[];
  pods: PodInfo[];
  replicaSets: ReplicaSetInfo[];
  configMaps: ConfigMapInfo[];
  virtualServices: VirtualServiceInfo[];
  destinationRules: DestinationRuleInfo[];
}

export function emptyMeshState(): MeshState {
  return {
    services: [],
    pods: [],
    replicaSets: [],
    configMaps: [],
    virtualServices: [],
    destinationRules: [],
  };
}
