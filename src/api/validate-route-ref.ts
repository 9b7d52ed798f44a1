// spec.service.routeRef (GitOps mode, docs/routing.md): a route the user owns, of which Serin changes only
// the weights of the named routes. What the Canary would otherwise put into the generated route (matches,
// gateways, timeouts, mirroring, session cookies, ...) has nowhere to go: Serin writes nothing but two
// weights per route, so each such field is refused with its name rather than silently dropped. The kind
// must be the one spec.provider writes: a VirtualService is Istio's, an HTTPRoute the Gateway API's.
import type { CanarySpec, ServiceRouteRef } from "./canary.js";
import { type Problem, show } from "./problems.js";
import { isGatewayApi, routingProvider } from "./providers.js";

/** HTTPRoute rules[].name as the Gateway API CRD checks it (a DNS subdomain, at most 253 characters). */
export const GATEWAY_RULE_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const FIELD = "spec.service.routeRef";

/** Fields of spec.service that shape the generated route; with routeRef Serin generates none. */
const ROUTE_SHAPING_SERVICE_FIELDS = [
  "gateways",
  "hosts",
  "delegation",
  "match",
  "rewrite",
  "retries",
  "headers",
  "corsPolicy",
  "timeout",
  "backendTimeout",
  "gatewayRefs",
  "mirror",
] as const;

const routeShaping = (field: string, what: string): Problem => ({
  field,
  message: `${field} ${what}, and with ${FIELD} Serin generates no route: it changes only the weights of your route's named routes`,
  fix: `remove ${field} (write what it says into your route instead), or remove ${FIELD} to let Serin generate the route`,
});

/** Problems of spec.service.routeRef and of the fields it makes meaningless; [] without routeRef. */
export function routeRefProblems(spec: CanarySpec): Problem[] {
  const ref = spec.service.routeRef;
  if (ref === undefined) return [];
  const out: Problem[] = [...kindProblems(ref, spec), ...routeNameProblems(ref)];
  const svc = spec.service as Record<string, unknown>;
  for (const key of ROUTE_SHAPING_SERVICE_FIELDS) {
    if (svc[key] !== undefined)
      out.push(routeShaping(`spec.service.${key}`, "configures the route Serin would generate"));
  }
  if (spec.service.appProtocol === "tcp")
    out.push(
      routeShaping("spec.service.appProtocol", "(tcp) asks for TCP routes, which have no names to adopt by"),
    );
  const analysis = spec.analysis ?? spec.canaryAnalysis;
  const at = spec.analysis ? "spec.analysis" : "spec.canaryAnalysis";
  if (analysis?.match !== undefined)
    out.push(
      routeShaping(
        `${at}.match`,
        "adds a route for the matching requests (A/B testing); match the requests in your named route instead",
      ),
    );
  if (analysis?.mirror === true || analysis?.mirrorWeight !== undefined)
    out.push(
      routeShaping(
        `${at}.${analysis.mirror === true ? "mirror" : "mirrorWeight"}`,
        "adds a mirror to the route",
      ),
    );
  if (analysis?.sessionAffinity !== undefined)
    out.push(routeShaping(`${at}.sessionAffinity`, "adds cookie routes and cookie headers to the route"));
  return out;
}

function kindProblems(ref: ServiceRouteRef, spec: CanarySpec): Problem[] {
  const provider = routingProvider(spec);
  const gatewayApi = isGatewayApi(provider);
  if (ref.kind === "VirtualService" && gatewayApi)
    return [
      {
        field: `${FIELD}.kind`,
        message: `${FIELD}.kind VirtualService is Istio's, and this Canary routes with the Gateway API (spec.provider ${provider})`,
        fix: "set spec.provider: istio (or remove it) to adopt a VirtualService, or adopt an HTTPRoute (kind: HTTPRoute)",
      },
    ];
  if (ref.kind === "HTTPRoute" && !gatewayApi)
    return [
      {
        field: `${FIELD}.kind`,
        message: `${FIELD}.kind HTTPRoute is the Gateway API's, and this Canary routes with Istio (spec.provider ${spec.provider ?? "istio (default)"})`,
        fix: "set spec.provider: gatewayapi:v1 to adopt an HTTPRoute, or adopt a VirtualService (kind: VirtualService)",
      },
    ];
  return [];
}

function routeNameProblems(ref: ServiceRouteRef): Problem[] {
  const out: Problem[] = [];
  const seen = new Map<string, number>();
  ref.routes.forEach((name, i) => {
    const field = `${FIELD}.routes[${i}]`;
    const first = seen.get(name);
    if (first !== undefined)
      out.push({
        field,
        message: `${field} (${show(name)}) repeats routes[${first}]`,
        fix: "list each route once",
      });
    else seen.set(name, i);
    if (ref.kind === "HTTPRoute" && (name.length > 253 || !GATEWAY_RULE_NAME_PATTERN.test(name)))
      out.push({
        field,
        message: `${field} (${show(name)}) can never name an HTTPRoute rule: rules[].name is a lowercase DNS subdomain (a-z, 0-9, '-', '.')`,
        fix: "use the rule's name exactly as written in the HTTPRoute",
      });
  });
  return out;
}
