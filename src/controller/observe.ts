import type { V1Deployment } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { ObservedWorld, TargetView } from "../core/world.js";
import {
  type ConfigObject,
  type ConfigRef,
  configRefKey,
  findTargetConfigRefs,
  trackConfigs,
} from "../workload/config-refs.js";
import { computeRevision } from "../workload/pod-template-hash.js";
import { PRIMARY_REVISION_ANNOTATION } from "../workload/primary-deployment.js";
import { deploymentReadiness } from "../workload/readiness.js";
import type { ClusterCache } from "./cluster-cache.js";
import type { SecretSnapshot } from "./secret-reader.js";

export interface Observation {
  world: ObservedWorld;
  target: V1Deployment | undefined;
  primary: V1Deployment | undefined;
  /** configs the target uses, for copying to "-primary" on create and promotion */
  trackedConfigs: ConfigObject[];
  /** problems the user must fix that do not stop the decision (e.g. a required ConfigMap is missing) */
  warnings: string[];
}

export function lookupConfig(
  cache: ClusterCache,
  secrets: SecretSnapshot,
  namespace: string,
  ref: Pick<ConfigRef, "kind" | "name">,
): ConfigObject | undefined {
  if (ref.kind === "configmap") {
    const object = cache.configMaps.get(ref.name, namespace);
    return object ? { kind: "configmap", object } : undefined;
  }
  const object = secrets.get(ref.name);
  return object ? { kind: "secret", object } : undefined;
}

/** Names of the Secrets the target references: what the reconciler reads before observing. */
export function targetSecretNames(cache: ClusterCache, canary: Canary, spec: EffectiveSpec): string[] {
  const target = cache.deployments.get(spec.targetRef.name, canary.metadata.namespace ?? "default");
  return target
    ? findTargetConfigRefs(target)
        .filter((r) => r.kind === "secret")
        .map((r) => r.name)
    : [];
}

/** Everything decide() needs, from the informer caches and the Secrets read just before (no API calls). */
export function observe(
  cache: ClusterCache,
  secrets: SecretSnapshot,
  canary: Canary,
  spec: EffectiveSpec,
  now: Date,
): Observation {
  const namespace = canary.metadata.namespace ?? "default";
  const target = cache.deployments.get(spec.targetRef.name, namespace);
  const primary = cache.deployments.get(spec.names.primaryWorkload, namespace);
  const warnings: string[] = [];
  const trackedConfigs: ConfigObject[] = [];
  let targetView: TargetView | undefined;
  if (target) {
    const refs = findTargetConfigRefs(target);
    const tracked = trackConfigs(refs, (ref) => lookupConfig(cache, secrets, namespace, ref));
    for (const ref of tracked.missingRequired) {
      warnings.push(`${ref.kind} ${ref.name} used by ${spec.targetRef.name} does not exist: create it`);
    }
    for (const ref of refs) {
      const config = lookupConfig(cache, secrets, namespace, ref);
      if (config && configRefKey(ref) in tracked.checksums) trackedConfigs.push(config);
    }
    const started = canary.status?.lastTransitionTime
      ? new Date(canary.status.lastTransitionTime)
      : undefined;
    const image = target.spec?.template.spec?.containers?.[0]?.image;
    targetView = {
      ...(image ? { image } : {}),
      revision: computeRevision(target.spec?.template ?? {}, tracked.checksums),
      trackedConfigs: tracked.checksums,
      readiness: deploymentReadiness(
        target,
        spec.analysis.canaryReadyThreshold,
        spec.progressDeadlineSeconds,
        now,
        started,
      ),
    };
  }
  return {
    world: {
      now,
      target: targetView,
      primary: primary
        ? {
            readiness: deploymentReadiness(
              primary,
              spec.analysis.primaryReadyThreshold,
              spec.progressDeadlineSeconds,
              now,
            ),
            revision: primary.spec?.template.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION],
          }
        : undefined,
    },
    target,
    primary,
    trackedConfigs,
    warnings,
  };
}
