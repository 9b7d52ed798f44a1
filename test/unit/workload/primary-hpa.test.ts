import type { V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { Canary } from "../../../src/api/canary.js";
import { buildPrimaryHpa } from "../../../src/workload/primary-hpa.js";

const hpa: V2HorizontalPodAutoscaler = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "catalog", namespace: "shop", labels: { app: "catalog" } },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
    minReplicas: 2,
    maxReplicas: 10,
    metrics: [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ],
  },
};
const canary = (override?: { minReplicas?: number; maxReplicas?: number }): Canary =>
  ({
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name: "catalog-release", namespace: "shop", uid: "u-1" },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
      autoscalerRef: {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        name: "catalog",
        primaryScalerReplicas: override,
      },
      service: { port: 80 },
    },
  }) as Canary;

describe("primary HorizontalPodAutoscaler", () => {
  it("scales the primary with the target HPA's policy, owned by the Canary", () => {
    const primary = buildPrimaryHpa(hpa, canary(), "catalog-primary");
    expect(primary.metadata?.name).toBe("catalog-primary");
    expect(primary.spec?.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "catalog-primary",
    });
    expect(primary.spec?.minReplicas).toBe(2);
    expect(primary.spec?.maxReplicas).toBe(10);
    expect(primary.spec?.metrics).toEqual(hpa.spec?.metrics);
    expect(primary.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: "Canary",
      name: "catalog-release",
      controller: true,
    });
    expect(hpa.spec?.scaleTargetRef.name).toBe("catalog"); // the user's HPA is not modified
  });

  it("applies primaryScalerReplicas", () => {
    const primary = buildPrimaryHpa(hpa, canary({ minReplicas: 4, maxReplicas: 20 }), "catalog-primary");
    expect([primary.spec?.minReplicas, primary.spec?.maxReplicas]).toEqual([4, 20]);
  });
});
