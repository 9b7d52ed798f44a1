// How a simulated pod answers: image catalogue defaults, overridden by the container's SIM_* env vars.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { MeshIndex } from "./mesh-index.js";
import type { ContainerInfo, PodInfo } from "./model.js";

export interface Behaviour {
  /** `name:tag` of the container image: what responses report as their version. */
  version: string;
  image: string;
  /** Fraction of requests answered with `errorStatus` (0..1). */
  errorRate: number;
  errorStatus: number;
  latencyMs: number;
  latencyJitterMs: number;
  /** Fraction of requests that take `slowMs` more (tail latency). */
  slowFraction: number;
  slowMs: number;
}

const ParamsSchema = z.object({
  errorRate: z.number().min(0).max(1).optional(),
  errorStatus: z.number().int().min(100).max(599).optional(),
  latencyMs: z.number().min(0).optional(),
  latencyJitterMs: z.number().min(0).optional(),
  slowFraction: z.number().min(0).max(1).optional(),
  slowMs: z.number().min(0).optional(),
});
export type BehaviourParams = z.infer<typeof ParamsSchema>;
export const ImageCatalogueSchema = z.record(z.string(), ParamsSchema);
export type ImageCatalogue = z.infer<typeof ImageCatalogueSchema>;

export function loadImageCatalogue(path = new URL("./images.json", import.meta.url)): ImageCatalogue {
  return ImageCatalogueSchema.parse(JSON.parse(readFileSync(path, "utf8")));
}

/** `ghcr.io/acme/catalog:v2@sha256:...` -> `catalog:v2`; no tag -> `:latest`. */
export function imageKey(image: string): string {
  const noDigest = image.split("@")[0] ?? image;
  const last = noDigest.split("/").pop() ?? noDigest;
  return last.includes(":") ? last : `${last}:latest`;
}

const ENV_KEYS: Record<string, keyof BehaviourParams> = {
  SIM_ERROR_RATE: "errorRate",
  SIM_ERROR_STATUS: "errorStatus",
  SIM_LATENCY_MS: "latencyMs",
  SIM_LATENCY_JITTER_MS: "latencyJitterMs",
  SIM_SLOW_FRACTION: "slowFraction",
  SIM_SLOW_MS: "slowMs",
};

/** The container's environment as Kubernetes would build it (envFrom first, env wins). */
export function containerEnv(index: MeshIndex, namespace: string, c: ContainerInfo): Record<string, string> {
  const env: Record<string, string> = {};
  for (const cmName of c.envFromConfigMaps) {
    Object.assign(env, index.configMap(namespace, cmName)?.data ?? {});
  }
  for (const e of c.env) {
    if (e.configMapKeyRef) {
      const v = index.configMap(namespace, e.configMapKeyRef.name)?.data[e.configMapKeyRef.key];
      if (v !== undefined) env[e.name] = v;
    } else {
      env[e.name] = e.value ?? "";
    }
  }
  return env;
}

export function mainContainer(pod: PodInfo): ContainerInfo | undefined {
  return pod.containers.find((c) => c.name !== "istio-proxy") ?? pod.containers[0];
}

export function behaviourFor(index: MeshIndex, pod: PodInfo, catalogue: ImageCatalogue): Behaviour {
  const c = mainContainer(pod);
  const image = c?.image ?? "";
  const version = imageKey(image || pod.name);
  const name = version.split(":")[0] ?? version;
  const params: BehaviourParams = { ...(catalogue[name] ?? {}), ...(catalogue[version] ?? {}) };
  if (c) {
    const env = containerEnv(index, pod.namespace, c);
    for (const [envName, key] of Object.entries(ENV_KEYS)) {
      const raw = env[envName];
      if (raw === undefined || raw.trim() === "") continue;
      const n = Number(raw);
      if (Number.isFinite(n)) params[key] = n;
    }
  }
  const clamp01 = (x: number | undefined) => Math.min(1, Math.max(0, x ?? 0));
  return {
    version,
    image,
    errorRate: clamp01(params.errorRate),
    errorStatus: Math.trunc(params.errorStatus ?? 500),
    latencyMs: Math.max(0, params.latencyMs ?? 0),
    latencyJitterMs: Math.max(0, params.latencyJitterMs ?? 0),
    slowFraction: clamp01(params.slowFraction),
    slowMs: Math.max(0, params.slowMs ?? 0),
  };
}

export function behaviourKey(b: Behaviour): string {
  return [
    b.version,
    b.image,
    b.errorRate,
    b.errorStatus,
    b.latencyMs,
    b.latencyJitterMs,
    b.slowFraction,
    b.slowMs,
  ].join("|");
}
