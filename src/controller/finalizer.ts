// revertOnDeletion: while the Canary exists it carries Serin's finalizer; when it is deleted, Serin
// gives the app back as it was before Serin (target scaled up, apex Service selecting the target's
// pods, no VirtualService or HTTPRoute) and only then lets garbage collection remove the primary and the rest.
// A Canary adopting the user's route (spec.service.routeRef) carries the finalizer too, and is always
// reverted, with or without revertOnDeletion: its named routes go back to primary 100 / canary 0, as the
// user wrote them, and since that route still sends to <svc>-primary and <svc>-canary, those Services
// are released (no owner, so garbage collection keeps them) and <svc>-primary selects the target's pods
// once the target serves. Otherwise deleting the Canary would delete what the user's route sends to.
import { type KubernetesObject, PatchStrategy, type V1Service } from "@kubernetes/client-node";
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
  if (!spec.revertOnDeletion && adopted === undefined)
    return { done: true, message: "nothing to restore (revertOnDeletion is off)" };
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
  //    anybody else's is left alone. With an adopted route, <svc>-primary and <svc>-canary too.
  const targetSelector = selectTargetLabel(target.spec?.selector.matchLabels);
  const services = [spec.names.apex];
  if (adopted !== undefined) services.push(spec.names.primaryService, spec.names.canaryService);
  for (const name of services) {
    const service = cache.services.get(name, namespace);
    const original = service ? readOriginal(service) : undefined;
    const patch = (body: Record<string, unknown>) =>
      clients.rest.send(
        "PATCH",
        { apiVersion: "v1", plural: "services", name, namespace },
        { body, contentType: PatchStrategy.MergePatch, query: { fieldManager: "serin" } },
      );
    if (service && original) await patch(restorePatch(service, original));
    else if (service && isControlledBy(service, canary) && !("error" in targetSelector))
      await patch(releasePatch(service, canary, targetSelector));
  }

  // 3. No route object (the VirtualService, or the HTTPRoute with gatewayapi): plain Service routing
  //    to the target.
  if (!(await routing.finalize(canary)))
    return { done: false, message: "waiting for the route cache to remove the generated route" };
  log.info(
    { canary: canary.metadata.name },
    "reverted: target serves again, apex Service restored, generated route removed",
  );
  const released =
    adopted === undefined
      ? ""
      : `; ${spec.names.primaryService} and ${spec.names.canaryService} kept and now select ${spec.targetRef.name}'s pods`;
  return {
    done: true,
    message: `${spec.targetRef.name} serves all traffic again; generated objects are garbage-collected${released}${gaveBack}`,
  };
}

/** A Service Serin created, released: no owner (garbage collection keeps it), selecting the target's pods. */
function releasePatch(
  service: V1Service,
  canary: Canary,
  selector: { label: string; value: string },
): Record<string, unknown> {
  return {
    metadata: {
      resourceVersion: service.metadata?.resourceVersion,
      ownerReferences: (service.metadata?.ownerReferences ?? []).filter((r) => r.uid !== canary.metadata.uid),
    },
    spec: { selector: replaceMapPatch(service.spec?.selector, { [selector.label]: selector.value }) },
  };
}
