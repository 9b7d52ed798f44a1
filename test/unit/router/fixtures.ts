// Canary fixtures shaped like the reference scenario (examples/catalog): parsed with the real
// schema so a drift between the API and these builders fails here first.
import { type Canary, CanarySchema } from "../../../src/api/canary.js";
import { catalogExample } from "../../fixtures/catalog-example.js";

type CanaryPatch = {
  service?: Partial<Canary["spec"]["service"]>;
  analysis?: Canary["spec"]["analysis"];
  spec?: Partial<Omit<Canary["spec"], "service" | "analysis">>;
  status?: Canary["status"];
};

/** The catalog Canary of the reference scenario: A/B-style sourceLabels match with weight steps. */
export function catalogCanary(patch: CanaryPatch = {}): Canary {
  const example = catalogExample();
  return CanarySchema.parse({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name: "catalog-release", namespace: "istioinaction", uid: "uid-catalog-1" },
    spec: {
      ...example.spec,
      service: { ...example.spec.service, ...patch.service },
      analysis: patch.analysis ?? example.spec.analysis,
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
