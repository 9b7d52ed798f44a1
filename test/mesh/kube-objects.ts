// Raw Kubernetes JSON (as the API server sends it) -> the simulator's model. Lenient: an object that does
// not parse is skipped by the caller, never fatal.
import { z } from "zod";
import type { ConfigMapInfo, ContainerInfo, PodInfo, ReplicaSetInfo, ServiceInfo } from "./model.js";

const OwnerRef = z.object({ kind: z.string(), name: z.string(), controller: z.boolean().optional() });
const Meta = z.object({
  name: z.string(),
  namespace: z.string().default(""),
  labels: z.record(z.string(), z.string()).nullish(),
  annotations: z.record(z.string(), z.string()).nullish(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).nullish(),
  deletionTimestamp: z.union([z.string(), z.date()]).nullish(),
  ownerReferences: z.array(OwnerRef).nullish(),
});
type MetaT = z.infer<typeof Meta>;

function controllerOwner(meta: MetaT): { kind: string; name: string } | undefined {
  const refs = meta.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller === true) ?? refs[0];
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

const ServiceJson = z.object({
  metadata: Meta,
  spec: z
    .object({
      selector: z.record(z.string(), z.string()).nullish(),
      ports: z.array(z.object({ name: z.string().nullish(), port: z.number().int() })).nullish(),
    })
    .default({}),
});

export function toService(raw: unknown): ServiceInfo | undefined {
  const r = ServiceJson.safeParse(raw);
  if (!r.success) return undefined;
  const { metadata, spec } = r.data;
  const selector = spec.selector ?? undefined;
  return {
    name: metadata.name,
    namespace: metadata.namespace,
    selector: selector && Object.keys(selector).length > 0 ? selector : undefined,
    ports: (spec.ports ?? []).map((p) => (p.name ? { name: p.name, port: p.port } : { port: p.port })),
  };
}

const EnvVarJson = z.object({
  name: z.string(),
  value: z.string().nullish(),
  valueFrom: z
    .object({ configMapKeyRef: z.object({ name: z.string(), key: z.string() }).nullish() })
    .nullish(),
});
const ContainerJson = z.object({
  name: z.string(),
  image: z.string().nullish(),
  env: z.array(EnvVarJson).nullish(),
  envFrom: z.array(z.object({ configMapRef: z.object({ name: z.string() }).nullish() })).nullish(),
});

function toContainer(c: z.infer<typeof ContainerJson>): ContainerInfo {
  return {
    name: c.name,
    image: c.image ?? "",
    env: (c.env ?? []).map((e) => {
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref) return { name: e.name, configMapKeyRef: { name: ref.name, key: ref.key } };
      return { name: e.name, value: e.value ?? "" };
    }),
    envFromConfigMaps: (c.envFrom ?? []).flatMap((f) => (f.configMapRef ? [f.configMapRef.name] : [])),
  };
}

const PodJson = z.object({
  metadata: Meta,
  spec: z
    .object({
      serviceAccountName: z.string().nullish(),
      containers: z.array(ContainerJson).default([]),
    })
    .default({ containers: [] }),
  status: z
    .object({
      phase: z.string().nullish(),
      podIP: z.string().nullish(),
      conditions: z.array(z.object({ type: z.string(), status: z.string() })).nullish(),
    })
    .nullish(),
});

export function toPod(raw: unknown): PodInfo | undefined {
  const r = PodJson.safeParse(raw);
  if (!r.success) return undefined;
  const { metadata, spec, status } = r.data;
  const ready = (status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  const finished = status?.phase === "Succeeded" || status?.phase === "Failed";
  return {
    name: metadata.name,
    namespace: metadata.namespace,
    labels: metadata.labels ?? {},
    ready: ready && !finished,
    terminating: metadata.deletionTimestamp !== null && metadata.deletionTimestamp !== undefined,
    serviceAccount: spec.serviceAccountName || "default",
    podIP: status?.podIP || undefined,
    owner: controllerOwner(metadata),
    containers: spec.containers.map(toContainer),
    // Istio's injector skips a pod whose label (or, older, annotation) says "false".
    ...(metadata.labels?.[INJECT] === "false" || metadata.annotations?.[INJECT] === "false"
      ? { sidecar: false }
      : {}),
  };
}

const INJECT = "sidecar.istio.io/inject";

const OwnedJson = z.object({ metadata: Meta });

export function toReplicaSet(raw: unknown): ReplicaSetInfo | undefined {
  const r = OwnedJson.safeParse(raw);
  if (!r.success) return undefined;
  return {
    name: r.data.metadata.name,
    namespace: r.data.metadata.namespace,
    owner: controllerOwner(r.data.metadata),
  };
}

const ConfigMapJson = z.object({ metadata: Meta, data: z.record(z.string(), z.string()).nullish() });

export function toConfigMap(raw: unknown): ConfigMapInfo | undefined {
  const r = ConfigMapJson.safeParse(raw);
  if (!r.success) return undefined;
  return { name: r.data.metadata.name, namespace: r.data.metadata.namespace, data: r.data.data ?? {} };
}
