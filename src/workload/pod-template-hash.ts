// Stable fingerprint of the target's pod template: the "revision" Serin compares with
// status.lastAppliedSpec / lastPromotedSpec to decide that a new rollout started.
//
// Like Flagger, the hash covers the whole pod template (labels, annotations and pod spec) and
// nothing outside it, so scaling the Deployment (replicas), an HPA or a change of strategy never
// starts a canary run, while `kubectl rollout restart` (an annotation in the template) does.
// Unlike Flagger's spew/fnv hash, it is computed over canonical JSON, so it does not depend on a
// client library's struct layout: absent, null, {} and [] all hash the same (Go's omitempty view),
// object keys are sorted, and Dates become RFC 3339 strings as on the wire.
import { createHash } from "node:crypto";
import type { V1PodTemplateSpec } from "@kubernetes/client-node";

/** Number of hex characters kept: 64 bits, plenty to tell revisions of one workload apart. */
const HASH_HEX_CHARS = 16;

/** Recursively normalises a JSON-like value; returns undefined for "nothing there". */
function canonicalize(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    // Keep positions: an element that normalises to nothing becomes null rather than vanishing.
    return value.map((item) => canonicalize(item) ?? null);
  }
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const normalized = canonicalize((value as Record<string, unknown>)[key]);
      if (normalized !== undefined) out[key] = normalized;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (typeof value === "function" || typeof value === "symbol") return undefined;
  return value;
}

/** Canonical JSON text of any value (sorted keys, empty values dropped). Exported for tests and debugging. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value) ?? null);
}

function shortSha256(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, HASH_HEX_CHARS);
}

/** Hash of a pod template; equal templates (modulo empty fields and key order) give equal hashes. */
export function podTemplateHash(template: V1PodTemplateSpec): string {
  return shortSha256(canonicalJson(template));
}

/**
 * The revision of a target: its pod template hash, combined with the checksums of the ConfigMaps
 * and Secrets it tracks (keys like "configmap/name", see config-refs.ts) so that editing a tracked
 * ConfigMap is a new revision too. With no tracked configs the revision is the template hash itself,
 * so status values stay readable and comparable with podTemplateHash().
 */
export function computeRevision(
  template: V1PodTemplateSpec,
  trackedConfigsChecksums: Readonly<Record<string, string>> = {},
): string {
  const templateHash = podTemplateHash(template);
  if (Object.keys(trackedConfigsChecksums).length === 0) return templateHash;
  return shortSha256(canonicalJson({ template: templateHash, configs: trackedConfigsChecksums }));
}
