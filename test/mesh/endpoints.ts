// Who a pod is: its workload (Istio's destination_workload) and its peer metadata for telemetry.
import type { MeshIndex } from "./mesh-index.js";
import type { PodInfo } from "./model.js";
import { type PeerInfo, peerFromLabels } from "./peer.js";

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
