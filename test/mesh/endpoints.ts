// Service -> ready pods (optionally narrowed by a DestinationRule subset), and who each pod is.
import { hostMatches, hostSpecificity, splitServiceFqdn } from "./hosts.js";
import type { DestinationRuleSpec } from "./istio-types.js";
import type { MeshIndex, ResolvedDestinationRule } from "./mesh-index.js";
import type { PodInfo, ServiceInfo } from "./model.js";
import { type PeerInfo, peerFromLabels } from "./peer.js";
import { visibleTo } from "./routing.js";

export function labelsSelect(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
) {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/**
 * Istio's destination_workload: the pod's controller, with a ReplicaSet replaced by its Deployment
 * (`catalog-primary-7d9f8` -> `catalog-primary`). Falls back to trimming the pod-template-hash suffix when
 * the ReplicaSet is not (yet) known, as Istio itself does.
 */
export function workloadOf(index: MeshIndex, pod: PodInfo): string {
  const owner = pod.owner;
  if (!owner) return pod.name;
  if (owner.kind !== "ReplicaSet") return owner.name;
  const rs = index.replicaSet(pod.namespace, owner.name);
  if (rs?.owner?.kind === "Deployment") return rs.owner.name;
  if (rs && !rs.owner) return rs.name;
  const hash = pod.labels["pod-template-hash"];
  if (hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
  return owner.name;
}

export function podPeer(index: MeshIndex, pod: PodInfo): PeerInfo {
  return peerFromLabels(workloadOf(index, pod), pod.namespace, pod.labels, pod.serviceAccount);
}

/** Pods that would be in the Service's ready endpoints, narrowed by `subsetLabels`, sorted by name. */
export function readyEndpoints(
  index: MeshIndex,
  service: ServiceInfo,
  subsetLabels: Readonly<Record<string, string>> | undefined,
): PodInfo[] {
  const selector = service.selector;
  if (!selector) return [];
  return index
    .podsIn(service.namespace)
    .filter(
      (p) =>
        p.ready &&
        !p.terminating &&
        labelsSelect(selector, p.labels) &&
        (!subsetLabels || labelsSelect(subsetLabels, p.labels)),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The DestinationRule that applies to `host` for a client in `clientNs`, with Istio's precedence:
 * the client's namespace, then the service's namespace, then any other visible one; within each, the most
 * specific host (exact before `*.suffix`), then the oldest.
 */
export function findDestinationRule(
  index: MeshIndex,
  host: string,
  clientNs: string,
): ResolvedDestinationRule | undefined {
  // Most specific host first (exact before wildcards); the sort is stable, so oldest first among equals.
  const candidates = index.destinationRules
    .filter((r) => hostMatches(r.host, host) && visibleTo(r.dr.spec.exportTo, r.dr.namespace, clientNs))
    .sort((a, b) => hostSpecificity(b.host) - hostSpecificity(a.host));
  const serviceNs = splitServiceFqdn(host)?.namespace;
  return (
    candidates.find((r) => r.dr.namespace === clientNs) ??
    candidates.find((r) => r.dr.namespace === serviceNs) ??
    candidates[0]
  );
}

export function findSubset(spec: DestinationRuleSpec, name: string) {
  return spec.subsets.find((s) => s.name === name);
}
