// Names and metadata Serin writes into generated objects, checked before anything is created: the
// apiserver answers a bad name with 422 on every attempt, which would leave the Canary stuck in
// Initializing with the reason only in the controller's log.
//   <svc>, <svc>-primary, <svc>-canary   Services (DNS-1035 labels), also the selector-label value on
//                                        each Service, the VirtualService and DestinationRule names
//   <target>-primary                     the primary Deployment (DNS-1123 subdomain)
//   <hpa>-primary                        the primary's HorizontalPodAutoscaler (DNS-1123 subdomain)
// Names that depend on the cluster (the target's selector-label value, its ConfigMaps and Secrets) are
// checked where they are known: src/workload builds them and reports a WorkloadError.
import type { CanarySpec } from "./canary.js";
import {
  DNS1035_LABEL_MAX,
  DNS1123_SUBDOMAIN_MAX,
  dns1035LabelProblem,
  dns1123LabelProblem,
  dns1123SubdomainProblem,
  ianaServiceNameProblem,
  labelValueProblem,
  qualifiedNameProblem,
} from "./names.js";
import { type Problem, show } from "./problems.js";

export const PRIMARY_SUFFIX = "-primary";
const LONGEST_SUFFIX = PRIMARY_SUFFIX; // "-canary" is shorter

/** A valid DNS-1035 label close to `name`, to suggest in a fix (e.g. Catalog_Bad -> catalog-bad). */
export function suggestDns1035(name: string, max = DNS1035_LABEL_MAX): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, max)
    .replace(/-+$/, "");
  return cleaned || "app";
}

function serviceNameProblems(spec: CanarySpec): Problem[] {
  const explicit = spec.service.name !== undefined && spec.service.name !== "";
  const apex = spec.service.name || spec.targetRef.name;
  const field = explicit ? "spec.service.name" : "spec.targetRef.name";
  const origin = explicit
    ? `${field} (${show(apex)})`
    : `${field} (${show(apex)}), which names the generated Services while spec.service.name is unset,`;
  const maxApex = DNS1035_LABEL_MAX - LONGEST_SUFFIX.length;
  const why = dns1035LabelProblem(apex);
  if (why !== undefined && apex.length <= DNS1035_LABEL_MAX) {
    return [
      {
        field,
        message: `${origin} is not a valid Service name: ${why}`,
        fix: `${explicit ? "rename it" : "set spec.service.name"}, e.g. ${suggestDns1035(apex, maxApex)}`,
      },
    ];
  }
  const derived = `${apex}${LONGEST_SUFFIX}`;
  if (derived.length > DNS1035_LABEL_MAX) {
    return [
      {
        field,
        message: `${origin} is too long: the generated Service ${derived} would have ${derived.length} characters, Kubernetes allows ${DNS1035_LABEL_MAX}`,
        fix: `${explicit ? "use" : "set spec.service.name to"} a name of at most ${maxApex} characters, e.g. ${suggestDns1035(apex, maxApex)}`,
      },
    ];
  }
  return [];
}

function objectNameProblems(field: string, name: string, what: string): Problem[] {
  const why = dns1123SubdomainProblem(name);
  if (why !== undefined && name.length <= DNS1123_SUBDOMAIN_MAX) {
    return [
      { field, message: `${field} (${show(name)}) is not a valid ${what} name: ${why}`, fix: `fix ${field}` },
    ];
  }
  const derived = `${name}${PRIMARY_SUFFIX}`;
  if (derived.length > DNS1123_SUBDOMAIN_MAX) {
    return [
      {
        field,
        message: `${field} is too long: the generated ${what} ${show(derived)} would have ${derived.length} characters, Kubernetes allows ${DNS1123_SUBDOMAIN_MAX}`,
        fix: `use a ${what} name of at most ${DNS1123_SUBDOMAIN_MAX - PRIMARY_SUFFIX.length} characters`,
      },
    ];
  }
  return [];
}

