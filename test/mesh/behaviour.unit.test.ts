// Behaviour knobs for analysis tests: cold start, error bursts, shared incidents.
import { describe, expect, it } from "vitest";
import { type BackendConfig, burstActive, planResponse } from "./backend-plan.js";
import {
  type Behaviour,
  behaviourFor,
  behaviourKey,
  INCIDENTS_CONFIGMAP,
  incidentsFor,
  loadImageCatalogue,
} from "./behaviour.js";
import { MeshIndex } from "./mesh-index.js";
import type { ConfigMapInfo } from "./model.js";
import { podOf, stateOf } from "./state-builders.js";

const T0 = Date.parse("2026-12-01T12:00:00Z");

function cfg(over: Partial<BackendConfig> = {}): BackendConfig {
  return {
    namespace: "shop",
    workload: "catalog",
    version: "catalog:v2",
    image: "catalog:v2",
    errorRate: 0,
    errorStatus: 500,
    latencyMs: 5,
    latencyJitterMs: 0,
    slowFraction: 0,
    slowMs: 0,
    startupDelayMs: 0,
    bursts: [],
    incidents: [],
    ...over,
  };
}

/** Fraction of `n` requests at time `now` answered with `status`. */
function share(c: BackendConfig, now: number, status: number, n = 2000, startedAt = T0): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (planResponse(c, "/", now, startedAt, Math.random).status === status) hits++;
  return hits / n;
}

describe("planResponse", () => {
  it("cold start: a request in the first startupDelayMs waits until the version is up", () => {
    const c = cfg({ startupDelayMs: 1000 });
    expect(planResponse(c, "/", T0 + 200, T0, () => 0).delayMs).toBe(5 + 800);
    expect(planResponse(c, "/", T0 + 1500, T0, () => 0).delayMs).toBe(5);
    expect(planResponse(cfg(), "/", T0, T0, () => 0).delayMs).toBe(5);
  });

  it("an error burst sets the error rate for its window, then the version's own rate is back", () => {
    const burst = { afterMs: 10_000, forMs: 5_000, errorRate: 1, errorStatus: 503, latencyMs: 100 };
    const c = cfg({ bursts: [burst] });
    expect(planResponse(c, "/", T0 + 9_999, T0, () => 0.5).status).toBe(200);
    expect(planResponse(c, "/", T0 + 10_000, T0, () => 0.5)).toEqual({ status: 503, delayMs: 105 });
    expect(planResponse(c, "/", T0 + 15_000, T0, () => 0.5).status).toBe(200);
    // half the requests during a 50% burst
    const half = cfg({ bursts: [{ ...burst, errorRate: 0.5 }] });
    expect(share(half, T0 + 12_000, 503)).toBeGreaterThan(0.4);
    expect(share(half, T0 + 12_000, 503)).toBeLessThan(0.6);
  });

  it("repeating bursts (everyMs)", () => {
    const b = { afterMs: 1_000, forMs: 200, everyMs: 1_000, errorRate: 1 };
    expect([500, 1_000, 1_199, 1_200, 2_100, 2_300].map((t) => burstActive(b, t))).toEqual([
      false,
      true,
      true,
      false,
      true,
      false,
    ]);
  });

  it("a shared incident adds its error rate (independent draw) and latency inside its window only", () => {
    const incident = {
      name: "db-down",
      fromMs: T0 + 60_000,
      untilMs: T0 + 120_000,
      errorRate: 0.5,
      errorStatus: 503,
      latencyMs: 50,
    };
    const c = cfg({ errorRate: 0.2, incidents: [incident] });
    expect(share(c, T0 + 30_000, 503)).toBe(0);
    const during = share(c, T0 + 90_000, 503, 4000);
    expect(during).toBeGreaterThan(0.35); // 0.8 * 0.5 = 0.4
    expect(during).toBeLessThan(0.45);
    expect(share(c, T0 + 90_000, 500, 4000)).toBeGreaterThan(0.15);
    expect(planResponse(c, "/", T0 + 90_000, T0, () => 0.99).delayMs).toBe(55);
    expect(share(c, T0 + 120_000, 503)).toBe(0);
  });

  it("/status/<code> and /delay/<ms> still win", () => {
    const c = cfg({ errorRate: 1 });
    expect(planResponse(c, "/status/204", T0, T0, () => 0).status).toBe(204);
    expect(planResponse(cfg(), "/delay/250?x", T0, T0, () => 0).delayMs).toBe(255);
  });
});

