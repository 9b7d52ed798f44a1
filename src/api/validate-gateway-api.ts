// What a Gateway API HTTPRoute (standard channel, gateway.networking.k8s.io v1.x) can express of a
// Canary, checked before the router builds one (router/gateway-api-*.ts). Istio-only fields are
// refused with the field named rather than dropped: a user must never believe a retry policy or a
// sourceLabels match is in effect when the HTTPRoute cannot carry it.
import type { CanarySpec, HttpMatch } from "./canary.js";
import { tryParseDuration } from "./duration.js";
import { type Problem, show } from "./problems.js";

/** Gateway API Duration (GEP-2257): up to four "<1-5 digits><h|m|s|ms>" parts, e.g. "1m30s". */
export const GATEWAY_DURATION_PATTERN = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
/** Gateway API Hostname: a DNS name, optionally with a leading "*." wildcard label; no IPs, no ports. */
export const GATEWAY_HOSTNAME_PATTERN =
  /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const GATEWAY_HTTP_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
] as const;
export const REWRITE_TYPES = ["ReplaceFullPath", "ReplacePrefixMatch"] as const;

/** Istio match conditions an HTTPRoute match has no field for. */
const ISTIO_ONLY_MATCH_KEYS: Readonly<Record<string, string>> = {
  sourceLabels: "HTTPRoute matches cannot select the calling workload",
  sourceNamespace: "HTTPRoute matches cannot select the calling namespace",
  withoutHeaders: "HTTPRoute matches have no negative header condition",
  gateways: "HTTPRoute attaches to gateways with spec.service.gatewayRefs, not per match",
  port: "HTTPRoute attaches to a port with spec.service.gatewayRefs[].port, not per match",
  scheme: "HTTPRoute matches have no scheme condition",
  authority: "HTTPRoute selects hosts with spec.service.hosts (hostnames), not per match",
  ignoreUriCase: "HTTPRoute path matches are case-sensitive",
  name: "HTTPRoute matches have no name",
};
const MAPPED_MATCH_KEYS = new Set(["uri", "method", "headers", "queryParams"]);

const istioOnly = (field: string, why: string, fix: string): Problem => ({
  field,
  message: `${field} cannot be expressed by a Gateway API HTTPRoute (spec.provider gatewayapi): ${why}`,
  fix,
});

/** Problems of a spec routed by the gatewayapi provider (empty for other providers' specs). */
export function gatewayApiProblems(spec: CanarySpec): Problem[] {
  const analysis = spec.analysis ?? spec.canaryAnalysis;
  const at = spec.analysis ? "spec.analysis" : "spec.canaryAnalysis";
  return [
    ...serviceProblems(spec.service),
    ...durationProblems(spec.service),
    ...matchesProblems(spec.service.match, "spec.service.match"),
    ...matchesProblems(analysis?.match, `${at}.match`),
    ...rewriteProblems(spec.service),
    ...mirrorProblems(spec.service),
  ];
}

function serviceProblems(svc: CanarySpec["service"]): Problem[] {
  const out: Problem[] = [];
  const useIstio = "or set spec.provider: istio";
  if (svc.gateways !== undefined && svc.gateways.length > 0)
    out.push(
      istioOnly(
        "spec.service.gateways",
        "it names Istio Gateways (or mesh) of a VirtualService",
        "attach the HTTPRoute with spec.service.gatewayRefs (a Gateway for ingress, the Service for mesh traffic) and remove gateways",
      ),
    );
  if (svc.delegation === true)
    out.push(
      istioOnly(
        "spec.service.delegation",
        "delegation is a VirtualService feature",
        `remove it, ${useIstio}`,
      ),
    );
  if (svc.trafficPolicy !== undefined)
    out.push(
      istioOnly(
        "spec.service.trafficPolicy",
        "it is written to Istio DestinationRules, which the gatewayapi provider does not generate",
        `remove it and write your own DestinationRules for <svc>-primary and <svc>-canary, ${useIstio}`,
      ),
    );
  if (svc.retries !== undefined)
    out.push(
      istioOnly(
        "spec.service.retries",
        "HTTPRoute retries exist only in the experimental channel, which Serin does not write",
        `remove it, ${useIstio}`,
      ),
    );
  if (svc.corsPolicy !== undefined)
    out.push(
      istioOnly(
        "spec.service.corsPolicy",
        "Serin's HTTPRoute has no CORS filter (Istio's StringMatch origins do not map onto it)",
        `remove it and answer CORS in the app, ${useIstio}`,
      ),
    );
  if (svc.appProtocol?.toLowerCase() === "tcp")
    out.push(
      istioOnly(
        "spec.service.appProtocol",
        "TCP services need a TCPRoute, which Serin does not generate",
        `remove appProtocol: tcp, ${useIstio}`,
      ),
    );
  (svc.hosts ?? []).forEach((host, i) => {
    if (!GATEWAY_HOSTNAME_PATTERN.test(host))
      out.push({
        field: `spec.service.hosts[${i}]`,
        message: `spec.service.hosts[${i}] (${show(host)}) is not a Gateway API hostname (lower-case DNS name, optionally "*." first; no "*", IP or port)`,
        fix: "use a DNS name such as catalog.example.com, or remove hosts for mesh traffic",
      });
  });
  return out;
}

