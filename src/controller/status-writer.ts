import type { KubernetesObject } from "@kubernetes/client-node";
import type { CanaryStatus } from "../api/canary.js";
import { CANARY_PLURAL, GROUP, VERSION } from "../api/constants.js";
import type { KubeClients } from "../kube/client.js";
import { canonicalJson } from "../workload/pod-template-hash.js";

/**
 * Writes status through the /status subresource with the resourceVersion the decision was based on:
 * a concurrent change (a new image, a user edit) makes it fail with 409, and the reconcile reruns on
 * the fresh object instead of overwriting it. Returns the stored object, or undefined when nothing
 * needed writing.
 */
export async function writeStatus(
  clients: KubeClients,
  raw: KubernetesObject,
  next: CanaryStatus,
): Promise<KubernetesObject | undefined> {
  const current = (raw as { status?: unknown }).status;
  if (canonicalJson(current ?? {}) === canonicalJson(next)) return undefined;
  return clients.rest.send<KubernetesObject>(
    "PUT",
    {
      apiVersion: `${GROUP}/${VERSION}`,
      plural: CANARY_PLURAL,
      namespace: raw.metadata?.namespace ?? "default",
      name: raw.metadata?.name ?? "",
      subresource: "status",
    },
    { body: { ...raw, status: next } },
  );
}
