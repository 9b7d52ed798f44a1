// How a simulated pod answers: image catalogue defaults, overridden by the container's SIM_* env vars, plus
// shared incidents from the namespace's `mesh-sim-incidents` ConfigMap.
import { readFileSync } from "node:fs";
import { z } from "zod";
import type { BackendConfig, Burst, Incident } from "./backend-plan.js";
import { workloadOf } from "./endpoints.js";
import type { MeshIndex } from "./mesh-index.js";
import type { ContainerInfo, PodInfo } from "./model.js";

export type { BackendConfig, Burst, Incident } from "./backend-plan.js";

/** How a version answers (the backend plan's config without the workload it belongs to). */
export type Behaviour = Omit<BackendConfig, "namespace" | "workload">;

const BurstSchema = z.object({
  afterMs: z.number().min(0),
  forMs: z.number().min(0),
  everyMs: z.number().min(0).optional(),
  errorRate: z.number().min(0).max(1),
  errorStatus: z.number().int().min(100).max(599).optional(),
  latencyMs: z.number().min(0).optional(),
});

const ParamsSchema = z.object({
  errorRate: z.number().min(0).max(1).optional(),
  errorStatus: z.number().int().min(100).max(599).optional(),
  latencyMs: z.number().min(0).optional(),
  latencyJitterMs: z.number().min(0).optional(),
  slowFraction: z.number().min(0).max(1).optional(),
  slowMs: z.number().min(0).optional(),
  startupDelayMs: z.number().min(0).optional(),
  bursts: z.array(BurstSchema).optional(),
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

type NumericParam = Exclude<keyof BehaviourParams, "bursts">;

const ENV_KEYS: Record<string, NumericParam> = {
  SIM_ERROR_RATE: "errorRate",
  SIM_ERROR_STATUS: "errorStatus",
  SIM_LATENCY_MS: "latencyMs",
  SIM_LATENCY_JITTER_MS: "latencyJitterMs",
  SIM_SLOW_FRACTION: "slowFraction",
  SIM_SLOW_MS: "slowMs",
  SIM_STARTUP_DELAY_MS: "startupDelayMs",
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

/** The ConfigMap whose entries are shared incidents for the workloads of its namespace. */
export const INCIDENTS_CONFIGMAP = "mesh-sim-incidents";

const IncidentSchema = z.object({
  /** Workloads hit (Deployment names, e.g. ["catalog", "catalog-primary"]); absent = all in the namespace. */
  workloads: z.array(z.string()).optional(),
  errorRate: z.number().min(0).max(1).optional(),
  errorStatus: z.number().int().min(100).max(599).optional(),
  latencyMs: z.number().min(0).optional(),
  /** RFC 3339 time or ms since epoch; absent = already started. */
  start: z.union([z.string(), z.number()]).optional(),
  /** Absent = until the entry is removed. */
  durationMs: z.number().min(0).optional(),
});

function parseTime(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const t = typeof v === "number" ? v : Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * The incidents of `namespace` that hit `workload`. Entries that do not parse are ignored (and reported
 * through `onInvalid`), as a bad ConfigMap must not take the simulator down.
 */
export function incidentsFor(
  index: MeshIndex,
  namespace: string,
  workload: string,
  onInvalid: (name: string, why: string) => void = () => {},
): Incident[] {
  const cm = index.configMap(namespace, INCIDENTS_CONFIGMAP);
  if (!cm) return [];
  const out: Incident[] = [];
  for (const name of Object.keys(cm.data).sort()) {
    let parsed: z.infer<typeof IncidentSchema>;
    try {
      const r = IncidentSchema.safeParse(JSON.parse(cm.data[name] ?? ""));
      if (!r.success) {
        onInvalid(name, r.error.message);
        continue;
      }
      parsed = r.data;
    } catch (err) {
      onInvalid(name, String(err));
      continue;
    }
    if (parsed.workloads && !parsed.workloads.includes(workload)) continue;
    const fromMs = parseTime(parsed.start) ?? 0;
    const untilMs = parsed.durationMs === undefined ? Number.MAX_SAFE_INTEGER : fromMs + parsed.durationMs;
    out.push({
      name,
      fromMs,
      untilMs,
      errorRate: parsed.errorRate ?? 0,
      errorStatus: parsed.errorStatus ?? 503,
      latencyMs: parsed.latencyMs ?? 0,
    });
  }
  return out;
}

function parseBursts(raw: string): Burst[] | undefined {
  try {
    const r = z.array(BurstSchema).safeParse(JSON.parse(raw));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
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
    const bursts = env.SIM_ERROR_BURSTS;
    if (bursts !== undefined && bursts.trim() !== "") {
      const parsed = parseBursts(bursts);
      if (parsed) params.bursts = parsed;
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
    startupDelayMs: Math.max(0, params.startupDelayMs ?? 0),
    bursts: params.bursts ?? [],
    incidents: incidentsFor(index, pod.namespace, workloadOf(index, pod)),
  };
}

/**
 * Identifies a behaviour: a version whose behaviour changes (env, ConfigMap, incident) gets a new backend
 * key, hence a new virtual backend (its start time, for cold start and bursts, is kept: backends.ts).
 */
export function behaviourKey(b: Behaviour): string {
  const base = [
    b.version,
    b.image,
    b.errorRate,
    b.errorStatus,
    b.latencyMs,
    b.latencyJitterMs,
    b.slowFraction,
    b.slowMs,
  ].join("|");
  // Unchanged keys for behaviours without the newer knobs.
  if (b.startupDelayMs === 0 && b.bursts.length === 0 && b.incidents.length === 0) return base;
  return `${base}|${JSON.stringify([b.startupDelayMs, b.bursts, b.incidents])}`;
}
