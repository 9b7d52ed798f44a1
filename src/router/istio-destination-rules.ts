// DestinationRules <svc>-primary and <svc>-canary (Flagger's reconcileDestinationRule). One rule per
// host rather than subsets of one host: the VirtualService routes to the two Services by name, so
// each side gets spec.service.trafficPolicy (load balancing, connection pool, outlier detection)
// on its own and Istio telemetry shows destination_service_name per side.
import type { V1ObjectMeta } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import type { TrafficPolicy } from "../api/istio.js";
import { ownerReferenceFor } from "./ownership.js";
import { serviceNames } from "./services.js";

/** Serin writes Istio objects at v1beta1 (served by every Istio since 1.8). */
export const ISTIO_NETWORKING_API_VERSION = "networking.istio.io/v1beta1";

export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: TrafficPolicy;
  [field: string]: unknown;
}

export interface DestinationRule {
  apiVersion: string;
  kind: "DestinationRule";
  metadata: V1ObjectMeta;
  spec: DestinationRuleSpec;
}

export interface CanaryDestinationRules {
  primary: DestinationRule;
  canary: DestinationRule;
}

export function buildDestinationRules(canary: Canary): CanaryDestinationRules {
  const names = serviceNames(canary);
  return {
    primary: buildDestinationRule(canary, names.primary),
    canary: buildDestinationRule(canary, names.canary),
  };
}

function buildDestinationRule(canary: Canary, host: string): DestinationRule {
  const spec: DestinationRuleSpec = { host };
  const policy = canary.spec.service.trafficPolicy;
  if (policy !== undefined) spec.trafficPolicy = structuredClone(policy);
  return {
    apiVersion: ISTIO_NETWORKING_API_VERSION,
    kind: "DestinationRule",
    // Flagger gives DestinationRules no labels/annotations of their own; only the owner.
    metadata: {
      name: host,
      namespace: canary.metadata.namespace,
      ownerReferences: [ownerReferenceFor(canary)],
    },
    spec,
  };
}
