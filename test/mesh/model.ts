// The simulator's view of the cluster: plain data, built from the informers' caches (cluster-view.ts)
// or written by hand in tests. Routing comes from istiod's xDS (envoy/); the MeshState only says which pod
// an endpoint IP is, how its app behaves and who it is for telemetry.

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
  /** status.podIP: what istiod's endpoints (EDS) point at. undefined until assigned. */
  podIP: string | undefined;
  /** Controller owner (kind + name), e.g. ReplicaSet catalog-7d9f. */
  owner: { kind: string; name: string } | undefined;
  containers: ContainerInfo[];
  /**
   * false: the pod opted out of sidecar injection (`sidecar.istio.io/inject: "false"`, label or
   * annotation), so no server sidecar reports its requests (no reporter="destination" series).
   */
  sidecar?: boolean;
}

export interface ReplicaSetInfo extends ObjectRef {
  owner: { kind: string; name: string } | undefined;
}

export interface ConfigMapInfo extends ObjectRef {
  data: Record<string, string>;
}

export interface MeshState {
  services: ServiceInfo[];
  pods: PodInfo[];
  replicaSets: ReplicaSetInfo[];
  configMaps: ConfigMapInfo[];
}

export function emptyMeshState(): MeshState {
  return {
    services: [],
    pods: [],
    replicaSets: [],
    configMaps: [],
  };
}
