// Flagger compatibility: real Flagger manifests (from its documentation) validate after changing only
// apiVersion, and parsing keeps every field the user wrote.
import { describe, expect, it } from "vitest";
import { validateAlertProvider, validateCanary, validateMetricTemplate } from "../../../src/api/validate.js";
import { loadFlaggerFixtures } from "../../fixtures/flagger/load.js";

const fixtures = loadFlaggerFixtures();

describe("Flagger fixtures", () => {
  it("cover the documented strategies", () => {
    const canaries = fixtures.filter((f) => f.kind === "Canary");
    expect(canaries.length).toBeGreaterThanOrEqual(6);
    const strategies = new Set(
      canaries.map((f) => {
        const r = validateCanary(f.serin);
        return r.ok ? r.spec.analysis.strategy : "invalid";
      }),
    );
    expect([...strategies].sort()).toEqual(["ab-testing", "blue-green", "canary"]);
  });

  it.each(fixtures.filter((f) => f.kind === "Canary").map((f) => [f.file, f] as const))(
    "%s validates as serin.dev/v1beta1 and keeps every field",
    (_file, f) => {
      const r = validateCanary(f.serin);
      if (!r.ok) expect.fail(JSON.stringify(r.problems, null, 2));
      expect(r.canary).toStrictEqual(f.serin);
    },
  );

  it.each(fixtures.filter((f) => f.kind === "MetricTemplate").map((f) => [f.file, f] as const))(
    "%s (MetricTemplate) validates and keeps every field",
    (_file, f) => {
      const r = validateMetricTemplate(f.serin);
      if (!r.ok) expect.fail(JSON.stringify(r.problems, null, 2));
      expect(r.template).toStrictEqual(f.serin);
    },
  );

  it.each(fixtures.filter((f) => f.kind === "AlertProvider").map((f) => [f.file, f] as const))(
    "%s (AlertProvider) validates and keeps every field",
    (_file, f) => {
      const r = validateAlertProvider(f.serin);
      if (!r.ok) expect.fail(JSON.stringify(r.problems, null, 2));
      expect(r.provider).toStrictEqual(f.serin);
    },
  );

  it("the unchanged Flagger apiVersion is reported with the one-line fix", () => {
    const canary = fixtures.find((f) => f.kind === "Canary");
    if (!canary) throw new Error("no Canary fixture");
    const r = validateCanary(canary.flagger);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.field).toBe("apiVersion");
    expect(r.problems[0]?.fix).toContain("serin.dev/v1beta1");
  });

  it("Istio fields Serin does not model survive parsing (passthrough)", () => {
    const f = fixtures.find((x) => x.file === "canary-istio-podinfo.yaml");
    if (!f) throw new Error("fixture missing");
    const obj = structuredClone(f.serin) as { spec: { service: { trafficPolicy: Record<string, unknown> } } };
    obj.spec.service.trafficPolicy.portLevelSettings = [
      { port: { number: 80 }, tls: { mode: "ISTIO_MUTUAL" } },
    ];
    obj.spec.service.trafficPolicy.loadBalancer = {
      simple: "LEAST_REQUEST",
      localityLbSetting: { enabled: true },
    };
    const r = validateCanary(obj);
    if (!r.ok) expect.fail(JSON.stringify(r.problems));
    expect(r.canary).toStrictEqual(obj);
  });
});
