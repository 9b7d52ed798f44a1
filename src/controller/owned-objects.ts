// Writing objects a Canary owns (generated DestinationRules, VirtualServices, HTTPRoutes, the
// primary's HPA and config copies): create when absent, replace the managed fields when they differ,
// and refuse an object someone else controls. Every write carries the cached resourceVersion, so a
// stale cache is a 409 and a fresh reconcile, never a lost update.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import type { KubeClients } from "../kube/client.js";
import { ownershipOf } from "../router/ownership.js";
import { canonicalJson } from "../workload/pod-template-hash.js";

export const FIELD_MANAGER = "serin";

/** A condition the user must resolve (e.g. a VirtualService owned by someone else): not retried hot. */
export class BlockedError extends Error {
  override name = "BlockedError";
}

export async function createOwned(clients: KubeClients, obj: KubernetesObject): Promise<void> {
  // AlreadyExists (409) means the cache is behind: it propagates as a conflict, and the reconcile
  // runs again on fresher state rather than assuming the existing object is what we wanted.
  await clients.objects.create(obj, undefined, undefined, FIELD_MANAGER);
}

/** Creates, or updates when the managed fields differ; refuses objects controlled by someone else. */
export async function ensureOwned(
  clients: KubeClients,
  canary: Canary,
  desired: KubernetesObject,
  existing: KubernetesObject | undefined,
  fields: string[] = ["spec"],
): Promise<void> {
  if (existing === undefined) {
    await createOwned(clients, desired);
    return;
  }
  const ownership = ownershipOf(existing, canary);
  if (ownership.status !== "owned") {
    throw new BlockedError(
      `${desired.kind} ${ownership.reason}: delete it (Serin generates it from the Canary) or point the Canary at another service name`,
    );
  }
  const record = (o: KubernetesObject) => o as unknown as Record<string, unknown>;
  const differs = fields.some(
    (f) => canonicalJson(record(existing)[f]) !== canonicalJson(record(desired)[f]),
  );
  if (!differs) return;
  const next = { ...structuredClone(existing) } as Record<string, unknown>;
  for (const f of fields) next[f] = record(desired)[f];
  // The cache may hold the object at another served version (HTTPRoute v1 vs v1beta1): write at ours.
  next.apiVersion = desired.apiVersion;
  await clients.objects.replace(next as unknown as KubernetesObject, undefined, undefined, FIELD_MANAGER);
}