function portProblems(spec: CanarySpec): Problem[] {
  const out: Problem[] = [];
  const portName = spec.service.portName;
  const whyName = portName === undefined || portName === "" ? undefined : dns1123LabelProblem(portName);
  if (whyName !== undefined) {
    out.push({
      field: "spec.service.portName",
      message: `spec.service.portName (${show(portName)}) is not a valid Service port name: ${whyName}`,
      fix: "use a name such as http or http-web",
    });
  }
  const target = spec.service.targetPort;
  const whyTarget = typeof target === "string" ? ianaServiceNameProblem(target) : undefined;
  if (whyTarget !== undefined) {
    out.push({
      field: "spec.service.targetPort",
      message: `spec.service.targetPort (${show(target)}) is not a valid container port name: ${whyTarget}`,
      fix: "set targetPort to the container port number, or to the name of a container port (at most 15 characters)",
    });
  }
  return out;
}

type CustomMetadata = { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined;

function metadataProblems(at: string, metadata: CustomMetadata): Problem[] {
  const out: Problem[] = [];
  for (const [key, value] of Object.entries(metadata?.labels ?? {})) {
    const f = `${at}.labels[${JSON.stringify(key)}]`;
    const whyKey = qualifiedNameProblem(key);
    if (whyKey !== undefined)
      out.push({
        field: f,
        message: `${at}.labels key ${show(key)} is not a valid label key: ${whyKey}`,
        fix: "rename the label",
      });
    const whyValue = labelValueProblem(value);
    if (whyValue !== undefined)
      out.push({
        field: f,
        message: `${at}.labels value ${show(value)} of ${key} is not a valid label value: ${whyValue}`,
        fix: "shorten or correct the value (an annotation can hold any text)",
      });
  }
  for (const key of Object.keys(metadata?.annotations ?? {})) {
    const whyKey = qualifiedNameProblem(key);
    if (whyKey !== undefined)
      out.push({
        field: `${at}.annotations[${JSON.stringify(key)}]`,
        message: `${at}.annotations key ${show(key)} is not a valid annotation key: ${whyKey}`,
        fix: "rename the annotation",
      });
  }
  return out;
}

function unmanagedMetadataProblems(spec: CanarySpec): Problem[] {
  const out: Problem[] = [];
  const unmanaged = spec.service.unmanagedMetadata;
  const at = "spec.service.unmanagedMetadata";
  for (const kind of ["labels", "annotations"] as const) {
    (unmanaged?.[kind] ?? []).forEach((key, i) => {
      const whyKey = qualifiedNameProblem(key);
      if (whyKey !== undefined) {
        out.push({
          field: `${at}.${kind}[${i}]`,
          message: `${at}.${kind}[${i}] (${show(key)}) is not a valid key: ${whyKey}`,
          fix: "correct the key",
        });
      }
      for (const side of ["apex", "primary", "canary"] as const) {
        if (spec.service[side]?.[kind]?.[key] === undefined) continue;
        out.push({
          field: `${at}.${kind}[${i}]`,
          message: `${at}.${kind}[${i}] (${key}) is also set in spec.service.${side}.${kind}: Serin leaves unmanaged keys to others and would never write it`,
          fix: `remove ${key} from spec.service.${side}.${kind} or from unmanagedMetadata.${kind}`,
        });
      }
    });
  }
  return out;
}

/** Problems with the names and metadata Serin derives from the spec. */
export function nameProblems(spec: CanarySpec): Problem[] {
  const out = [...serviceNameProblems(spec)];
  // A target name already reported as a bad Service name is not reported twice.
  if (!out.some((p) => p.field === "spec.targetRef.name"))
    out.push(...objectNameProblems("spec.targetRef.name", spec.targetRef.name, "Deployment"));
  if (spec.autoscalerRef !== undefined && spec.autoscalerRef.kind === "HorizontalPodAutoscaler") {
    out.push(
      ...objectNameProblems("spec.autoscalerRef.name", spec.autoscalerRef.name, "HorizontalPodAutoscaler"),
    );
  }
  out.push(...portProblems(spec));
  for (const side of ["apex", "primary", "canary"] as const) {
    out.push(...metadataProblems(`spec.service.${side}`, spec.service[side]));
  }
  out.push(...unmanagedMetadataProblems(spec));
  return out;
}
