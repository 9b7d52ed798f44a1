// (d) Prometheus goes away mid-analysis: every check fails with the reason, and nothing is promoted.
// This file runs its own real Prometheus (the shared one keeps serving the other tests) and stops it.
import { afterAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, image, routeWeights, webappTraffic } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { type OwnPrometheusWorld, startWithOwnPrometheus } from "../support/own-prometheus.js";

const k = new Kubectl(inject("kubeconfig"));
let world: OwnPrometheusWorld | undefined;

afterAll(async () => {
  await world?.stop();
});

describe("Prometheus outage during analysis", () => {
  it("counts every check as failed with the reason and rolls back; never promotes", async () => {
    world = await startWithOwnPrometheus("outage");
    const { prometheus } = world;
    const ns = k.createNamespace("outage");
    applyCatalog(k, ns, { interval: "10s", threshold: 3 });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    const watch = k.watchCanary(ns, "catalog-release");
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    // Let one real check pass first, so the outage happens mid-analysis, not before it.
    for (let i = 0; i < 120 && (k.canary(ns, "catalog-release").status?.canaryWeight ?? 0) < 20; i++)
      await sleep(250);
    expect(k.canary(ns, "catalog-release").status?.canaryWeight).toBe(20);
    await prometheus.stop();

    const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 120_000);
    await traffic.stop();
    watch.stop();
    expect(phase).toBe("Failed");
    expect(watch.statuses()).not.toContain("Promoting");
    expect(Math.max(...watch.weights())).toBeLessThanOrEqual(30);
    const message = k
      .canary(ns, "catalog-release")
      .status?.conditions?.find((c) => c.type === "Promoted")?.message;
    expect(message).toMatch(/unreachable/);
    expect(message).toContain("(failed checks 3/3)");
    expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v1");
    for (const weights of routeWeights(k, ns, "catalog")) expect(weights).toEqual([100, 0]);
  });
});
