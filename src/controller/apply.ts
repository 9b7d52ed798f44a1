// The writing half of the shell: makes the cluster match the decision. Every write is idempotent
// and carries the cached resourceVersion, so a stale cache turns into a 409 and a fresh reconcile,
// never into a lost update.
import {
  type KubernetesObject,
  PatchStrategy,
  type V1Deployment,
  type V1Service,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { DesiredCanaryScale, DesiredRouting } from "../core/desired.js";
import type { KubeClients } from "../kube/client.js";
import { adoptionPatch, replaceMapPatch } from "../router/apex-adoption.js";
import type { SessionCookies } from "../router/istio-session-affinity.js";
import { ownershipOf } from "../router/ownership.js";
import { buildServices, discoverPorts, selectTargetLabel } from "../router/services.js";
import { buildPrimaryConfig } from "../workload/config-refs.js";
import { canonicalJson } from "../workload/pod-template-hash.js";
import { buildPrimaryDeployment, promotePrimary } from "../workload/primary-deployment.js";
import { buildPrimaryHpa } from "../workload/primary-hpa.js";
import type { ClusterCache } from "./cluster-cache.js";
import type { Observation } from "./observe.js";
import { BlockedError, createOwned, ensureOwned, FIELD_MANAGER } from "./owned-objects.js";
import { RoutingShell } from "./routing.js";
import { readSecrets } from "./secret-reader.js";

export { BlockedError };

export class Applier {
  private readonly routing: RoutingShell;

  constructor(
    private readonly clients: KubeClients,
    private readonly cache: ClusterCache,
    private readonly log: Logger,
  ) {
    this.routing = new RoutingShell(clients, cache, log);
  }

  /** Canary `namespace/name` is gone (or acted on by another replica): nothing read for it is kept. */
  forget(canaryKey: string): void {
    this.routing.forget(canaryKey);
  }

  /** The primary to create from the target (on initialization, and a restore with no record). */
  initialPrimary(canary: Canary, obs: Observation, target: V1Deployment): V1Deployment {
    return buildPrimaryDeployment(target, canary, { trackedConfigs: trackedChecksums(obs) });
  }

  async createPrimary(
    canary: Canary,
    spec: EffectiveSpec,
    obs: Observation,
    primary: V1Deployment,
  ): Promise<void> {
    await this.syncPrimaryConfigs(canary, obs);
    await this.create(primary as KubernetesObject);
    this.log.info({ canary: canary.metadata.name, primary: spec.names.primaryWorkload }, "created primary");
  }

  /** Creates an object exactly as given (a primary restored from its record). */
  async createObject(obj: KubernetesObject): Promise<void> {
    await this.create(obj);
  }

  /** The primary with the target's current template, or undefined when there is nothing to promote. */
  promotedPrimary(canary: Canary, obs: Observation): V1Deployment | undefined {
    if (obs.target === undefined || obs.primary === undefined) return undefined;
    return promotePrimary(obs.primary, obs.target, canary, { trackedConfigs: trackedChecksums(obs) });
  }

  async promote(canary: Canary, spec: EffectiveSpec, obs: Observation, next: V1Deployment): Promise<void> {
    if (obs.target === undefined || obs.primary === undefined) return;
    await this.syncPrimaryConfigs(canary, obs);
    if (canonicalJson(next.spec) === canonicalJson(obs.primary.spec)) return;
    // A JSON patch of exactly the fields promotion owns, guarded by the resourceVersion we read: the
    // typed replace would drop fields newer than client-node's models, and a stale cache must fail.
    const ops: Array<Record<string, unknown>> = [
      // A resourceVersion in the patched object is a precondition the API server answers with 409 (a
      // failed JSON-patch "test" would be a 422, which reads as a refusal rather than a stale cache).
      { op: "replace", path: "/metadata/resourceVersion", value: obs.primary.metadata?.resourceVersion },
      { op: "add", path: "/metadata/labels", value: next.metadata?.labels ?? {} },
      { op: "add", path: "/metadata/annotations", value: next.metadata?.annotations ?? {} },
      { op: "add", path: "/spec/template", value: next.spec?.template },
    ];
    const fields = (next.spec ?? {}) as unknown as Record<string, unknown>;
    for (const field of [
      "replicas",
      "strategy",
      "minReadySeconds",
      "revisionHistoryLimit",
      "progressDeadlineSeconds",
    ]) {
      if (fields[field] !== undefined) ops.push({ op: "add", path: `/spec/${field}`, value: fields[field] });
    }
    await this.clients.rest.send(
      "PATCH",
      {
        apiVersion: "apps/v1",
        plural: "deployments",
        name: obs.primary.metadata?.name ?? spec.names.primaryWorkload,
        namespace: obs.primary.metadata?.namespace ?? "default",
      },
      { body: ops, contentType: PatchStrategy.JsonPatch, query: { fieldManager: FIELD_MANAGER } },
    );
    this.log.info(
      { canary: canary.metadata.name, primary: spec.names.primaryWorkload },
      "promoted template to primary",
    );
  }

  /** `<hpa>-primary` for spec.autoscalerRef; a note when the referenced HPA is missing. */
  async ensurePrimaryAutoscaler(canary: Canary, spec: EffectiveSpec): Promise<string | undefined> {
    const ref = spec.source.autoscalerRef;
    if (ref === undefined) return undefined;
    if (ref.kind !== "HorizontalPodAutoscaler") {
      return `autoscalerRef kind ${ref.kind} is not supported yet: only HorizontalPodAutoscaler is mirrored to the primary`;
    }
    const namespace = canary.metadata.namespace ?? "default";
    const hpa = this.cache.autoscalers.get(ref.name, namespace);
    if (hpa === undefined)
      return `HorizontalPodAutoscaler ${ref.name} (spec.autoscalerRef) does not exist: create it or remove autoscalerRef`;
    const desired = buildPrimaryHpa(hpa, canary, spec.names.primaryWorkload);
    const existing = this.cache.autoscalers.get(desired.metadata?.name ?? "", namespace);
    await this.ensureOwned(canary, desired as KubernetesObject, existing as KubernetesObject | undefined);
    return undefined;
  }

  /** Services and the router's objects (spec.provider: VirtualService + DestinationRules, or HTTPRoute) for `routing`. */
  async ensureRouting(
    canary: Canary,
    spec: EffectiveSpec,
    obs: Observation,
    routing: DesiredRouting,
    cookies: SessionCookies = {},
  ): Promise<string[]> {
    // Services select by the target's label: without the target they are left as they are, but the
    // weights still move (a deleted target's share must go back to the primary at once).
    const notes = obs.target === undefined ? [] : await this.ensureServices(canary, spec, obs.target);
    await this.routing.reconcile(canary, {
      primaryWeight: routing.primaryWeight,
      canaryWeight: routing.canaryWeight,
      mirror: routing.mirror,
      cookies,
    });
    return notes;
  }

  private async ensureServices(canary: Canary, spec: EffectiveSpec, target: V1Deployment): Promise<string[]> {
    const notes: string[] = [];
    const selector = selectTargetLabel(target.spec?.selector.matchLabels);
    if ("error" in selector) throw new BlockedError(`Deployment ${spec.targetRef.name}: ${selector.error}`);
    const extraPorts = spec.service.portDiscovery
      ? discoverPorts(canary, target.spec?.template.spec?.containers ?? [])
      : [];
    const services = buildServices(canary, selector, { extraPorts });
    for (const desired of [services.primary, services.canary, services.apex]) {
      const note = await this.ensureService(canary, desired, desired === services.apex);
      if (note) notes.push(note);
    }
    return notes;
  }

  async scaleCanary(spec: EffectiveSpec, obs: Observation, desired: DesiredCanaryScale): Promise<void> {
    const target = obs.target;
    if (target === undefined || desired === "leave") return;
    const current = target.spec?.replicas ?? 1;
    let wanted = 0;
    if (desired === "up") {
      if (current > 0) return; // scaled already, or an autoscaler owns the count
      wanted = Math.max(1, obs.primary?.spec?.replicas ?? 1);
    }
    if (current === wanted) return;
    await this.clients.objects.patch(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: spec.targetRef.name, namespace: target.metadata?.namespace },
        spec: { replicas: wanted },
      } as KubernetesObject,
      undefined,
      undefined,
      FIELD_MANAGER,
      undefined,
      PatchStrategy.MergePatch,
    );
    this.log.info({ deployment: spec.targetRef.name, replicas: wanted }, "scaled canary");
  }

  private async syncPrimaryConfigs(canary: Canary, obs: Observation): Promise<void> {
    for (const config of obs.trackedConfigs) {
      const copy = buildPrimaryConfig(config, canary).object;
      const name = copy.metadata?.name ?? "";
      const existing =
        config.kind === "configmap"
          ? this.cache.configMaps.get(name, copy.metadata?.namespace)
          : (await readSecrets(this.clients, copy.metadata?.namespace ?? "default", [name])).get(name);
      await this.ensureOwned(canary, copy as KubernetesObject, existing as KubernetesObject | undefined, [
        "data",
        "binaryData",
        "type",
      ]);
    }
  }

  private async ensureService(
    canary: Canary,
    desired: V1Service,
    apex: boolean,
  ): Promise<string | undefined> {
    const name = desired.metadata?.name ?? "";
    const existing = this.cache.services.get(name, desired.metadata?.namespace);
    if (existing === undefined) {
      await this.create(withKind(desired, "v1", "Service"));
      return undefined;
    }
    const ownership = ownershipOf(existing, canary);
    if (ownership.status === "foreign")
      throw new BlockedError(`Service ${ownership.reason}: delete it or rename spec.service.name`);
    if (ownership.status === "unowned" && !apex) {
      throw new BlockedError(`Service ${ownership.reason}: delete it so Serin can create it`);
    }
    if (ownership.status === "unowned") {
      const patch = adoptionPatch(existing, desired);
      if (patch === undefined) return undefined;
      await this.patchService(name, existing.metadata?.namespace, patch);
      return `Service ${name} now selects ${canonicalJson(desired.spec?.selector)} (the primary); its other ports and fields are kept, and it stays yours: it is not deleted with the Canary`;
    }
    const carries = (have: Record<string, string> | undefined, want: Record<string, string> | undefined) =>
      Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);
    const same =
      canonicalJson(existing.spec?.selector) === canonicalJson(desired.spec?.selector) &&
      canonicalJson(portsOf(existing)) === canonicalJson(portsOf(desired)) &&
      carries(existing.metadata?.labels, desired.metadata?.labels) &&
      carries(existing.metadata?.annotations, desired.metadata?.annotations);
    if (same) return undefined;
    await this.patchService(name, existing.metadata?.namespace, {
      metadata: {
        resourceVersion: existing.metadata?.resourceVersion,
        labels: desired.metadata?.labels,
        annotations: desired.metadata?.annotations,
      },
      spec: {
        selector: replaceMapPatch(existing.spec?.selector, desired.spec?.selector ?? {}),
        ports: desired.spec?.ports,
      },
    });
    return undefined;
  }

  /**
   * A merge patch rather than a replace: client-node's typed models would drop Service fields newer
   * than the library on a round trip; a patch sends only what Serin manages.
   */
  private async patchService(
    name: string,
    namespace: string | undefined,
    body: Record<string, unknown>,
  ): Promise<void> {
    await this.clients.rest.send(
      "PATCH",
      { apiVersion: "v1", plural: "services", name, namespace: namespace ?? "default" },
      { body, contentType: PatchStrategy.MergePatch, query: { fieldManager: FIELD_MANAGER } },
    );
  }

  private async ensureOwned(
    canary: Canary,
    desired: KubernetesObject,
    existing: KubernetesObject | undefined,
    fields: string[] = ["spec"],
  ): Promise<void> {
    await ensureOwned(this.clients, canary, desired, existing, fields);
  }

  private async create(obj: KubernetesObject): Promise<void> {
    await createOwned(this.clients, obj);
  }
}

function trackedChecksums(obs: Observation): Record<string, string> {
  return obs.world.target?.trackedConfigs ?? {};
}

function portsOf(svc: V1Service) {
  return (svc.spec?.ports ?? []).map((p) => ({
    name: p.name,
    port: p.port,
    targetPort: p.targetPort,
    protocol: p.protocol ?? "TCP",
    appProtocol: p.appProtocol,
  }));
}

function withKind<T extends object>(obj: T, apiVersion: string, kind: string): KubernetesObject {
  return { ...obj, apiVersion, kind } as KubernetesObject;
}
