// A valid Serin Canary (the "Istio in Action" catalog scenario) to derive invalid variants from.
export function catalogCanary(): Record<string, unknown> & {
  spec: Record<string, unknown> & { analysis: Record<string, unknown>; service: Record<string, unknown> };
} {
  return {
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name: "catalog-release", namespace: "istioinaction" },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
      progressDeadlineSeconds: 60,
      service: { name: "catalog", port: 80, targetPort: 3000, gateways: ["mesh"], hosts: ["catalog"] },
      analysis: {
        interval: "45s",
        threshold: 5,
        maxWeight: 50,
        stepWeight: 10,
        match: [{ sourceLabels: { app: "webapp" } }],
        metrics: [
          { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
          { name: "request-duration", thresholdRange: { max: 500 }, interval: "30s" },
        ],
      },
    },
  };
}