describe("behaviourFor: knobs from images.json, env and the incidents ConfigMap", () => {
  const incidents: ConfigMapInfo = {
    name: INCIDENTS_CONFIGMAP,
    namespace: "shop",
    data: {
      "db-down": JSON.stringify({
        workloads: ["catalog", "catalog-primary"],
        errorRate: 0.3,
        start: "2026-12-01T12:00:00Z",
        durationMs: 60_000,
      }),
      everywhere: JSON.stringify({ latencyMs: 20, start: T0 }),
      broken: "{not json",
    },
  };
  const canary = podOf({
    deployment: "catalog",
    namespace: "shop",
    hash: "c2",
    labels: { app: "catalog" },
    image: "catalog:v2",
    env: {
      SIM_STARTUP_DELAY_MS: "1500",
      SIM_ERROR_BURSTS: '[{"afterMs":30000,"forMs":10000,"errorRate":0.5}]',
    },
  });
  const primary = podOf({
    deployment: "catalog-primary",
    namespace: "shop",
    hash: "p1",
    labels: { app: "catalog-primary" },
    image: "catalog:v1",
  });
  const webapp = podOf({ deployment: "webapp", namespace: "shop", hash: "w", labels: {}, image: "webapp:1" });
  const index = new MeshIndex(stateOf({ pods: [canary, primary, webapp], configMaps: [incidents] }));

  it("one incident hits primary and canary together; bad entries are skipped and reported", () => {
    const bad: string[] = [];
    const forCanary = incidentsFor(index, "shop", "catalog", (name) => bad.push(name));
    expect(bad).toEqual(["broken"]);
    expect(forCanary.map((i) => i.name)).toEqual(["db-down", "everywhere"]);
    expect(forCanary[0]).toEqual({
      name: "db-down",
      fromMs: T0,
      untilMs: T0 + 60_000,
      errorRate: 0.3,
      errorStatus: 503,
      latencyMs: 0,
    });
    expect(incidentsFor(index, "shop", "catalog-primary").map((i) => i.name)).toEqual([
      "db-down",
      "everywhere",
    ]);
    expect(incidentsFor(index, "shop", "webapp").map((i) => i.name)).toEqual(["everywhere"]);
    expect(incidentsFor(index, "other", "catalog")).toEqual([]);
  });

  it("env SIM_STARTUP_DELAY_MS and SIM_ERROR_BURSTS, incidents by workload", () => {
    const b = behaviourFor(index, canary, {});
    expect(b.startupDelayMs).toBe(1500);
    expect(b.bursts).toEqual([{ afterMs: 30_000, forMs: 10_000, errorRate: 0.5 }]);
    expect(b.incidents.map((i) => i.name)).toEqual(["db-down", "everywhere"]);
    expect(behaviourFor(index, primary, {}).incidents.map((i) => i.name)).toEqual(["db-down", "everywhere"]);
  });

  it("a behaviour without the new knobs keeps its old key; any knob changes it", () => {
    const plain: Behaviour = behaviourFor(new MeshIndex(stateOf({ pods: [primary] })), primary, {});
    expect(behaviourKey(plain)).toBe("catalog:v1|catalog:v1|0|500|0|0|0|0");
    expect(behaviourKey({ ...plain, startupDelayMs: 1 })).not.toBe(behaviourKey(plain));
    expect(behaviourKey(behaviourFor(index, primary, {}))).not.toBe(behaviourKey(plain));
  });

  it("images.json parses, with the new knobs", () => {
    const catalogue = loadImageCatalogue();
    expect(catalogue["catalog:v1"]).toBeDefined();
    expect(catalogue["catalog:v5-cold"]?.startupDelayMs).toBeGreaterThan(0);
    expect(catalogue["catalog:v6-bursty"]?.bursts?.length).toBeGreaterThan(0);
  });
});
