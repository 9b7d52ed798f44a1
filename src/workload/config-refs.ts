// ConfigMaps and Secrets a pod template depends on (Flagger's ConfigTracker, made pure):
// find the references, checksum the referenced objects, build their "-primary" copies and point the
// primary's pod spec at those copies. The copies let the canary run with new configuration while
// the primary keeps the promoted one; the checksums make a config edit a new revision.
//
// Sources scanned, as Flagger: volumes (configMap, secret), projected volume sources, and the env
// (valueFrom) and envFrom of containers and init containers. Ephemeral containers are skipped: a
// pod template cannot declare them. imagePullSecrets are skipped: registry credentials are not
// application config (Flagger also ignores dockerconfigjson Secrets).
import { createHash } from "node:crypto";
import type {
  V1ConfigMap,
  V1Container,
  V1ObjectMeta,
  V1PodSpec,
  V1PodTemplateSpec,
  V1Secret,
} from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { ANNOTATIONS, FLAGGER_ANNOTATIONS } from "../api/constants.js";
import { DNS1123_SUBDOMAIN_MAX } from "../api/names.js";
import { includeByPrefix, ownerReferenceFor } from "../router/ownership.js";
import { WorkloadError } from "./errors.js";

export type ConfigKind = "configmap" | "secret";

/** A referenced ConfigMap/Secret. Keys like "configmap/app-config" match status.trackedConfigs. */
export interface ConfigRef {
  kind: ConfigKind;
  name: string;
  /**
   * Flagger's "mandatory": some reference says `optional: false` explicitly. A missing required
   * config is an error; a missing config referenced without `optional` is only reported (the pods
   * would not start anyway and the progress deadline catches it), one marked optional is skipped.
   */
  required: boolean;
}

export type ConfigObject = { kind: "configmap"; object: V1ConfigMap } | { kind: "secret"; object: V1Secret };

export const PRIMARY_CONFIG_SUFFIX = "-primary";

/** Secret types worth tracking (Flagger's list); registry and service-account tokens are not. */
export const TRACKED_SECRET_TYPES: ReadonlySet<string> = new Set([
  "Opaque",
  "kubernetes.io/basic-auth",
  "kubernetes.io/ssh-auth",
  "kubernetes.io/tls",
]);

export function configRefKey(ref: { kind: ConfigKind; name: string }): string {
  return `${ref.kind}/${ref.name}`;
}

/**
 * True when annotations opt out of config tracking: `flagger.app/config-tracking` or
 * `serin.dev/config-tracking` set to a value starting with "disable" (Flagger's prefix test, so both
 * "disabled" and "disable" work).
 */
export function isConfigTrackingDisabled(annotations: Readonly<Record<string, string>> | undefined): boolean {
  return [ANNOTATIONS.configTracking, FLAGGER_ANNOTATIONS.configTracking].some((key) =>
    (annotations?.[key] ?? "").startsWith("disable"),
  );
}

/** One place a pod spec names a ConfigMap/Secret; `rename` rewrites that very reference. */
interface RefSite {
  kind: ConfigKind;
  name: string;
  optional: boolean | undefined;
  rename(next: string): void;
}

function* containerSites(containers: readonly V1Container[] | undefined): Generator<RefSite> {
  for (const c of containers ?? []) {
    for (const env of c.env ?? []) {
      const cm = env.valueFrom?.configMapKeyRef;
      const sec = env.valueFrom?.secretKeyRef;
      if (cm?.name)
        yield { kind: "configmap", name: cm.name, optional: cm.optional, rename: (n) => (cm.name = n) };
      if (sec?.name)
        yield { kind: "secret", name: sec.name, optional: sec.optional, rename: (n) => (sec.name = n) };
    }
    for (const from of c.envFrom ?? []) {
      const cm = from.configMapRef;
      const sec = from.secretRef;
      if (cm?.name)
        yield { kind: "configmap", name: cm.name, optional: cm.optional, rename: (n) => (cm.name = n) };
      if (sec?.name)
        yield { kind: "secret", name: sec.name, optional: sec.optional, rename: (n) => (sec.name = n) };
    }
  }
}

function* refSites(spec: V1PodSpec): Generator<RefSite> {
  for (const volume of spec.volumes ?? []) {
    const cm = volume.configMap;
    const sec = volume.secret;
    if (cm?.name)
      yield { kind: "configmap", name: cm.name, optional: cm.optional, rename: (n) => (cm.name = n) };
    if (sec?.secretName) {
      yield {
        kind: "secret",
        name: sec.secretName,
        optional: sec.optional,
        rename: (n) => (sec.secretName = n),
      };
    }
    for (const source of volume.projected?.sources ?? []) {
      const pcm = source.configMap;
      const psec = source.secret;
      if (pcm?.name)
        yield { kind: "configmap", name: pcm.name, optional: pcm.optional, rename: (n) => (pcm.name = n) };
      if (psec?.name)
        yield { kind: "secret", name: psec.name, optional: psec.optional, rename: (n) => (psec.name = n) };
    }
  }
  yield* containerSites(spec.containers);
  yield* containerSites(spec.initContainers);
}

/** Every ConfigMap/Secret the pod spec references, deduplicated, sorted by key. */
export function findConfigRefs(spec: V1PodSpec): ConfigRef[] {
  const refs = new Map<string, ConfigRef>();
  for (const site of refSites(spec)) {
    const key = configRefKey(site);
    const required = site.optional === false;
    const seen = refs.get(key);
    // Any explicit `optional: false` makes it required (Flagger keeps whichever reference came last).
    refs.set(key, { kind: site.kind, name: site.name, required: required || (seen?.required ?? false) });
  }
  return [...refs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, ref]) => ref);
}

