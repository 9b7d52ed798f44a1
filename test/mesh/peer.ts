// Workload identity of either end of a request, as Istio's peer metadata exchange reports it.
import { CLUSTER_DOMAIN } from "./hosts.js";

export const UNKNOWN = "unknown";
export const MESH_CLUSTER_ID = "Kubernetes";

export interface PeerInfo {
  workload: string;
  namespace: string;
  principal: string;
  app: string;
  version: string;
  canonicalService: string;
  canonicalRevision: string;
  cluster: string;
}

/** An end the sidecar knows nothing about (no metadata exchange happened). */
export const UNKNOWN_PEER: Readonly<PeerInfo> = Object.freeze({
  workload: UNKNOWN,
  namespace: UNKNOWN,
  principal: UNKNOWN,
  app: UNKNOWN,
  version: UNKNOWN,
  canonicalService: UNKNOWN,
  canonicalRevision: "latest",
  cluster: UNKNOWN,
});

export function spiffePrincipal(namespace: string, serviceAccount: string): string {
  return `spiffe://${CLUSTER_DOMAIN}/ns/${namespace}/sa/${serviceAccount || "default"}`;
}

/** Istio's canonical service: label, then app.kubernetes.io/name, then app, then the workload name. */
export function canonicalService(labels: Readonly<Record<string, string>>, workload: string): string {
  return (
    labels["service.istio.io/canonical-name"] || labels["app.kubernetes.io/name"] || labels.app || workload
  );
}

/** Istio's canonical revision: label, then app.kubernetes.io/version, then version, then "latest". */
export function canonicalRevision(labels: Readonly<Record<string, string>>): string {
  return (
    labels["service.istio.io/canonical-revision"] ||
    labels["app.kubernetes.io/version"] ||
    labels.version ||
    "latest"
  );
}

export function peerFromLabels(
  workload: string,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  serviceAccount: string,
): PeerInfo {
  return {
    workload,
    namespace,
    principal: spiffePrincipal(namespace, serviceAccount),
    app: labels.app || labels["app.kubernetes.io/name"] || UNKNOWN,
    version: labels.version || UNKNOWN,
    canonicalService: canonicalService(labels, workload),
    canonicalRevision: canonicalRevision(labels),
    cluster: MESH_CLUSTER_ID,
  };
}

/** `app=webapp,version=v1` -> {app: "webapp", version: "v1"}. */
export function parseLabelList(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function formatLabelList(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** The calling workload, as told by the caller with the x-mesh-source-* headers. */
export interface SourceIdentity {
  peer: PeerInfo;
  labels: Record<string, string>;
  namespace: string;
  /** Used by consistentHash.useSourceIp. */
  ip: string;
}

export const SOURCE_HEADERS = {
  workload: "x-mesh-source-workload",
  namespace: "x-mesh-source-namespace",
  labels: "x-mesh-source-labels",
  serviceAccount: "x-mesh-source-service-account",
  ip: "x-mesh-source-ip",
} as const;

export function sourceFromHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  defaultNamespace: string,
  remoteAddress: string,
): SourceIdentity {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const workload = one(SOURCE_HEADERS.workload);
  const namespace = one(SOURCE_HEADERS.namespace) || defaultNamespace;
  const labels = parseLabelList(one(SOURCE_HEADERS.labels));
  const ip = one(SOURCE_HEADERS.ip) || remoteAddress;
  if (!workload) return { peer: { ...UNKNOWN_PEER }, labels, namespace, ip };
  const sa = one(SOURCE_HEADERS.serviceAccount) || "default";
  return { peer: peerFromLabels(workload, namespace, labels, sa), labels, namespace, ip };
}
