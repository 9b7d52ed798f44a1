import { describe, expect, it } from "vitest";
import { buildDestinationRules } from "../../../src/router/istio-destination-rules.js";
import { catalogCanary, podinfoCanary } from "./fixtures.js";

describe("buildDestinationRules", () => {
  it("creates one rule per side, host = the rule's name, owned by the Canary", () => {
    const { primary, canary } = buildDestinationRules(catalogCanary());
    expect(primary.apiVersion).toBe("networking.istio.io/v1beta1");
    expect(primary.kind).toBe("DestinationRule");
    expect(primary.metadata.name).toBe("catalog-primary");
    expect(primary.spec).toEqual({ host: "catalog-primary" });
    expect(canary.metadata.name).toBe("catalog-canary");
    expect(canary.spec).toEqual({ host: "catalog-canary" });
    expect(canary.metadata.namespace).toBe("istioinaction");
    expect(canary.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "Canary",
      name: "catalog-release",
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it("copies service.trafficPolicy to both rules (independent copies)", () => {
    const trafficPolicy = {
      loadBalancer: { consistentHash: { httpCookie: { name: "user", ttl: "0s" } } },
      connectionPool: { http: { http1MaxPendingRequests: 1 } },
      outlierDetection: { consecutive5xxErrors: 1, interval: "1s", baseEjectionTime: "30s" },
      tls: { mode: "ISTIO_MUTUAL" },
    };
    const source = podinfoCanary({ service: { trafficPolicy } });
    const rules = buildDestinationRules(source);
    expect(rules.primary.spec.trafficPolicy).toEqual(trafficPolicy);
    expect(rules.canary.spec.trafficPolicy).toEqual(trafficPolicy);
    expect(rules.primary.spec.trafficPolicy).not.toBe(source.spec.service.trafficPolicy);
  });
});
