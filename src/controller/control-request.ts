// Removing a consumed control request (docs/control.md). The request's outcome is in status.control
// first; only then are the annotations removed, with a JSON merge patch fenced by resourceVersion, so a
// request written meanwhile is never removed unread (409: the next reconcile reads it). A crash between
// the two writes leaves the annotations: the next reconcile finds their id in status.control, ignores
// the request and removes them.
import { type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import type { CanaryStatus } from "../api/canary.js";
import { CANARY_KIND, GROUP, VERSION } from "../api/constants.js";
import { requestRemovalPatch } from "../core/control.js";
import type { ControlRequest } from "../core/world.js";
import type { KubeClients } from "../kube/client.js";

export async function removeRequest(clients: KubeClients, obj: KubernetesObject): Promise<void> {
  const patch = requestRemovalPatch(obj.metadata?.resourceVersion);
  await clients.objects.patch(
    {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: CANARY_KIND,
      metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace, ...patch.metadata },
    } as unknown as KubernetesObject,
    undefined,
    undefined,
    "serin",
    undefined,
    PatchStrategy.MergePatch,
  );
}

/**
 * After the status write: removes the request if the recorded status consumed it (its id is in
 * status.control), fenced by the resourceVersion of the object just stored (or the one read, when
 * status needed no write: the crash case). Returns false when the removal must be tried again (a 409:
 * a newer request, or the object moved on); the next reconcile reads the request again and, finding its
 * id in status, only removes it.
 */
export async function settleRequest(
  clients: KubeClients,
  request: ControlRequest | undefined,
  recorded: CanaryStatus,
  latest: KubernetesObject,
  onError: (err: unknown) => void = () => {},
): Promise<boolean> {
  if (request === undefined || recorded.control?.id !== request.id) return true;
  try {
    await removeRequest(clients, latest);
    return true;
  } catch (err) {
    onError(err);
    return false;
  }
}
