// Fields of Flagger's API that Serin accepts in the schema (so a Flagger manifest parses and the
// error is precise) but does not implement. Silently ignoring them would let a user believe, say,
// their KEDA primary queries or Gateway API mirror are in effect; each is rejected with the field.
//
// Fields of the Canary schema and where they are used (everything else here is rejected):
//   provider (istio, gatewayapi:v1, gatewayapi:v1beta1: providers.ts; what an HTTPRoute cannot express:
//     validate-gateway-api.ts), metricsServer (reconciler), targetRef (Deployment only),
//   autoscalerRef HorizontalPodAutoscaler + primaryScalerReplicas (workload/primary-hpa),
//   service: name port portName targetPort appProtocol trafficDistribution portDiscovery headless
//     apex primary canary unmanagedMetadata (router/services); timeout gateways hosts delegation match
//     rewrite(uri, authority) retries headers corsPolicy (router/istio-virtual-service); trafficPolicy
//     (router/istio-destination-rules); with gatewayapi: gatewayRefs hosts timeout backendTimeout match
//     rewrite(+type) headers mirror (router/gateway-api-http-route); routeRef, a route the user owns
//     (router/adopted-router, controller/adopted-routes; what it makes meaningless: validate-route-ref.ts)
//   analysis: interval iterations threshold maxWeight stepWeight stepWeights stepWeightPromotion mirror
//     mirrorWeight primaryReadyThreshold canaryReadyThreshold match skipAnalysis suspend (core);
//     metrics (metrics/run-checks), webhooks (webhooks/client), alerts (notifier),
//     sessionAffinity (router/istio-session-affinity)
//   progressDeadlineSeconds (workload/readiness), revertOnDeletion (controller/finalizer)
// MetricTemplate: provider.type (prometheus), address, query, headers, secretRef, insecureSkipVerify
//   (metrics/provider-auth); region (CloudWatch) is rejected.
// AlertProvider: type, channel, username, address, secretRef, proxy (notifier).
import type { CanarySpec } from "./canary.js";
import type { MetricTemplateSpec } from "./metric-template.js";
import type { Problem } from "./problems.js";
import { isGatewayApi, routingProvider } from "./providers.js";

const unsupported = (field: string, why: string, fix = `remove ${field}`): Problem => ({
  field,
  message: `${field} is not supported by Serin yet: ${why}`,
  fix,
});

/** Canary fields of other Flagger providers and features Serin does not implement. */
export function unsupportedCanaryProblems(spec: CanarySpec): Problem[] {
  const out: Problem[] = [];
  const scaler = spec.autoscalerRef;
  if (scaler?.kind === "ScaledObject") {
    out.push(
      unsupported(
        "spec.autoscalerRef.kind",
        "KEDA ScaledObjects are not mirrored to the primary (only HorizontalPodAutoscalers are)",
        "point autoscalerRef at a HorizontalPodAutoscaler, or remove autoscalerRef",
      ),
    );
  }
  if (scaler?.primaryScalerQueries !== undefined) {
    out.push(
      unsupported(
        "spec.autoscalerRef.primaryScalerQueries",
        "it holds the KEDA ScaledObject queries of the primary, and Serin has no KEDA support",
      ),
    );
  }
  const provider = (field: string, owner: string) =>
    unsupported(
      field,
      `it configures Flagger's ${owner}, and Serin routes traffic with Istio or the Gateway API`,
    );
  if (spec.ingressRef !== undefined) out.push(provider("spec.ingressRef", "NGINX ingress provider"));
  if (spec.routeRef !== undefined) out.push(provider("spec.routeRef", "APISIX provider"));
  if (spec.upstreamRef !== undefined) out.push(provider("spec.upstreamRef", "Gloo provider"));
  const svc = spec.service;
  if (svc.meshName !== undefined) out.push(provider("spec.service.meshName", "App Mesh provider"));
  if (svc.backends !== undefined) out.push(provider("spec.service.backends", "App Mesh provider"));
  if (!isGatewayApi(routingProvider(spec))) out.push(...gatewayApiOnlyProblems(spec));
  return out;
}

/** Fields only an HTTPRoute carries, set on a Canary routed by a VirtualService (provider istio). */
function gatewayApiOnlyProblems(spec: CanarySpec): Problem[] {
  const svc = spec.service;
  const out: Problem[] = [];
  const gatewayOnly = (field: string, instead: string): Problem => ({
    field,
    message: `${field} configures the Gateway API HTTPRoute, and this Canary routes with Istio (spec.provider ${spec.provider ?? "istio (default)"})`,
    fix: `set spec.provider: gatewayapi:v1 to route with an HTTPRoute, or ${instead}`,
  });
  if (svc.backendTimeout !== undefined)
    out.push(gatewayOnly("spec.service.backendTimeout", "use spec.service.timeout"));
  if (svc.gatewayRefs !== undefined)
    out.push(gatewayOnly("spec.service.gatewayRefs", "use spec.service.gateways"));
  if (svc.mirror !== undefined) out.push(gatewayOnly("spec.service.mirror", "use analysis.mirror"));
  if (svc.rewrite?.type !== undefined)
    out.push(gatewayOnly("spec.service.rewrite.type", "remove rewrite.type"));
  return out;
}

/** MetricTemplate provider fields Serin's Prometheus client does not use. */
export function unsupportedMetricTemplateProblems(spec: MetricTemplateSpec): Problem[] {
  return spec.provider.region === undefined
    ? []
    : [
        unsupported(
          "spec.provider.region",
          "it selects the CloudWatch region, and Serin queries Prometheus only",
        ),
      ];
}
