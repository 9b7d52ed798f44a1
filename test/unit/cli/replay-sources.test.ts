// Where the replay's Prometheus and judge come from when the user does not say.
import { describe, expect, it } from "vitest";
import type { EffectiveSpec } from "../../../src/api/defaults.js";
import { judgeOf } from "../../../src/cli/replay/judge.js";
import { PROMETHEUS_ENV, prometheusAddress } from "../../../src/cli/replay/prometheus.js";
import { canary } from "./fixtures.js";

describe("which Prometheus", () => {
  it("--prometheus, else the environment, else the Canary's metricsServer; and says which", () => {
    expect(prometheusAddress("http://a", "http://b", "http://c")).toEqual({
      address: "http://a",
      how: "--prometheus",
    });
    expect(prometheusAddress(undefined, "http://b", "http://c")).toEqual({
      address: "http://b",
      how: PROMETHEUS_ENV,
    });
    expect(prometheusAddress(undefined, undefined, "http://c")).toEqual({
      address: "http://c",
      how: "the Canary's spec.metricsServer",
    });
  });

  it("none (or an empty one): says how to give one", () => {
    expect(() => prometheusAddress(undefined, undefined, undefined)).toThrow(/no Prometheus to ask/);
    expect(() => prometheusAddress(undefined, "", "http://c")).toThrow(/no Prometheus to ask/);
  });
});

describe("which judge", () => {
  const spec = (mode?: "threshold" | "sequential") =>
    ({ analysis: { judge: mode ? { mode } : {} } }) as unknown as EffectiveSpec;

  it("the spec's mode when it sets one, nothing assumed", () => {
    expect(judgeOf(canary("c", {}), spec("sequential"))).toEqual({ mode: "sequential" });
  });

  it("unset: sequential when the run's status shows held checks, else threshold, saying so", () => {
    const held = canary("c", {
      run: { revision: "r", checks: [{ time: "t", canaryWeight: 10, verdict: "held", metrics: [] }] },
    });
    expect(judgeOf(held, spec())).toMatchObject({
      mode: "sequential",
      assumed: expect.stringMatching(/evidence/),
    });
    expect(judgeOf(canary("c", {}), spec())).toMatchObject({
      mode: "threshold",
      assumed: expect.any(String),
    });
  });
});
