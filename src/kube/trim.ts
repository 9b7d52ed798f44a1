// What the informer caches keep of each object: only what Serin reads (issue 10, "a memory diet").
//
// Every cached object is trimmed once, when it arrives (list or watch event), before it is stored.
// The rules, and why each is safe:
//   - metadata.managedFields goes everywhere (it is often the largest part of an object). The API
//     server keeps an object's managedFields when an update omits them, so a PUT of a trimmed copy
//     (Applier.ensureOwned) does not clear them. Canaries keep the one entry core/control.ts reads:
//     when the serin.dev/action annotation was last written.
//   - kubectl's last-applied-configuration annotation (a second copy of the whole manifest) goes from
//     objects Serin never writes back whole: Deployments and Services (Serin patches them), Canaries
//     (status writes go to /status, which keeps everything but status from the stored object), and any
//     object not controlled by a Canary (ensureOwned refuses to write those). Objects controlled by a
//     Canary keep it: ensureOwned PUTs them back with their annotations.
//   - status goes where nothing reads it: Services (load balancer ingress), HPAs (but observedGeneration,
//     which controller.ts compares with generation) and Istio objects not controlled by a Canary. A
//     Deployment keeps the fields readiness.ts reads.
//   - VirtualServices, DestinationRules and HTTPRoutes not controlled by a Canary keep only their metadata: Serin
//     reads their ownerReferences (ownership.ts) to refuse writing them, never their spec.
//   - Objects from a list arrive as client-node's typed models (every field present, `undefined` when
//     unset, Dates); watch events arrive as plain JSON. List items go through plainJson() first
//     (informer.ts trimList), so both are stored as plain JSON: the same shape whichever path an object
//     came by, no empty slots, timestamps as the API server's strings.
import type { KubernetesObject } from "@kubernetes/client-node";
import { ANNOTATIONS, CANARY_KIND, GROUP } from "../api/constants.js";

export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

export type Trim = (obj: KubernetesObject) => KubernetesObject;

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** metav1.Time as the API server writes it: RFC 3339, whole seconds unless there are milliseconds. */
function timeString(d: Date): string {
  const iso = d.toISOString();
  return iso.endsWith(".000Z") ? `${iso.slice(0, -5)}Z` : iso;
}

/**
 * A JSON copy of a value: `undefined` properties dropped, Dates as strings, class instances as plain
 * objects. Strings are shared, not copied.
 */
export function plainJson(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return timeString(value);
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : plainJson(item)));
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined && typeof item !== "function") out[key] = plainJson(item);
  }
  return out;
}

/** True when the object's controller ownerReference is a Serin Canary (any version of the group). */
export function controlledByCanary(meta: unknown): boolean {
  if (!isRecord(meta) || !Array.isArray(meta.ownerReferences)) return false;
  return meta.ownerReferences.some(
    (ref: unknown) =>
      isRecord(ref) &&
      ref.controller === true &&
      ref.kind === CANARY_KIND &&
      typeof ref.apiVersion === "string" &&
      ref.apiVersion.split("/")[0] === GROUP,
  );
}

function trimMetadata(meta: unknown, opts: { keepLastApplied: boolean }): Json {
  if (!isRecord(meta)) return {};
  const { managedFields: _managedFields, ...rest } = meta;
  const annotations = rest.annotations;
  if (!opts.keepLastApplied && isRecord(annotations) && LAST_APPLIED_ANNOTATION in annotations) {
    const { [LAST_APPLIED_ANNOTATION]: _lastApplied, ...kept } = annotations;
    rest.annotations = kept;
  }
  return rest;
}

/** The managedFields entries core/control.ts reads (when serin.dev/action was written), reduced to that. */
function actionManagedFields(managedFields: unknown): Json[] {
  if (!Array.isArray(managedFields)) return [];
  const field = `f:${ANNOTATIONS.action}`;
  const out: Json[] = [];
  for (const entry of managedFields) {
    if (!isRecord(entry) || entry.subresource || typeof entry.time !== "string") continue;
    const fields = entry.fieldsV1;
    const meta = isRecord(fields) ? fields["f:metadata"] : undefined;
    const annotations = isRecord(meta) ? meta["f:annotations"] : undefined;
    if (!isRecord(annotations) || annotations[field] === undefined) continue;
    out.push({
      ...(typeof entry.manager === "string" ? { manager: entry.manager } : {}),
      ...(typeof entry.operation === "string" ? { operation: entry.operation } : {}),
      time: entry.time,
      fieldsV1: { "f:metadata": { "f:annotations": { [field]: {} } } },
    });
  }
  return out;
}

/** What readiness.ts reads of a Deployment's status (plus readyReplicas, for people reading logs). */
const DEPLOYMENT_STATUS_FIELDS = [
  "observedGeneration",
  "replicas",
  "updatedReplicas",
  "readyReplicas",
  "availableReplicas",
  "unavailableReplicas",
  "conditions",
] as const;

function pick(value: unknown, keys: readonly string[]): Json | undefined {
  if (!isRecord(value)) return undefined;
  const out: Json = {};
  for (const key of keys) if (value[key] !== undefined) out[key] = value[key];
  return out;
}

const asObject = (o: Json): KubernetesObject => o as KubernetesObject;

function withMetadata(obj: Json, metadata: Json, drop: readonly string[] = []): Json {
  const out: Json = { ...obj, metadata };
  for (const key of drop) delete out[key];
  return out;
}

/** A trimmer from a rule on the object (plain JSON: a watch event's, or a list item after plainJson). */
function trimmer(rule: (obj: Json) => Json): Trim {
  return (obj) => asObject(rule(obj as unknown as Json));
}

/** Per-kind trimmers, by the informer names of cluster-cache.ts. */
export const TRIM = {
  canaries: trimmer((o) => {
    const metadata = trimMetadata(o.metadata, { keepLastApplied: false });
    const action = actionManagedFields(isRecord(o.metadata) ? o.metadata.managedFields : undefined);
    if (action.length > 0) metadata.managedFields = action;
    return withMetadata(o, metadata);
  }),
  deployments: trimmer((o) => {
    const out = withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: false }), ["status"]);
    const status = pick(o.status, DEPLOYMENT_STATUS_FIELDS);
    if (status !== undefined) out.status = status;
    return out;
  }),
  services: trimmer((o) => withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: false }), ["status"])),
  configMaps: trimmer((o) =>
    withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: controlledByCanary(o.metadata) })),
  ),
  /** VirtualServices, DestinationRules and HTTPRoutes */
  istio: trimmer((o) => {
    if (controlledByCanary(o.metadata))
      return withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: true }));
    return {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: trimMetadata(o.metadata, { keepLastApplied: false }),
    };
  }),
  autoscalers: trimmer((o) => {
    if (controlledByCanary(o.metadata))
      return withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: true }));
    const out = withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: false }), ["status"]);
    // controller.ts tells spec changes from the HPA controller's status writes by observedGeneration
    const status = pick(o.status, ["observedGeneration"]);
    if (status !== undefined) out.status = status;
    return out;
  }),
  /** MetricTemplates and AlertProviders: spec is read, metadata only for names */
  templates: trimmer((o) => withMetadata(o, trimMetadata(o.metadata, { keepLastApplied: false }))),
} satisfies Record<string, Trim>;
