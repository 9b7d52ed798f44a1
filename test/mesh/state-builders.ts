// Hand-written MeshStates for tests that need no cluster.
import { emptyMeshState, type MeshState, type PodInfo, type ServiceInfo } from "./model.js";

export interface PodSpec {
  deployment: string;
  namespace: string;
  hash: string;
  labels: Record<string, string>;
  image: string;
  env?: Record<string, string>;
  index?: number;
  ready?: boolean;
  serviceAccount?: string;
  /** Default: the next free address in 10.244.0.0/16. */
  podIP?: string;
}

let nextIp = 0;

/** A fresh pod IP (10.244.0.1, 10.244.0.2, ...), as kwok would assign. */
export function nextPodIp(): string {
  const n = nextIp++;
  return `10.244.${Math.floor(n / 250) % 256}.${(n % 250) + 1}`;
}

/** A pod as a Deployment's ReplicaSet would create it. */
export function podOf(p: PodSpec): PodInfo {
  return {
    name: `${p.deployment}-${p.hash}-${p.index ?? 0}`,
    namespace: p.namespace,
    labels: { ...p.labels, "pod-template-hash": p.hash },
    ready: p.ready ?? true,
    terminating: false,
    serviceAccount: p.serviceAccount ?? "default",
    podIP: p.podIP ?? nextPodIp(),
    owner: { kind: "ReplicaSet", name: `${p.deployment}-${p.hash}` },
    containers: [
      {
        name: "app",
        image: p.image,
        env: Object.entries(p.env ?? {}).map(([name, value]) => ({ name, value })),
        envFromConfigMaps: [],
      },
    ],
  };
}

export function serviceOf(
  name: string,
  namespace: string,
  selector: Record<string, string>,
  port = 80,
): ServiceInfo {
  return { name, namespace, selector, ports: [{ name: "http", port }] };
}

export function stateOf(parts: Partial<MeshState>): MeshState {
  return { ...emptyMeshState(), ...parts };
}

/**
 * Flagger's layout for `catalog` in `ns`: Services catalog / catalog-primary / catalog-canary, a primary
 * Deployment `catalog-primary` (image v1) and a canary Deployment `catalog` (image v2, optional env).
 */
export function flaggerCatalog(
  ns: string,
  opts: { primaryReplicas?: number; canaryEnv?: Record<string, string>; canaryImage?: string } = {},
): Pick<MeshState, "services" | "pods"> {
  const primary = Array.from({ length: opts.primaryReplicas ?? 1 }, (_, i) =>
    podOf({
      deployment: "catalog-primary",
      namespace: ns,
      hash: "p1",
      labels: { app: "catalog-primary" },
      image: "catalog:v1",
      index: i,
    }),
  );
  const canary = podOf({
    deployment: "catalog",
    namespace: ns,
    hash: "c2",
    labels: { app: "catalog" },
    image: opts.canaryImage ?? "catalog:v2",
    env: opts.canaryEnv ?? {},
  });
  return {
    services: [
      serviceOf("catalog", ns, { app: "catalog-primary" }),
      serviceOf("catalog-primary", ns, { app: "catalog-primary" }),
      serviceOf("catalog-canary", ns, { app: "catalog" }),
    ],
    pods: [...primary, canary],
  };
}
