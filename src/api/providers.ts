// spec.provider: which router writes a Canary's traffic split (Flagger's -mesh-provider / spec.provider).
//
// Serin implements:
//   istio               a generated VirtualService + DestinationRules (the default, as in Flagger)
//   gatewayapi:v1       a generated Gateway API HTTPRoute, written as gateway.networking.k8s.io/v1
//   gatewayapi:v1beta1  the same HTTPRoute written as v1beta1 (for clusters whose Gateway API CRDs
//                       still serve only v1beta1; Flagger 1.26+ spells it the same way)
//
// A bare "gatewayapi" is refused: Flagger 1.19-1.25 read it as v1alpha2 (a version no longer served by
// the Gateway API CRDs), and Flagger 1.36 matches neither of its gatewayapi cases and silently routes
// with Istio. Neither is what its writer meant today, so the user picks a version.
import type { Problem } from "./problems.js";
import { show } from "./problems.js";

export const ROUTING_PROVIDERS = ["istio", "gatewayapi:v1", "gatewayapi:v1beta1"] as const;
export type RoutingProvider = (typeof ROUTING_PROVIDERS)[number];
export const DEFAULT_PROVIDER: RoutingProvider = "istio";

/** Flagger's other providers, named in the message so a migrating user sees why theirs is refused. */
const FLAGGER_ONLY: Readonly<Record<string, string>> = {
  apisix: "APISIX",
  appmesh: "AWS App Mesh",
  contour: "Contour",
  gloo: "Gloo",
  knative: "Knative",
  kubernetes: "plain Kubernetes Services (no traffic split)",
  kuma: "Kuma",
  linkerd: "Linkerd (SMI)",
  nginx: "NGINX ingress",
  osm: "Open Service Mesh",
  skipper: "Skipper",
  smi: "SMI",
  traefik: "Traefik",
};

export function isRoutingProvider(value: string): value is RoutingProvider {
  return (ROUTING_PROVIDERS as readonly string[]).includes(value);
}

/** The provider a Canary routes with (spec.provider, or istio). Callers validate first. */
export function routingProvider(spec: { provider?: string | undefined }): RoutingProvider {
  const p = spec.provider;
  return p !== undefined && isRoutingProvider(p) ? p : DEFAULT_PROVIDER;
}

export function isGatewayApi(provider: RoutingProvider): boolean {
  return provider.startsWith("gatewayapi:");
}

/** InvalidSpec problems of spec.provider: anything but the values Serin routes with. */
export function providerProblems(spec: { provider?: string | undefined }): Problem[] {
  const p = spec.provider;
  if (p === undefined || isRoutingProvider(p)) return [];
  const accepted = ROUTING_PROVIDERS.join(", ");
  if (p === "gatewayapi") {
    return [
      {
        field: "spec.provider",
        message: `spec.provider (gatewayapi) names no Gateway API version: Flagger 1.36 routes a bare "gatewayapi" with Istio and older Flagger with v1alpha2, so Serin does not guess; accepted: ${accepted}`,
        fix: "set spec.provider: gatewayapi:v1 for an HTTPRoute (or istio for a VirtualService)",
      },
    ];
  }
  const family = p.split(":")[0] ?? p;
  const owner = FLAGGER_ONLY[family];
  const why = owner === undefined ? "" : ` (Flagger's ${owner} provider)`;
  return [
    {
      field: "spec.provider",
      message: `spec.provider (${show(p)}) is not supported${why}: Serin routes traffic with ${accepted}`,
      fix: "set spec.provider to istio (VirtualService) or gatewayapi:v1 (HTTPRoute), or remove it for istio",
    },
  ];
}
