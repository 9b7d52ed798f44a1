// The app's own apex Service (e.g. `catalog`, shipped with the app) is adopted, not owned: Serin
// points its selector at the primary and manages its one port, keeps every other port and field the
// user wrote, and records the original selector and ports so that revertOnDeletion can restore them.
import type { V1Service, V1ServicePort } from "@kubernetes/client-node";

export const ORIGINAL_SERVICE_ANNOTATION = "serin.dev/original-service";

export interface OriginalService {
  selector: Record<string, string>;
  ports: V1ServicePort[];
}

/** The user's ports with one of Serin's (same port number or name) replaced, or added when absent. */
export function mergePorts(existing: readonly V1ServicePort[], managed: V1ServicePort): V1ServicePort[] {
  const index = existing.findIndex(
    (p) => p.port === managed.port || (p.name !== undefined && p.name === managed.name),
  );
  if (index < 0) return [...existing, managed];
  return existing.map((p, i) => (i === index ? { ...p, ...managed } : p));
}

/** A JSON merge patch that replaces a string map: keys no longer wanted must be set to null. */
export function replaceMapPatch(
  current: Readonly<Record<string, string>> | undefined,
  wanted: Readonly<Record<string, string>>,
): Record<string, string | null> {
  const patch: Record<string, string | null> = { ...wanted };
  for (const key of Object.keys(current ?? {})) if (!(key in wanted)) patch[key] = null;
  return patch;
}

export function readOriginal(svc: V1Service): OriginalService | undefined {
  const text = svc.metadata?.annotations?.[ORIGINAL_SERVICE_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as OriginalService;
    return { selector: parsed.selector ?? {}, ports: parsed.ports ?? [] };
  } catch {
    return undefined;
  }
}

/** The merge patch adopting `existing` so it routes like `desired`; undefined when nothing changes. */
export function adoptionPatch(existing: V1Service, desired: V1Service): Record<string, unknown> | undefined {
  const selector = desired.spec?.selector ?? {};
  const ports = (desired.spec?.ports ?? []).reduce(mergePorts, existing.spec?.ports ?? []);
  const sameSelector =
    JSON.stringify(sortKeys(existing.spec?.selector ?? {})) === JSON.stringify(sortKeys(selector));
  const samePorts = JSON.stringify(ports) === JSON.stringify(existing.spec?.ports ?? []);
  const recorded = readOriginal(existing) !== undefined;
  if (sameSelector && samePorts && recorded) return undefined;
  const original: OriginalService = {
    selector: { ...existing.spec?.selector },
    ports: existing.spec?.ports ?? [],
  };
  return {
    metadata: {
      resourceVersion: existing.metadata?.resourceVersion,
      ...(recorded ? {} : { annotations: { [ORIGINAL_SERVICE_ANNOTATION]: JSON.stringify(original) } }),
    },
    spec: { selector: replaceMapPatch(existing.spec?.selector, selector), ports },
  };
}

/** The merge patch giving an adopted Service back as the user wrote it. */
export function restorePatch(existing: V1Service, original: OriginalService): Record<string, unknown> {
  return {
    metadata: {
      resourceVersion: existing.metadata?.resourceVersion,
      annotations: { [ORIGINAL_SERVICE_ANNOTATION]: null },
    },
    spec: { selector: replaceMapPatch(existing.spec?.selector, original.selector), ports: original.ports },
  };
}

function sortKeys(map: Record<string, string>): Array<[string, string]> {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