function durationProblems(svc: CanarySpec["service"]): Problem[] {
  const out: Problem[] = [];
  for (const key of ["timeout", "backendTimeout"] as const) {
    const value = svc[key];
    if (value !== undefined && !GATEWAY_DURATION_PATTERN.test(value))
      out.push({
        field: `spec.service.${key}`,
        message: `spec.service.${key} (${show(value)}) is not a Gateway API duration (whole numbers of h, m, s or ms, at most four parts)`,
        fix: 'write it like "30s", "1m30s" or "1500ms"',
      });
  }
  const request = svc.timeout === undefined ? undefined : tryParseDuration(svc.timeout);
  const backend = svc.backendTimeout === undefined ? undefined : tryParseDuration(svc.backendTimeout);
  if (request !== undefined && backend !== undefined && backend > request)
    out.push({
      field: "spec.service.backendTimeout",
      message: `spec.service.backendTimeout (${svc.backendTimeout}) is longer than spec.service.timeout (${svc.timeout}): the HTTPRoute's backendRequest timeout must fit in its request timeout`,
      fix: "make backendTimeout at most timeout",
    });
  return out;
}

function matchesProblems(matches: readonly HttpMatch[] | undefined, at: string): Problem[] {
  const out: Problem[] = [];
  (matches ?? []).forEach((m, i) => {
    const field = `${at}[${i}]`;
    for (const key of Object.keys(m)) {
      if (MAPPED_MATCH_KEYS.has(key) || m[key] === undefined) continue;
      const why = ISTIO_ONLY_MATCH_KEYS[key] ?? "an HTTPRoute match has no such condition";
      out.push(istioOnly(`${field}.${key}`, why, "match on uri, method, headers or queryParams instead"));
    }
    const method = m.method;
    if (method !== undefined) {
      const ok =
        method.exact !== undefined && (GATEWAY_HTTP_METHODS as readonly string[]).includes(method.exact);
      if (!ok)
        out.push({
          field: `${field}.method`,
          message: `${field}.method (${show(method)}) cannot be expressed by an HTTPRoute: it matches one exact method`,
          fix: `use method: {exact: GET} with one of ${GATEWAY_HTTP_METHODS.join(", ")}`,
        });
    }
    for (const kind of ["exact", "prefix"] as const) {
      const path = m.uri?.[kind];
      if (path !== undefined && !path.startsWith("/"))
        out.push({
          field: `${field}.uri.${kind}`,
          message: `${field}.uri.${kind} (${show(path)}) is not an absolute path, which an HTTPRoute path match requires`,
          fix: `start it with "/"`,
        });
    }
  });
  return out;
}

function rewriteProblems(svc: CanarySpec["service"]): Problem[] {
  const rw = svc.rewrite;
  if (rw === undefined) return [];
  const out: Problem[] = [];
  if (rw.type !== undefined && !(REWRITE_TYPES as readonly string[]).includes(rw.type))
    out.push({
      field: "spec.service.rewrite.type",
      message: `spec.service.rewrite.type (${show(rw.type)}) is not an HTTPRoute path modifier`,
      fix: `set it to ${REWRITE_TYPES.join(" or ")} (default ReplaceFullPath, as in Flagger)`,
    });
  const prefixOnly = (svc.match ?? []).every((m) => m.uri === undefined || m.uri.prefix !== undefined);
  if (rw.type === "ReplacePrefixMatch" && rw.uri !== undefined && !prefixOnly)
    out.push({
      field: "spec.service.rewrite.type",
      message:
        "spec.service.rewrite.type ReplacePrefixMatch needs every spec.service.match uri to be a prefix match (an HTTPRoute rule refuses it otherwise)",
      fix: "use uri prefix matches, or rewrite.type: ReplaceFullPath",
    });
  return out;
}

function mirrorProblems(svc: CanarySpec["service"]): Problem[] {
  const out: Problem[] = [];
  (svc.mirror ?? []).forEach((m, i) => {
    const ref = m.backendRef;
    const isService = (ref.group ?? "") === "" && (ref.kind ?? "Service") === "Service";
    if (isService && ref.port === undefined)
      out.push({
        field: `spec.service.mirror[${i}].backendRef.port`,
        message: `spec.service.mirror[${i}].backendRef.port is missing: the backendRef names Service ${ref.name}, and an HTTPRoute requires a port for a Service`,
        fix: "add backendRef.port: the Service port to mirror to",
      });
  });
  return out;
}
