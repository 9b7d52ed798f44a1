import { describe, expect, it } from "vitest";
import {
  buildServices,
  DEFAULT_SELECTOR_LABELS,
  discoverPorts,
  selectTargetLabel,
  serviceNames,
} from "../../../src/router/services.js";
import { catalogCanary, podinfoCanary } from "./fixtures.js";

const APP = { label: "app", value: "catalog" };

describe("serviceNames", () => {
  it("uses service.name when set", () => {
    expect(serviceNames(catalogCanary())).toEqual({
      apex: "catalog",
      primary: "catalog-primary",
      canary: "catalog-canary",
    });
  });

  it("falls back to targetRef.name", () => {
    expect(serviceNames(podinfoCanary()).apex).toBe("podinfo");
  });
});

describe("selectTargetLabel", () => {
  it("prefers app, then name, then app.kubernetes.io/name (Flagger's default order)", () => {
    expect(DEFAULT_SELECTOR_LABELS).toEqual(["app", "name", "app.kubernetes.io/name"]);
    expect(selectTargetLabel({ name: "n", app: "a" })).toEqual({ label: "app", value: "a" });
    expect(selectTargetLabel({ name: "n", tier: "web" })).toEqual({ label: "name", value: "n" });
    expect(selectTargetLabel({ "app.kubernetes.io/name": "k" })).toEqual({
      label: "app.kubernetes.io/name",
      value: "k",
    });
  });

  it("honours a configured label list", () => {
    expect(selectTargetLabel({ app: "a", service: "s" }, ["service"])).toEqual({
      label: "service",
      value: "s",
    });
  });

  it("explains what is missing", () => {
    const picked = selectTargetLabel({ tier: "web" });
    expect(picked).toHaveProperty("error");
    expect("error" in picked && picked.error).toContain("app, name, app.kubernetes.io/name");
    expect(selectTargetLabel(undefined)).toHaveProperty("error");
  });
});

