// Reads the pods of the canary and the primary (on demand, at a check: no pod informer, whose memory would
// grow with the cluster) and says which run without Istio's sidecar (workload/sidecars.ts).
import type { V1Deployment, V1Pod } from "@kubernetes/client-node";
import type { KubeClients } from "../kube/client.js";
import { podSidecar, podsWithoutSidecar, sidecarSentence } from "../workload/sidecars.js";

function selectorOf(d: V1Deployment): string | undefined {
  const labels = d.spec?.selector.matchLabels;
  if (labels === undefined || Object.keys(labels).length === 0) return undefined;
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** The sentence for the pods without a sidecar, or undefined when all have one (or none could be read). */
export async function sidecarReport(
  clients: KubeClients,
  namespace: string,
  workloads: ReadonlyArray<V1Deployment | undefined>,
): Promise<string | undefined> {
  const pods = await Promise.all(
    workloads.map(async (d) => {
      const labelSelector = d ? selectorOf(d) : undefined;
      if (d === undefined || labelSelector === undefined) return [];
      // resourceVersion "0": served from the API server's watch cache, not etcd.
      const list = await clients.rest.send<{ items: V1Pod[] }>(
        "GET",
        { apiVersion: "v1", plural: "pods", namespace },
        { query: { labelSelector, resourceVersion: "0" } },
      );
      return list.items
        .filter((p) => p.metadata?.deletionTimestamp === undefined && p.status?.phase !== "Succeeded")
        .map((p) => podSidecar(p, d.metadata?.name ?? ""));
    }),
  );
  return sidecarSentence(podsWithoutSidecar(pods.flat()));
}
