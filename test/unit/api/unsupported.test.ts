// Flagger fields Serin does not implement are rejected with the field, never silently ignored.
import { describe, expect, it } from "vitest";
import { validateMetricTemplate } from "../../../src/api/validate.js";
import { loadFlaggerFixtures } from "../../fixtures/flagger/load.js";
import { type Canary, problemsOf } from "./helpers.js";

describe("unsupported Canary fields", () => {
  it.each([
    [
      "spec.ingressRef",
      (c: Canary): unknown =>
        (c.spec.ingressRef = { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "x" }),
    ],
    [
      "spec.routeRef",
      (c: Canary): unknown =>
        (c.spec.routeRef = { apiVersion: "apisix.apache.org/v2", kind: "ApisixRoute", name: "x" }),
    ],
    [
      "spec.upstreamRef",
      (c: Canary): unknown =>
        (c.spec.upstreamRef = { apiVersion: "gloo.solo.io/v1", kind: "Upstream", name: "x" }),
    ],
    ["spec.service.backendTimeout", (c: Canary): unknown => (c.spec.service.backendTimeout = "30s")],
    ["spec.service.gatewayRefs", (c: Canary): unknown => (c.spec.service.gatewayRefs = [{ name: "gw" }])],
    [
      "spec.service.mirror",
      (c: Canary): unknown => (c.spec.service.mirror = [{ backendRef: { name: "m" } }]),
    ],
    [
      "spec.service.rewrite.type",
      (c: Canary): unknown => (c.spec.service.rewrite = { uri: "/", type: "ReplacePrefixMatch" }),
    ],
    ["spec.service.meshName", (c: Canary): unknown => (c.spec.service.meshName = "global")],
    ["spec.service.backends", (c: Canary): unknown => (c.spec.service.backends = ["b"])],
    [
      "spec.autoscalerRef.primaryScalerQueries",
      (c: Canary): unknown =>
        (c.spec.autoscalerRef = {
          apiVersion: "autoscaling/v2",
          kind: "HorizontalPodAutoscaler",
          name: "catalog",
          primaryScalerQueries: { q: "sum(up)" },
        }),
    ],
    [
      "spec.autoscalerRef.kind",
      (c: Canary): unknown =>
        (c.spec.autoscalerRef = { apiVersion: "keda.sh/v1alpha1", kind: "ScaledObject", name: "x" }),
    ],
    [
      "spec.service.match[0].uri.suffix",
      (c: Canary): unknown => (c.spec.service.match = [{ uri: { suffix: ".png" } }]),
    ],
  ] as const)("%s is rejected with InvalidSpec naming it", (field, edit) => {
    const p = problemsOf(edit);
    expect(p.map((x) => x.field)).toEqual([field]);
    expect(p[0]?.message).toContain(field);
    expect(p[0]?.fix.length).toBeGreaterThan(5);
  });

  it("fields another engineer is implementing stay accepted (webhook muteAlert)", () => {
    expect(
      problemsOf((c) => {
        c.spec.analysis.webhooks = [{ name: "e", type: "event", url: "http://x/", muteAlert: true }];
      }),
    ).toEqual([]);
  });
});

describe("unsupported MetricTemplate fields", () => {
  const template = () => {
    const f = loadFlaggerFixtures(["MetricTemplate"])[0];
    if (!f) throw new Error("no MetricTemplate fixture");
    return structuredClone(f.serin) as { spec: { provider: Record<string, unknown> } };
  };

  it("provider.region (CloudWatch) is rejected", () => {
    const t = template();
    t.spec.provider.region = "eu-west-1";
    const r = validateMetricTemplate(t);
    if (r.ok) return expect.fail("validated region");
    expect(r.problems.map((p) => p.field)).toEqual(["spec.provider.region"]);
  });

  it("secretRef, headers and insecureSkipVerify stay accepted", () => {
    const t = template();
    Object.assign(t.spec.provider, {
      secretRef: { name: "s" },
      headers: { a: ["b"] },
      insecureSkipVerify: true,
    });
    expect(validateMetricTemplate(t).ok).toBe(true);
  });
});
