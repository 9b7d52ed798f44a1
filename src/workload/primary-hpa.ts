// autoscalerRef: the target's HorizontalPodAutoscaler is mirrored as `<hpa>-primary` scaling the primary,
// as Flagger does, so production keeps autoscaling while the canary keeps its own HPA.
import type { V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { managedAnnotations, ownerReferenceFor } from "../router/ownership.js";

export const primaryHpaName = (hpaName: string): string => `${hpaName}-primary`;

export function buildPrimaryHpa(
  hpa: V2HorizontalPodAutoscaler,
  canary: Canary,
  primaryDeployment: string,
): V2HorizontalPodAutoscaler {
  const spec = structuredClone(hpa.spec);
  if (spec === undefined) throw new Error(`HorizontalPodAutoscaler ${hpa.metadata?.name} has no spec`);
  spec.scaleTargetRef = { ...spec.scaleTargetRef, name: primaryDeployment };
  const override = canary.spec.autoscalerRef?.primaryScalerReplicas;
  if (override?.minReplicas !== undefined) spec.minReplicas = override.minReplicas;
  if (override?.maxReplicas !== undefined) spec.maxReplicas = override.maxReplicas;
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: {
      name: primaryHpaName(hpa.metadata?.name ?? ""),
      namespace: hpa.metadata?.namespace ?? canary.metadata.namespace,
      labels: { ...hpa.metadata?.labels },
      annotations: managedAnnotations(undefined),
      ownerReferences: [ownerReferenceFor(canary)],
    },
    spec,
  };
}
