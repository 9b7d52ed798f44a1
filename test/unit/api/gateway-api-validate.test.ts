// spec.provider and what an HTTPRoute cannot express: InvalidSpec naming the field, never a field
// accepted and dropped.
import { describe, expect, it } from "vitest";
import { type Canary, problemsOf } from "./helpers.js";

/** The catalog example routed by an HTTPRoute: no Istio gateways, a header match for the A/B cohort. */
function gatewayApiCatalog(c: Canary): void {
  c.spec.provider = "gatewayapi:v1";
  delete c.spec.service.gateways;
  c.spec.analysis.match = [{ headers: { "x-istio-cohort": { exact: "internal" } } }];
}

describe("spec.provider", () => {
  it("accepts istio, gatewayapi:v1 and gatewayapi:v1beta1", () => {
    expect(problemsOf((c) => (c.spec.provider = "istio"))).toEqual([]);
    expect(problemsOf(gatewayApiCatalog)).toEqual([]);
    expect(
      problemsOf((c) => {
        gatewayApiCatalog(c);
        c.spec.provider = "gatewayapi:v1beta1";
      }),
    ).toEqual([]);
  });

  it.each([
    ["linkerd", "Linkerd"],
    ["smi:v1alpha3:linkerd", "SMI"],
    ["nginx", "NGINX"],
    ["made-up", "Serin routes traffic with istio, gatewayapi:v1, gatewayapi:v1beta1"],
  ])("%s is an InvalidSpec naming spec.provider and the accepted values", (provider, words) => {
    const p = problemsOf((c) => (c.spec.provider = provider));
    expect(p.map((x) => x.field)).toEqual(["spec.provider"]);
    expect(p[0]?.message).toContain(words);
    expect(p[0]?.message).toContain("istio, gatewayapi:v1, gatewayapi:v1beta1");
    expect(p[0]?.fix).toContain("gatewayapi:v1");
  });

  it("a bare gatewayapi is refused: Flagger reads it as v1alpha2 or Istio depending on its release", () => {
    const p = problemsOf((c) => {
      gatewayApiCatalog(c);
      c.spec.provider = "gatewayapi";
    });
    expect(p.map((x) => x.field)).toEqual(["spec.provider"]);
    expect(p[0]?.fix).toContain("gatewayapi:v1");
  });
});

describe("fields a Gateway API HTTPRoute cannot express (provider gatewayapi)", () => {
  it.each([
    ["spec.service.gateways", (c: Canary): unknown => (c.spec.service.gateways = ["mesh"])],
    ["spec.service.delegation", (c: Canary): unknown => (c.spec.service.delegation = true)],
    [
      "spec.service.trafficPolicy",
      (c: Canary): unknown => (c.spec.service.trafficPolicy = { loadBalancer: { simple: "RANDOM" } }),
    ],
    ["spec.service.retries", (c: Canary): unknown => (c.spec.service.retries = { attempts: 3 })],
    [
      "spec.service.corsPolicy",
      (c: Canary): unknown => (c.spec.service.corsPolicy = { allowMethods: ["GET"] }),
    ],
    ["spec.service.appProtocol", (c: Canary): unknown => (c.spec.service.appProtocol = "tcp")],
    ["spec.service.timeout", (c: Canary): unknown => (c.spec.service.timeout = "1.5s")],
    ["spec.service.hosts[1]", (c: Canary): unknown => (c.spec.service.hosts = ["catalog", "*"])],
    [
      "spec.analysis.match[0].sourceLabels",
      (c: Canary): unknown => (c.spec.analysis.match = [{ sourceLabels: { app: "webapp" } }]),
    ],
    [
      "spec.service.match[0].withoutHeaders",
      (c: Canary): unknown => (c.spec.service.match = [{ withoutHeaders: { x: {} } }]),
    ],
    [
      "spec.service.match[0].method",
      (c: Canary): unknown => (c.spec.service.match = [{ method: { regex: "GET|POST" } }]),
    ],
    [
      "spec.service.match[0].uri.prefix",
      (c: Canary): unknown => (c.spec.service.match = [{ uri: { prefix: "api" } }]),
    ],
    [
      "spec.service.backendTimeout",
      (c: Canary): unknown => Object.assign(c.spec.service, { timeout: "5s", backendTimeout: "10s" }),
    ],
    [
      "spec.service.rewrite.type",
      (c: Canary): unknown => (c.spec.service.rewrite = { uri: "/", type: "Replace" }),
    ],
    [
      "spec.service.mirror[0].backendRef.port",
      (c: Canary): unknown => (c.spec.service.mirror = [{ backendRef: { name: "shadow" } }]),
    ],
  ] as const)("%s is an InvalidSpec naming it", (field, edit) => {
    const p = problemsOf((c) => {
      gatewayApiCatalog(c);
      edit(c);
    });
    expect(p.map((x) => x.field)).toEqual([field]);
    expect(p[0]?.message).toContain(field);
    expect(p[0]?.fix.length).toBeGreaterThan(5);
  });

  it("the shipped catalog example as it is (sourceLabels, gateways [mesh]) names both fields", () => {
    const p = problemsOf((c) => (c.spec.provider = "gatewayapi:v1"));
    expect(p.map((x) => x.field).sort()).toEqual([
      "spec.analysis.match[0].sourceLabels",
      "spec.service.gateways",
    ]);
  });

  it("Gateway API fields stay refused with Istio, with the provider as the fix", () => {
    const p = problemsOf((c) => (c.spec.service.gatewayRefs = [{ name: "gw" }]));
    expect(p.map((x) => x.field)).toEqual(["spec.service.gatewayRefs"]);
    expect(p[0]?.fix).toContain("spec.provider: gatewayapi:v1");
  });

  it("accepts what it can express: gatewayRefs, hosts, timeouts, headers, rewrite.type, mirror", () => {
    expect(
      problemsOf((c) => {
        gatewayApiCatalog(c);
        Object.assign(c.spec.service, {
          gatewayRefs: [{ name: "gw", namespace: "ingress" }],
          hosts: ["www.example.com", "*.example.com"],
          timeout: "1m30s",
          backendTimeout: "30s",
          headers: { request: { set: { "x-a": "1" } } },
          rewrite: { uri: "/v2", type: "ReplacePrefixMatch" },
          mirror: [{ backendRef: { name: "shadow", port: 80 } }],
          match: [
            { uri: { prefix: "/api" }, method: { exact: "GET" }, queryParams: { q: { regex: "a.*" } } },
          ],
        });
      }),
    ).toEqual([]);
  });
});