/** The target's references, or none when the target opts out (annotation on the object or its template). */
export function findTargetConfigRefs(target: {
  metadata?: V1ObjectMeta;
  spec?: { template: V1PodTemplateSpec };
}): ConfigRef[] {
  const template = target.spec?.template;
  if (isConfigTrackingDisabled(target.metadata?.annotations)) return [];
  if (isConfigTrackingDisabled(template?.metadata?.annotations)) return [];
  return template?.spec ? findConfigRefs(template.spec) : [];
}

/** Whether a fetched ConfigMap/Secret is tracked: not opted out, and for Secrets a tracked type. */
export function isTracked(config: ConfigObject): boolean {
  if (isConfigTrackingDisabled(config.object.metadata?.annotations)) return false;
  return config.kind === "configmap" || TRACKED_SECRET_TYPES.has(config.object.type || "Opaque");
}

/** Go's json.Marshal escapes these; doing the same keeps checksums equal to Flagger's. */
function goJson(value: unknown): string {
  return (JSON.stringify(value, sortedReplacer) ?? "null").replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function sortedReplacer(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}

/**
 * Checksum of a ConfigMap's or Secret's content: first 8 bytes of sha256 over the JSON of `data`,
 * hex-encoded, which is exactly Flagger's value. A ConfigMap's binaryData (ignored by Flagger, so
 * editing it never triggered a rollout) is included when present.
 */
export function checksumConfig(config: ConfigObject): string {
  const data = config.object.data;
  const binary = config.kind === "configmap" ? config.object.binaryData : undefined;
  const payload =
    binary !== undefined && Object.keys(binary).length > 0 ? { binaryData: binary, data } : data;
  return createHash("sha256")
    .update(goJson(payload ?? null))
    .digest("hex")
    .slice(0, 16);
}

export interface TrackedConfigs {
  /** key -> checksum, the value of status.trackedConfigs. */
  checksums: Record<string, string>;
  /** Required configs that do not exist: the revision cannot be computed (Flagger errors). */
  missingRequired: ConfigRef[];
  /** Other missing configs: reported, not tracked. */
  missing: ConfigRef[];
}

/** Checksums of the referenced configs that exist and are tracked; `lookup` returns undefined when absent. */
export function trackConfigs(
  refs: readonly ConfigRef[],
  lookup: (ref: ConfigRef) => ConfigObject | undefined,
): TrackedConfigs {
  const out: TrackedConfigs = { checksums: {}, missingRequired: [], missing: [] };
  for (const ref of refs) {
    const config = lookup(ref);
    if (config === undefined) {
      (ref.required ? out.missingRequired : out.missing).push(ref);
      continue;
    }
    if (isTracked(config)) out.checksums[configRefKey(ref)] = checksumConfig(config);
  }
  return out;
}

/** The "-primary" copy of a tracked ConfigMap/Secret, owned by the Canary (Flagger's CreatePrimaryConfigs). */
export function buildPrimaryConfig(
  config: ConfigObject,
  canary: Pick<Canary, "metadata">,
  includeLabelPrefix: readonly string[] = [],
): ConfigObject {
  const meta = config.object.metadata;
  const name = `${meta?.name ?? ""}${PRIMARY_CONFIG_SUFFIX}`;
  if (name.length > DNS1123_SUBDOMAIN_MAX) {
    const kind = config.kind === "configmap" ? "ConfigMap" : "Secret";
    throw new WorkloadError(
      `${kind} ${meta?.name} is used by the target, but its primary copy ${name} would have ${name.length} characters (Kubernetes allows ${DNS1123_SUBDOMAIN_MAX}): rename the ${kind} to at most ${DNS1123_SUBDOMAIN_MAX - PRIMARY_CONFIG_SUFFIX.length} characters`,
    );
  }
  const metadata: V1ObjectMeta = {
    name,
    namespace: meta?.namespace ?? canary.metadata.namespace,
    labels: includeByPrefix(meta?.labels, includeLabelPrefix),
    ownerReferences: [ownerReferenceFor(canary)],
  };
  // `immutable` is not copied: the copy must be rewritten on every promotion.
  if (config.kind === "configmap") {
    const object: V1ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata };
    if (config.object.data !== undefined) object.data = { ...config.object.data };
    if (config.object.binaryData !== undefined) object.binaryData = { ...config.object.binaryData };
    return { kind: "configmap", object };
  }
  const object: V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata,
    type: config.object.type || "Opaque",
  };
  if (config.object.data !== undefined) object.data = { ...config.object.data };
  return { kind: "secret", object };
}

/**
 * A copy of the pod spec whose references to tracked configs (keys of `tracked`, e.g.
 * status.trackedConfigs) point at the "-primary" copies; untracked references are left alone
 * (Flagger's ApplyPrimaryConfigs, including init containers as Flagger does since PR #1925).
 */
export function applyPrimaryConfigs(spec: V1PodSpec, tracked: Readonly<Record<string, string>>): V1PodSpec {
  const copy = structuredClone(spec);
  for (const site of refSites(copy)) {
    if (Object.hasOwn(tracked, configRefKey(site))) site.rename(`${site.name}${PRIMARY_CONFIG_SUFFIX}`);
  }
  return copy;
}
