// Runtime control requests (docs/control.md): a user writes serin.dev/action (and optionally -id,
// -reason, -by) on the Canary; the controller reads it here, the core decides what it means
// (control-step.ts) and records it in status.control; the shell then removes the annotations.
// Pure: no clients.
import { ANNOTATIONS } from "../api/constants.js";
import type { ControlRequest } from "./world.js";

/** Every annotation of a request: removed together once the request is consumed. */
export const CONTROL_ANNOTATIONS = [
  ANNOTATIONS.action,
  ANNOTATIONS.actionId,
  ANNOTATIONS.actionReason,
  ANNOTATIONS.actionBy,
] as const;

/** Longest reason/by kept in status and Events (annotations may hold 256 KiB). */
export const CONTROL_TEXT_MAX = 256;

const clip = (s: string | undefined): string | undefined => {
  const t = s?.trim();
  if (!t) return undefined;
  return t.length > CONTROL_TEXT_MAX ? `${t.slice(0, CONTROL_TEXT_MAX - 1)}…` : t;
};

/**
 * The id of a request written without serin.dev/action-id: the action, the revision the target runs,
 * and when the action annotation was last written (its managedFields entry, when the API server keeps
 * one). A double or stale request — the same annotation still there after a crash before the controller
 * removed it, or a no-op re-apply — has the id already in status.control and is ignored; a new
 * `kubectl annotate` (a new write time), another action or a later revision is a new request. Our own
 * status writes do not change the user's managedFields entry, so the id is stable across them.
 */
export function derivedRequestId(
  action: string,
  targetRevision: string | undefined,
  writtenAt?: string,
): string {
  return `${action}@${targetRevision ?? "-"}${writtenAt ? `@${writtenAt}` : ""}`;
}

interface ManagedFieldsEntry {
  time?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/** When serin.dev/action was last written, from metadata.managedFields (undefined when not kept). */
export function actionWrittenAt(managedFields: unknown): string | undefined {
  if (!Array.isArray(managedFields)) return undefined;
  let latest: string | undefined;
  for (const entry of managedFields as ManagedFieldsEntry[]) {
    if (entry?.subresource || typeof entry?.time !== "string") continue;
    const meta = entry.fieldsV1?.["f:metadata"] as Record<string, unknown> | undefined;
    const annotations = meta?.["f:annotations"] as Record<string, unknown> | undefined;
    if (annotations?.[`f:${ANNOTATIONS.action}`] === undefined) continue;
    if (latest === undefined || entry.time > latest) latest = entry.time;
  }
  return latest;
}

/** The request on a Canary's metadata, if any. */
export function readRequest(
  metadata: { annotations?: Readonly<Record<string, string>>; managedFields?: unknown } | undefined,
  targetRevision: string | undefined,
): ControlRequest | undefined {
  const annotations = metadata?.annotations;
  const action = annotations?.[ANNOTATIONS.action]?.trim().toLowerCase();
  if (!action) return undefined;
  const id =
    annotations?.[ANNOTATIONS.actionId]?.trim() ||
    derivedRequestId(action, targetRevision, actionWrittenAt(metadata?.managedFields));
  const reason = clip(annotations?.[ANNOTATIONS.actionReason]);
  const by = clip(annotations?.[ANNOTATIONS.actionBy]);
  return { action, id: id.slice(0, CONTROL_TEXT_MAX), ...(reason ? { reason } : {}), ...(by ? { by } : {}) };
}

/** The JSON merge patch that removes a consumed request's annotations. */
export function requestRemovalPatch(resourceVersion: string | undefined): {
  metadata: { annotations: Record<string, null>; resourceVersion?: string };
} {
  return {
    metadata: {
      annotations: Object.fromEntries(CONTROL_ANNOTATIONS.map((k) => [k, null])),
      ...(resourceVersion ? { resourceVersion } : {}),
    },
  };
}

/** "by alice: rollback drill", "by an unnamed user" — who and why, for reasons and Events. */
export function whoAndWhy(r: { by?: string; reason?: string }): string {
  return `by ${r.by ?? "an unnamed user"}${r.reason ? `: ${r.reason}` : ""}`;
}
