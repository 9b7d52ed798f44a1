// The three ClusterIP Services of a Canary, built like Flagger's KubernetesDefaultRouter:
//   <svc>          apex: what clients call; selects the primary pods (Istio then splits by VirtualService)
//   <svc>-primary  selects the primary pods (<value>-primary)
//   <svc>-canary   selects the target's own pods (<value>)
// where <svc> is spec.service.name (default targetRef.name) and <value> is the value of the
// target's selector label (see selectTargetLabel).
import type { V1Container, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { DEFAULTS } from "../api/defaults.js";
import { LABEL_VALUE_MAX, labelValueProblem } from "../api/names.js";
import { managedAnnotations, ownerReferenceFor } from "./ownership.js";

/** Flagger's default -selector-labels: the first of these found in spec.selector.matchLabels wins. */
export const DEFAULT_SELECTOR_LABELS: readonly string[] = ["app", "name", "app.kubernetes.io/name"];
export const PRIMARY_SUFFIX = "-primary";
export const CANARY_SUFFIX = "-canary";
/** Container names of mesh sidecars, never exposed by portDiscovery (as in Flagger). */
const SIDECAR_CONTAINERS = new Set(["istio-proxy", "envoy"]);

export interface ServiceNames {
  apex: string;
  primary: string;
  canary: string;
}

/** Flagger's GetServiceNames. */
export function serviceNames(canary: Pick<Canary, "spec">): ServiceNames {
  const apex = canary.spec.service.name || canary.spec.targetRef.name;
  return { apex, primary: `${apex}${PRIMARY_SUFFIX}`, canary: `${apex}${CANARY_SUFFIX}` };
}

/** The label that tells primary pods from canary pods, and its value on the target's pods. */
export interface SelectorLabel {
  label: string;
  value: string;
}

/**
 * Picks the selector label like Flagger's getSelectorLabel: the first of `selectorLabels` (in that
 * order, configurable like Flagger's -selector-labels) present in the target's
 * spec.selector.matchLabels. Returns an error message when none is present, because the Services
 * and the primary Deployment cannot be built without it.
 */
export function selectTargetLabel(
  matchLabels: Readonly<Record<string, string>> | undefined,
  selectorLabels: readonly string[] = DEFAULT_SELECTOR_LABELS,
): SelectorLabel | { error: string } {
  for (const label of selectorLabels) {
    const value = matchLabels?.[label];
    if (value === undefined) continue;
    // The primary's pods and Services carry "<value>-primary": a value the apiserver would refuse on
    // every create is reported once, here, instead.
    const why = labelValueProblem(primaryLabelValue(value));
    if (why !== undefined) {
      return {
        error: `the primary's pods would be labelled ${label}: ${primaryLabelValue(value)}, which is not a valid label value (${why}): shorten the value of ${label} in spec.selector.matchLabels to at most ${LABEL_VALUE_MAX - PRIMARY_SUFFIX.length} characters`,
      };
    }
    return { label, value };
  }
  return { error: `spec.selector.matchLabels must contain one of ${selectorLabels.join(", ")}` };
}

/** The label value the primary pods carry (Flagger: "<value>-primary"). */
export function primaryLabelValue(value: string): string {
  return `${value}${PRIMARY_SUFFIX}`;
}

/**
 * Extra Service ports for spec.service.portDiscovery (Flagger's getPorts): every container port of
 * the target except the main one and the mesh sidecars', named by the port's name or
 * "tcp-<container>-<index>". Sorted by name so the generated Service is stable.
 */
export function discoverPorts(
  canary: Pick<Canary, "spec">,
  containers: readonly V1Container[],
): V1ServicePort[] {
  const { port, targetPort } = canary.spec.service;
  const ports = new Map<string, number>();
  for (const container of containers) {
    if (SIDECAR_CONTAINERS.has(container.name)) continue;
    (container.ports ?? []).forEach((p, i) => {
      const isMain =
        targetPort === undefined
          ? p.containerPort === port
          : typeof targetPort === "number"
            ? p.containerPort === targetPort
            : p.name === targetPort;
      if (isMain) return;
      ports.set(p.name || `tcp-${container.name}-${i}`, p.containerPort);
    });
  }
  return [...ports.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, p]) => ({ name, protocol: "TCP", port: p, targetPort: p }));
}

export interface ServiceBuildOptions {
  /** Additional ports, typically discoverPorts(...) when spec.service.portDiscovery is set. */
  extraPorts?: readonly V1ServicePort[];
}

export interface CanaryServices {
  apex: V1Service;
  primary: V1Service;
  canary: V1Service;
}

/** Builds the apex, primary and canary Services; `selector` comes from selectTargetLabel(target). */
export function buildServices(
  canary: Canary,
  selector: SelectorLabel,
  options: ServiceBuildOptions = {},
): CanaryServices {
  const names = serviceNames(canary);
  const svc = canary.spec.service;
  const primaryValue = primaryLabelValue(selector.value);
  return {
    apex: buildService(canary, names.apex, { [selector.label]: primaryValue }, svc.apex, selector, options),
    primary: buildService(
      canary,
      names.primary,
      { [selector.label]: primaryValue },
      svc.primary,
      selector,
      options,
    ),
    canary: buildService(
      canary,
      names.canary,
      { [selector.label]: selector.value },
      svc.canary,
      selector,
      options,
    ),
  };
}

type CustomMetadata = { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined;

/**
 * spec.service.unmanagedMetadata (Flagger): label and annotation keys that other tools own on the
 * generated Services. Serin leaves them out of what it writes, so it neither sets, overwrites nor
 * removes them (Service updates are merge patches of the keys Serin writes).
 */
function withoutUnmanaged(
  entries: Record<string, string>,
  unmanaged: readonly string[] | undefined,
): Record<string, string> {
  if (unmanaged === undefined || unmanaged.length === 0) return entries;
  const skip = new Set(unmanaged);
  return Object.fromEntries(Object.entries(entries).filter(([key]) => !skip.has(key)));
}

function buildService(
  canary: Canary,
  name: string,
  podSelector: Record<string, string>,
  metadata: CustomMetadata,
  selector: SelectorLabel,
  options: ServiceBuildOptions,
): V1Service {
  const svc = canary.spec.service;
  const mainPort: V1ServicePort = {
    name: svc.portName || DEFAULTS.portName,
    protocol: "TCP",
    port: svc.port,
    // Flagger: targetPort defaults to port; a string names a container port.
    targetPort: svc.targetPort ?? svc.port,
  };
  if (svc.appProtocol) mainPort.appProtocol = svc.appProtocol;

  const spec: NonNullable<V1Service["spec"]> = {
    type: "ClusterIP",
    selector: podSelector,
    ports: [mainPort, ...(options.extraPorts ?? [])],
  };
  if (svc.headless) spec.clusterIP = "None";
  if (svc.trafficDistribution) spec.trafficDistribution = svc.trafficDistribution;

  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: canary.metadata.namespace,
      // Flagger labels each Service with <selector label>: <service name>, over the user's labels.
      labels: withoutUnmanaged(
        { ...metadata?.labels, [selector.label]: name },
        svc.unmanagedMetadata?.labels,
      ),
      annotations: withoutUnmanaged(
        managedAnnotations(metadata?.annotations),
        svc.unmanagedMetadata?.annotations,
      ),
      ownerReferences: [ownerReferenceFor(canary)],
    },
    spec,
  };
}