describe("buildServices (catalog)", () => {
  const canary = catalogCanary();
  const { apex, primary, canary: canarySvc } = buildServices(canary, APP);

  it("routes apex and primary to the primary pods, canary to the target's pods", () => {
    expect(apex.metadata?.name).toBe("catalog");
    expect(apex.spec?.selector).toEqual({ app: "catalog-primary" });
    expect(primary.metadata?.name).toBe("catalog-primary");
    expect(primary.spec?.selector).toEqual({ app: "catalog-primary" });
    expect(canarySvc.metadata?.name).toBe("catalog-canary");
    expect(canarySvc.spec?.selector).toEqual({ app: "catalog" });
  });

  it("exposes port 80 -> targetPort 3000 named http over TCP as ClusterIP", () => {
    for (const svc of [apex, primary, canarySvc]) {
      expect(svc.apiVersion).toBe("v1");
      expect(svc.kind).toBe("Service");
      expect(svc.metadata?.namespace).toBe("istioinaction");
      expect(svc.spec?.type).toBe("ClusterIP");
      expect(svc.spec?.ports).toEqual([{ name: "http", protocol: "TCP", port: 80, targetPort: 3000 }]);
      expect(svc.spec?.clusterIP).toBeUndefined();
    }
  });

  it("is controlled by the Canary", () => {
    for (const svc of [apex, primary, canarySvc]) {
      expect(svc.metadata?.ownerReferences).toEqual([
        {
          apiVersion: "serin.dev/v1beta1",
          kind: "Canary",
          name: "catalog-release",
          uid: "uid-catalog-1",
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it("labels each Service with <selector label>: <service name> and marks it hands-off for Flux", () => {
    expect(apex.metadata?.labels).toEqual({ app: "catalog" });
    expect(canarySvc.metadata?.labels).toEqual({ app: "catalog-canary" });
    expect(primary.metadata?.annotations).toEqual({ "kustomize.toolkit.fluxcd.io/reconcile": "disabled" });
  });
});

describe("buildServices options", () => {
  it("merges service.primary/canary/apex labels and annotations", () => {
    const canary = podinfoCanary({
      service: {
        apex: { annotations: { "external-dns.alpha.kubernetes.io/hostname": "podinfo.example.com" } },
        primary: { labels: { tier: "stable" }, annotations: { owner: "team-a" } },
        canary: { labels: { tier: "canary", app: "overridden" } },
      },
    });
    const svcs = buildServices(canary, { label: "app", value: "podinfo" });
    expect(svcs.primary.metadata?.labels).toEqual({ tier: "stable", app: "podinfo-primary" });
    expect(svcs.primary.metadata?.annotations).toMatchObject({ owner: "team-a" });
    // the selector label always wins over a user label of the same key
    expect(svcs.canary.metadata?.labels).toEqual({ tier: "canary", app: "podinfo-canary" });
    expect(svcs.apex.metadata?.annotations?.["external-dns.alpha.kubernetes.io/hostname"]).toBe(
      "podinfo.example.com",
    );
  });

  it("defaults targetPort to port and honours portName, named targetPort and appProtocol", () => {
    const plain = buildServices(podinfoCanary(), { label: "app", value: "podinfo" });
    expect(plain.apex.spec?.ports).toEqual([{ name: "http", protocol: "TCP", port: 9898, targetPort: 9898 }]);

    const named = buildServices(
      podinfoCanary({ service: { portName: "grpc", targetPort: "grpc-port", appProtocol: "grpc" } }),
      { label: "app", value: "podinfo" },
    );
    expect(named.canary.spec?.ports).toEqual([
      { name: "grpc", protocol: "TCP", port: 9898, targetPort: "grpc-port", appProtocol: "grpc" },
    ]);
  });

  it("supports headless Services and trafficDistribution", () => {
    const svcs = buildServices(
      podinfoCanary({ service: { headless: true, trafficDistribution: "PreferClose" } }),
      {
        label: "app",
        value: "podinfo",
      },
    );
    expect(svcs.primary.spec?.clusterIP).toBe("None");
    expect(svcs.primary.spec?.trafficDistribution).toBe("PreferClose");
  });

  it("uses the selector label the target actually has", () => {
    const svcs = buildServices(podinfoCanary(), { label: "app.kubernetes.io/name", value: "podinfo" });
    expect(svcs.apex.spec?.selector).toEqual({ "app.kubernetes.io/name": "podinfo-primary" });
  });

  it("appends discovered ports", () => {
    const canary = podinfoCanary({ service: { portDiscovery: true } });
    const extraPorts = discoverPorts(canary, [
      {
        name: "podinfo",
        ports: [
          { name: "http", containerPort: 9898 },
          { name: "http-metrics", containerPort: 9797 },
          { containerPort: 9999 },
        ],
      },
      { name: "istio-proxy", ports: [{ name: "http-envoy-prom", containerPort: 15090 }] },
    ]);
    expect(extraPorts).toEqual([
      { name: "http-metrics", protocol: "TCP", port: 9797, targetPort: 9797 },
      { name: "tcp-podinfo-2", protocol: "TCP", port: 9999, targetPort: 9999 },
    ]);
    const svcs = buildServices(canary, { label: "app", value: "podinfo" }, { extraPorts });
    expect(svcs.apex.spec?.ports?.map((p) => p.name)).toEqual(["http", "http-metrics", "tcp-podinfo-2"]);
  });

  it("port discovery skips the main port by number or by name", () => {
    const containers = [
      {
        name: "app",
        ports: [
          { name: "web", containerPort: 3000 },
          { name: "admin", containerPort: 4000 },
        ],
      },
    ];
    expect(discoverPorts(catalogCanary(), containers).map((p) => p.name)).toEqual(["admin"]);
    const byName = podinfoCanary({ service: { targetPort: "web" } });
    expect(discoverPorts(byName, containers).map((p) => p.name)).toEqual(["admin"]);
  });
});
