// revertOnDeletion: while the Canary exists it carries Serin's finalizer; when it is deleted, Serin
// gives the app back as it was before Serin (target scaled up, apex Service selecting the target's
// pods, no VirtualService or HTTPRoute) and only then lets garbage collection remove the primary and the rest.
// A Canary adopting the user's route (spec.service.routeRef) carries the finalizer too, with or without
// revertOnDeletion: its named routes go back to primary 100 / canary 0, as the user wrote them.
import { type KubernetesObject, PatchStrategy } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary } from "../api/canary.js";
import { FINALIZER, GROUP, VERSION } from "../api/constants.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { KubeClients } from "../kube/client.js";
import { readOriginal, replaceMapPatch, restorePatch } from "../router/apex-adoption.js";
import { isControlledBy } from "../router/ownership.js";
import { selectTargetLabel } from "../router/services.js";
import { deploymentReadiness } from "../workload/readiness.js";
import type { ClusterCache } from "./cluster-cache.js";
import { RoutingShell } from "./routing.js";

export const hasFinalizer = (obj: KubernetesObject): boolean =>
  obj.metadata?.finalizers?.includes(FINALIZER) ?? false;

/** Sets metadata.finalizers with the resourceVersion it was read at (409 if someone else changed it). */
export async function setFinalizers(
  clients: KubeClients,
  raw: KubernetesObject,
  finalizers: string[],
): Promise<void> {
  await clients.objects.patch(
    {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "Canary",
      metadata: {
        name: raw.metadata?.name,
        namespace: raw.metadata?.namespace,
        resourceVersion: raw.metadata?.resourceVersion,
        finalizers,
      },
    },
    undefined,
    undefined,
    "serin",
    undefined,
    PatchStrategy.MergePatch,
  );
}

export type RevertProgress = { done: true; message: string } | { done: false; message: string };

/** Whether a Canary needs the finalizer: something to give back when it is deleted. */
export const needsFinalizer = (spec: EffectiveSpec): boolean =>
  spec.revertOnDeletion || spec.source.service.routeRef !== undefined;

/** One step of the revert; idempotent, returns whether the finalizer may be removed now. */
export async function revertStep(
  clients: KubeClients,
  cache: ClusterCache,
  canary: Canary,
  spec: EffectiveSpec,
  log: Logger,
): Promise<RevertProgress> {
  const namespace = canary.metadata.namespace ?? "default";
  const routing = new RoutingShell(clients, cache, log);
  // 0. An adopted route first: the primary still serves, so 100/0 is safe at once, and it is owed with
  //    or without revertOnDeletion. What cannot be given back (renamed by someone) is told, not waited on.
  const skipped = await routing.giveBack(canary);
  const adopted = spec.source.service.routeRef;
  const gaveBack =
    adopted === undefined
      ? ""
      : skipped.length === 0
        ? `; ${adopted.kind} ${adopted.name} given back (primary 100, canary 0)`
        : `; ${adopted.kind} ${adopted.name} not given back: ${skipped.join("; ")}`;
  if (!spec.revertOnDeletion)
    return { done: true, message: `nothing else to restore (revertOnDeletion is off)${gaveBack}` };
  const target = cache.deployments.get(spec.targetRef.name, namespace);
  const primary = cache.deployments.get(spec.names.primaryWorkload, namespace);
  if (target === undefined)
    return { done: true, message: `target ${spec.targetRef.name} is gone; nothing to restore${gaveBack}` };

  // 1. The target takes over serving at the primary's size.
  const wanted = Math.max(1, primary?.spec?.replicas ?? 1);
  if ((target.spec?.replicas ?? 0) === 0) {
    await clients.objects.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: spec.targetRef.name, namespace },
        spec: { replicas: wanted },
      } as KubernetesObject,
      undefined,
      undefined,
      "serin",
      undefined,
      PatchStrategy.MergePatch,
    );
    return { done: false, message: `scaling ${spec.targetRef.name} back up to ${wanted}` };
  }
  // Progress is judged from when the revert started, not from the target's last rollout long ago.
  const since = canary.status?.lastTransitionTime ? new Date(canary.status.lastTransitionTime) : undefined;
  const readiness = deploymentReadiness(target, 100, spec.progressDeadlineSeconds, new Date(), since);
  if (!readiness.ready && !readiness.deadlineExceeded)
    return { done: false, message: `waiting for ${readiness.message}` };

  // 2. The apex Service selects the target's pods again. An adopted Service gets back exactly the
  //    selector and ports its user wrote; one Serin created is released (no owner) so it survives GC;
  //    anybody else's is left alone.
  const apex = cache.services.get(spec.names.apex, namespace);
  if (apex) {
    const original = readOriginal(apex);
    const patch = async (body: Record<string, unknown>) =>
      clients.rest.send(
        "PATCH",
        { apiVersion: "v1", plural: "services", name: spec.names.apex, namespace },
        { body, contentType: PatchStrategy.MergePatch, query: { fieldManager: "serin" } },
      );
    if (original) {
      await patch(restorePatch(apex, original));
    } else if (isControlledBy(apex, canary)) {
      const selector = selectTargetLabel(target.spec?.selector.matchLabels);
      if (!("error" in selector)) {
        await patch({
          metadata: {
            resourceVersion: apex.metadata?.resourceVersion,
            ownerReferences: (apex.metadata?.ownerReferences ?? []).filter(
              (r) => r.uid !== canary.metadata.uid,
            ),
          },
          spec: { selector: replaceMapPatch(apex.spec?.selector, { [selector.label]: selector.value }) },
        });
      }
    }
  }

  // 3. No route object (the VirtualService, or the HTTPRoute with gatewayapi): plain Service routing
  //    to the target.
  if (!(await routing.finalize(canary)))
    return { done: false, message: "waiting for the route cache to remove the generated route" };
  log.info(
    { canary: canary.metadata.name },
    "reverted: target serves again, apex Service restored, generated route removed",
  );
  return {
    done: true,
    message: `${spec.targetRef.name} serves all traffic again; generated objects are garbage-collected${gaveBack}`,
  };
}
