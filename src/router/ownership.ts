// Who owns a generated object. Every object Serin creates (Services, DestinationRules, the
// VirtualService, the primary Deployment and its ConfigMap/Secret copies) carries a controller
// ownerReference to its Canary, so deleting the Canary garbage-collects them and so the controller
// can tell its own objects from objects a user or another controller manages.
import type { V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { API_VERSION, CANARY_KIND, GROUP } from "../api/constants.js";

/** Flux's kustomize-controller leaves objects with this annotation alone (Flagger sets it too). */
export const FLUX_RECONCILE_ANNOTATION = "kustomize.toolkit.fluxcd.io/reconcile";
/** Labels/annotations containing this marker are Flux's bookkeeping and are never copied to generated objects. */
export const FLUX_TOOLKIT_MARKER = "toolkit.fluxcd.io";

type OwnerCanary = Pick<Canary, "metadata">;
type HasMetadata = { metadata?: V1ObjectMeta | undefined };

/** The controller ownerReference every generated object gets (GC on Canary deletion, no orphaning). */
export function ownerReferenceFor(canary: OwnerCanary): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: CANARY_KIND,
    name: canary.metadata.name ?? "",
    uid: canary.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** The ownerReference with controller: true, if any (Kubernetes allows at most one). */
export function controllerOf(obj: HasMetadata): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

function isCanaryRef(ref: V1OwnerReference): boolean {
  // Any version of our group counts: a future serin.dev/v1 must still recognise v1beta1 owners.
  return ref.kind === CANARY_KIND && ref.apiVersion.split("/")[0] === GROUP;
}

/** True when the object's controller is this very Canary (same uid; same name if the uid is unknown). */
export function isControlledBy(obj: HasMetadata, canary: OwnerCanary): boolean {
  const ref = controllerOf(obj);
  if (ref === undefined || !isCanaryRef(ref)) return false;
  const uid = canary.metadata.uid;
  return uid ? ref.uid === uid : ref.name === canary.metadata.name;
}

export type Ownership =
  /** Controlled by this Canary: the controller may update it freely. */
  | { status: "owned" }
  /** No controller at all (e.g. a Service shipped with the app): updating it means adopting it. */
  | { status: "unowned"; reason: string }
  /** Controlled by someone else: never overwrite. */
  | { status: "foreign"; reason: string };

/**
 * Classifies an existing object against the Canary that wants to write it. The reason strings are
 * written for `kubectl describe canary` events, so they name the object and the competing owner.
 */
export function ownershipOf(obj: HasMetadata, canary: OwnerCanary): Ownership {
  const what = `${obj.metadata?.name ?? "object"}`;
  if (isControlledBy(obj, canary)) return { status: "owned" };
  const ref = controllerOf(obj);
  if (ref === undefined) {
    return {
      status: "unowned",
      reason: `${what} exists and is not managed by Canary ${canary.metadata.name}`,
    };
  }
  if (isCanaryRef(ref) && ref.name === canary.metadata.name) {
    // Same name, different uid: the Canary was deleted and recreated before GC removed its objects.
    return {
      status: "foreign",
      reason: `${what} is still owned by a deleted Canary ${ref.name} (uid ${ref.uid}); waiting for garbage collection`,
    };
  }
  return { status: "foreign", reason: `${what} is controlled by ${ref.kind} ${ref.name}` };
}

/**
 * Reason to refuse writing `obj`, or undefined when writing is allowed. Objects without a controller
 * are allowed only when `adoptUnowned` is set (Flagger silently takes over a pre-existing apex Service
 * or VirtualService; the reconciler decides per kind).
 */
export function refuseToOverwrite(
  obj: HasMetadata,
  canary: OwnerCanary,
  opts: { adoptUnowned?: boolean } = {},
): string | undefined {
  const ownership = ownershipOf(obj, canary);
  if (ownership.status === "owned") return undefined;
  if (ownership.status === "unowned" && opts.adoptUnowned === true) return undefined;
  return ownership.reason;
}

/**
 * Keeps the entries of a label/annotation map whose key starts with one of the prefixes ("*" = all),
 * always dropping Flux's bookkeeping keys so Flux does not garbage-collect or fight over the copy.
 * Mirrors Flagger's -include-label-prefix (default: nothing is copied).
 */
export function includeByPrefix(
  entries: Readonly<Record<string, string>> | undefined,
  prefixes: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries ?? {})) {
    if (key.includes(FLUX_TOOLKIT_MARKER)) continue;
    if (prefixes.some((p) => p === "*" || (p !== "" && key.startsWith(p)))) out[key] = value;
  }
  return out;
}

/** Annotations of a generated object: the given ones plus Flux's "hands off" marker, as Flagger does. */
export function managedAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  return { ...annotations, [FLUX_RECONCILE_ANNOTATION]: "disabled" };
}

/**
 * Metadata of the apex route object (the VirtualService or the HTTPRoute): named like the apex Service,
 * with spec.service.apex's labels and annotations, Flux's marker, and owned by the Canary.
 */
export function apexRouteMetadata(canary: Pick<Canary, "metadata" | "spec">, name: string): V1ObjectMeta {
  const apex = canary.spec.service.apex;
  return {
    name,
    namespace: canary.metadata.namespace,
    labels: { ...apex?.labels },
    annotations: managedAnnotations(apex?.annotations),
    ownerReferences: [ownerReferenceFor(canary)],
  };
}
