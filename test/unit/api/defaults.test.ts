import { describe, expect, it } from "vitest";
import { type CanarySpec, CanarySpecSchema } from "../../../src/api/canary.js";
import { DEFAULTS, withDefaults } from "../../../src/api/defaults.js";
import { catalogCanary } from "./helpers.js";

const minimal = (
  analysis: Record<string, unknown>,
  service: Record<string, unknown> = { port: 9898 },
): CanarySpec =>
  CanarySpecSchema.parse({
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
    service,
    analysis,
  });

describe("withDefaults", () => {
  it("applies Flagger's defaults to a minimal spec", () => {
    const e = withDefaults(minimal({ stepWeight: 10 }));
    expect(e.progressDeadlineSeconds).toBe(600);
    expect(e.provider).toBe("istio");
    expect(e.skipAnalysis).toBe(false);
    expect(e.suspend).toBe(false);
    expect(e.revertOnDeletion).toBe(false);
    expect(e.analysis).toMatchObject({
      strategy: "canary",
      interval: "60s",
      intervalMs: 60_000,
      threshold: 1,
      maxWeight: 100,
      stepWeight: 10,
      iterations: 0,
      mirror: false,
      primaryReadyThreshold: 100,
      canaryReadyThreshold: 100,
      match: [],
      metrics: [],
      webhooks: [],
      alerts: [],
      stepWeightPromotion: undefined,
      sessionAffinity: undefined,
    });
    expect(e.analysis.canaryWeights).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(e.service).toMatchObject({
      name: "podinfo",
      port: 9898,
      portName: "http",
      targetPort: 9898,
      gateways: ["mesh"],
      hosts: [],
      portDiscovery: false,
    });
    expect(e.names).toStrictEqual({
      apex: "podinfo",
      primaryService: "podinfo-primary",
      canaryService: "podinfo-canary",
      primaryWorkload: "podinfo-primary",
      canaryWorkload: "podinfo",
    });
  });

  it("does not change the stored spec", () => {
    const spec = minimal({ stepWeight: 10 });
    const before = structuredClone(spec);
    const e = withDefaults(spec);
    expect(spec).toStrictEqual(before);
    expect(e.source).toBe(spec);
    expect(spec.analysis).not.toHaveProperty("interval");
  });

  it("keeps what the user wrote (reference scenario)", () => {
    const e = withDefaults(CanarySpecSchema.parse(catalogCanary().spec));
    expect(e.progressDeadlineSeconds).toBe(60);
    expect(e.analysis).toMatchObject({ interval: "45s", intervalMs: 45_000, threshold: 5, maxWeight: 50 });
    expect(e.analysis.canaryWeights).toEqual([10, 20, 30, 40, 50]);
    expect(e.analysis.match).toEqual([{ sourceLabels: { app: "webapp" } }]);
    expect(e.service).toMatchObject({ name: "catalog", targetPort: 3000, hosts: ["catalog"] });
    expect(e.analysis.metrics.map((m) => [m.name, m.source.kind, m.intervalMs, m.thresholdRange])).toEqual([
      ["request-success-rate", "builtin", 60_000, { min: 99 }],
      ["request-duration", "builtin", 30_000, { max: 500 }],
    ]);
  });

  it("follows Flagger's linear steps past maxWeight (maxWeight 50, stepWeight 20 -> 20, 40, 60)", () => {
    expect(withDefaults(minimal({ maxWeight: 50, stepWeight: 20 })).analysis.canaryWeights).toEqual([
      20, 40, 60,
    ]);
    expect(withDefaults(minimal({ maxWeight: 100, stepWeight: 30 })).analysis.canaryWeights).toEqual([
      30, 60, 90, 100,
    ]);
  });

  it("takes maxWeight from the last of stepWeights", () => {
    const e = withDefaults(minimal({ stepWeights: [1, 2, 10, 80] }));
    expect(e.analysis.maxWeight).toBe(80);
    expect(e.analysis.canaryWeights).toEqual([1, 2, 10, 80]);
  });

  it("picks the strategy like Flagger", () => {
    expect(withDefaults(minimal({ iterations: 10 })).analysis.strategy).toBe("blue-green");
    const ab = withDefaults(
      minimal({ iterations: 10, match: [{ headers: { "x-canary": { exact: "insider" } } }] }),
    );
    expect(ab.analysis.strategy).toBe("ab-testing");
    expect(ab.analysis.canaryWeights).toEqual([]);
    expect(
      withDefaults(minimal({ stepWeight: 5, match: [{ sourceLabels: { app: "webapp" } }] })).analysis
        .strategy,
    ).toBe("canary");
  });

  it("treats threshold like Flagger: max(threshold, 1)", () => {
    expect(withDefaults(minimal({ stepWeight: 10, threshold: 3 })).analysis.threshold).toBe(3);
    expect(withDefaults(minimal({ stepWeight: 10 })).analysis.threshold).toBe(DEFAULTS.threshold);
  });

  it("defaults metric intervals, webhook timeouts and types", () => {
    const e = withDefaults(
      minimal({
        stepWeight: 10,
        metrics: [{ name: "404s", templateRef: { name: "nf" }, thresholdRange: { max: 5 } }],
        webhooks: [
          { name: "load", url: "http://t/" },
          { name: "gate", type: "confirm-rollout", url: "http://t/gate", timeout: "1m" },
        ],
      }),
    );
    expect(e.analysis.metrics[0]).toMatchObject({
      interval: "1m",
      intervalMs: 60_000,
      source: { kind: "template", templateRef: { name: "nf" } },
    });
    expect(e.analysis.webhooks).toEqual([
      {
        name: "load",
        type: "rollout",
        url: "http://t/",
        timeout: "10s",
        timeoutMs: 10_000,
        retries: 0,
        muteAlert: false,
        disableTLS: false,
        metadata: {},
      },
      {
        name: "gate",
        type: "confirm-rollout",
        url: "http://t/gate",
        timeout: "1m",
        timeoutMs: 60_000,
        retries: 0,
        muteAlert: false,
        disableTLS: false,
        metadata: {},
      },
    ]);
  });

  it("converts the deprecated metric threshold the way Flagger reads it", () => {
    const e = withDefaults(
      minimal({
        stepWeight: 10,
        metrics: [
          { name: "request-success-rate", threshold: 99 },
          { name: "request-duration", threshold: 500 },
          { name: "errors", query: "sum(x)", threshold: 2 },
        ],
      }),
    );
    expect(e.analysis.metrics.map((m) => m.thresholdRange)).toEqual([{ min: 99 }, { max: 500 }, { max: 2 }]);
    expect(e.analysis.metrics[2]?.source).toEqual({ kind: "query", query: "sum(x)" });
  });

  it("defaults the session cookie lifetime to a day", () => {
    const e = withDefaults(minimal({ stepWeight: 10, sessionAffinity: { cookieName: "c" } }));
    expect(e.analysis.sessionAffinity).toEqual({ cookieName: "c", maxAge: 86_400 });
  });

  it("uses the deprecated canaryAnalysis when analysis is absent", () => {
    const spec = CanarySpecSchema.parse({
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "podinfo" },
      service: { port: 80 },
      canaryAnalysis: { interval: "30s", stepWeight: 5 },
    });
    expect(withDefaults(spec).analysis).toMatchObject({ intervalMs: 30_000, stepWeight: 5 });
  });

  it("never throws, falling back to defaults on values validation rejects", () => {
    const spec = minimal({ stepWeight: 10 });
    (spec.analysis as Record<string, unknown>).interval = "garbage";
    expect(withDefaults(spec).analysis.interval).toBe("60s");
  });
});
