// Canary fixtures shaped like the reference scenario (examples/catalog): parsed with the real
// schema so a drift between the API and these builders fails here first.
import { type Canary, CanarySchema } from "../../../src/api/canary.js";

type CanaryPatch = {
  service?: Partial<Canary["spec"]["service"]>;
  analysis?: Canary["spec"]["analysis"];
  spec?: Partial<Omit<Canary["spec"], "service" | "analysis">>;
  status?: Canary["status"];
};

/** The catalog Canary of the reference scenario: A/B-style sourceLabels match with weight steps. */
export function catalogCanary(patch: CanaryPatch = {}): Canary {
  return CanarySchema.parse({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name: "catalog-release", namespace: "istioinaction", uid: "uid-catalog-1" },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
      progressDeadlineSeconds: 60,
      service: {
        name: "catalog",
        port: 80,
        targetPort: 3000,
        gateways: ["mesh"],
        hosts: ["catalog"],
        ...patch.service,
      },
      analysis: patch.analysis ?? {
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
      ...patch.spec,
    },
    ...(patch.status === undefined ? {} : { status: patch.status }),
  });
}

/** A plain weighted canary (no analysis.match): the VirtualService has a single split route. */
export function podinfoCanary(patch: CanaryPatch = {}): Canary {
  return CanarySchema.parse({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name: "podinfo", namespace: "test", uid: "uid-podinfo-1" },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { port: 9898, ...patch.service },
      analysis: patch.analysis ?? { interval: "15s", threshold: 5, maxWeight: 50, stepWeight: 10 },
      ...patch.spec,
    },
    ...(patch.status === undefined ? {} : { status: patch.status }),
  });
}
