// Which pods of the canary and the primary run without Istio's sidecar, and the sentence that says so.
// A pod without a sidecar is invisible to the mesh: routes do not steer its outbound traffic, and its
// requests are reported by no server sidecar, so the checks and the traffic split cannot see them. Pure.
import type { V1Pod } from "@kubernetes/client-node";

const INJECT = "sidecar.istio.io/inject";
/** Written by Istio's injector (and `istioctl kube-inject`) on every pod it injected. */
const STATUS = "sidecar.istio.io/status";
/** Ambient mode: meshed by ztunnel, no sidecar by design. */
const AMBIENT = "ambient.istio.io/redirection";

export interface PodSidecar {
  name: string;
  workload: string;
  sidecar: boolean;
  /** the pod (or its namespace's injector, through the pod) opted out: sidecar.istio.io/inject "false" */
  optedOut: boolean;
}

const isProxy = (c: { name: string; restartPolicy?: string }): boolean => c.name === "istio-proxy";

export function podSidecar(pod: V1Pod, workload: string): PodSidecar {
  const meta = pod.metadata ?? {};
  const sidecar =
    (pod.spec?.containers ?? []).some(isProxy) ||
    (pod.spec?.initContainers ?? []).some(isProxy) ||
    meta.annotations?.[STATUS] !== undefined ||
    meta.annotations?.[AMBIENT] === "enabled";
  const optedOut = meta.labels?.[INJECT] === "false" || meta.annotations?.[INJECT] === "false";
  return { name: meta.name ?? "", workload, sidecar, optedOut };
}

/**
 * The pods to report: those that opted out of injection, and, when some pods of the two workloads have a
 * sidecar, those that have none (created before injection was enabled). Where no pod has a sidecar and none
 * opted out, nothing is said: the mesh is provided another way (ambient, or a node-level proxy) or not at
 * all, and the traffic split check tells which.
 */
export function podsWithoutSidecar(pods: readonly PodSidecar[]): PodSidecar[] {
  const someInjected = pods.some((p) => p.sidecar);
  return pods.filter((p) => !p.sidecar && (p.optedOut || someInjected));
}

/** "pods without the Istio sidecar: catalog-7d9f-x2 (catalog, sidecar.istio.io/inject: false), ...: ..." */
export function sidecarSentence(missing: readonly PodSidecar[]): string | undefined {
  if (missing.length === 0) return undefined;
  const shown = missing
    .slice(0, 3)
    .map((p) => `${p.name} (${p.workload}${p.optedOut ? `, ${INJECT}: "false"` : ""})`);
  const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
  return `pods without the Istio sidecar: ${shown.join(", ")}${more}: the mesh neither routes nor reports their requests, so checks and the traffic split cannot see them; remove ${INJECT}: "false" or enable injection, then restart them`;
}
