// Fields of Flagger's API that Serin accepts in the schema (so a Flagger manifest parses and the
// error is precise) but does not implement. Silently ignoring them would let a user believe, say,
// their KEDA primary queries or Gateway API mirror are in effect; each is rejected with the field.
//
// Fields of the Canary schema and where they are used (everything else here is rejected):
//   provider (istio only: validate.ts), metricsServer (reconciler), targetRef (Deployment only),
//   autoscalerRef HorizontalPodAutoscaler + primaryScalerReplicas (workload/primary-hpa),
//   service: name port portName targetPort appProtocol trafficDistribution portDiscovery headless
//     apex primary canary unmanagedMetadata (router/services); timeout gateways hosts delegation match
//     rewrite(uri, authority) retries headers corsPolicy (router/istio-virtual-service); trafficPolicy
//     (router/istio-destination-rules)
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
    unsupported(field, `it configures Flagger's ${owner}, and Serin routes traffic with Istio`);
  if (spec.ingressRef !== undefined) out.push(provider("spec.ingressRef", "NGINX ingress provider"));
  if (spec.routeRef !== undefined) out.push(provider("spec.routeRef", "APISIX provider"));
  if (spec.upstreamRef !== undefined) out.push(provider("spec.upstreamRef", "Gloo provider"));
  const svc = spec.service;
  if (svc.backendTimeout !== undefined)
    out.push(provider("spec.service.backendTimeout", "Gateway API provider (use spec.service.timeout)"));
  if (svc.gatewayRefs !== undefined) out.push(provider("spec.service.gatewayRefs", "Gateway API provider"));
  if (svc.mirror !== undefined)
    out.push(provider("spec.service.mirror", "Gateway API provider (use analysis.mirror with Istio)"));
  if (svc.rewrite?.type !== undefined)
    out.push(provider("spec.service.rewrite.type", "Gateway API provider"));
  if (svc.meshName !== undefined) out.push(provider("spec.service.meshName", "App Mesh provider"));
  if (svc.backends !== undefined) out.push(provider("spec.service.backends", "App Mesh provider"));
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
