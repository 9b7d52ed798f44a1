// What Serin writes into the metadata of the generated Services: spec.service.unmanagedMetadata keys
// are left to other tools, and a selector value the apiserver would refuse is reported up front.
import { describe, expect, it } from "vitest";
import { buildServices, selectTargetLabel } from "../../../src/router/services.js";
import { catalogCanary } from "./fixtures.js";

const APP = { label: "app", value: "catalog" };

describe("spec.service.unmanagedMetadata", () => {
  it("keys listed are neither set nor overwritten on any generated Service", () => {
    const canary = catalogCanary({
      service: {
        apex: { labels: { team: "shop" }, annotations: { "owner.example.com/ticket": "T-1" } },
        unmanagedMetadata: {
          labels: ["app", "external-dns.alpha.kubernetes.io/managed"],
          annotations: ["kustomize.toolkit.fluxcd.io/reconcile"],
        },
      },
    });
    const services = buildServices(canary, APP);
    for (const svc of [services.apex, services.primary, services.canary]) {
      expect(svc.metadata?.labels).not.toHaveProperty("app");
      expect(svc.metadata?.annotations).not.toHaveProperty("kustomize.toolkit.fluxcd.io/reconcile");
    }
    // Managed keys are still written.
    expect(services.apex.metadata?.labels).toEqual({ team: "shop" });
    expect(services.apex.metadata?.annotations).toEqual({ "owner.example.com/ticket": "T-1" });
    // Selectors are routing, not metadata: never affected.
    expect(services.primary.spec?.selector).toEqual({ app: "catalog-primary" });
  });

  it("without it, Serin's labels and annotations are written as before", () => {
    const services = buildServices(catalogCanary(), APP);
    expect(services.canary.metadata?.labels).toEqual({ app: "catalog-canary" });
    expect(services.canary.metadata?.annotations).toEqual({
      "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
    });
  });
});

describe("selector values Kubernetes would refuse", () => {
  it("a selector value whose -primary form exceeds 63 characters is an error naming the fix", () => {
    const value = "a".repeat(60);
    const picked = selectTargetLabel({ app: value });
    if (!("error" in picked)) return expect.fail("accepted a 68-character label value");
    expect(picked.error).toContain(`app: ${value}-primary`);
    expect(picked.error).toContain("at most 55 characters");
  });

  it("55 characters still fit", () => {
    expect(selectTargetLabel({ app: "a".repeat(55) })).toEqual({ label: "app", value: "a".repeat(55) });
  });
});
