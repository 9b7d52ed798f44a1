// The user's story on real parts: kube-apiserver + controllers + kwok, Prometheus scraping the mesh
// simulator, and Serin as its own process with its ServiceAccount's RBAC. Three releases of the
// catalog run at once in three namespaces, which also shows canaries do not block each other.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { applyCatalog, image, replicas, routeWeights, webappTraffic } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-catalog",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

async function release(newImage: string, opts: { threshold?: number } = {}) {
  const ns = k.createNamespace("catalog");
  applyCatalog(k, ns, { interval: "10s", ...opts });
  await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
  const traffic = webappTraffic(inject("meshProxyUrl"), ns);
  const watch = k.watchCanary(ns, "catalog-release");
  // Let the primary build up some history before the new version arrives.
  await new Promise((r) => setTimeout(r, 3_000));
  const pushedAt = Date.now();
  k.run(["set", "image", "-n", ns, "deployment/catalog", `catalog=istioinaction/catalog:${newImage}`]);
  const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 240_000);
  const load = await traffic.stop();
  watch.stop();
  return { ns, phase, watch, load, seconds: (Date.now() - pushedAt) / 1000 };
}

describe("catalog canary (Istio in Action, ch. 5)", () => {
  it("promotes a healthy v2 step by step, rolls back a failing and a slow v3", async () => {
    const [healthy, failing, slow] = await Promise.all([
      release("v2"),
      release("v3-bad"),
      release("v3-slow"),
    ]);

    // (a) healthy v2: 10..50 seen live in `kubectl get canary -w`, then promoted.
    expect(healthy.phase).toBe("Succeeded");
    expect(healthy.watch.statuses()).toEqual(
      expect.arrayContaining(["Progressing", "Promoting", "Succeeded"]),
    );
    const weights = healthy.watch.weights();
    for (const w of [10, 20, 30, 40, 50]) expect(weights).toContain(w);
    expect(weights.filter((w) => w > 0)).toEqual([10, 20, 30, 40, 50]);
    expect(image(k, healthy.ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
    expect(replicas(k, healthy.ns, "catalog")).toBe(0);
    for (const [primary, canary] of routeWeights(k, healthy.ns, "catalog"))
      expect([primary, canary]).toEqual([100, 0]);
    expect(healthy.load.byVersion["catalog:v2"]).toBeGreaterThan(0);
    // Each weight change is one write of the VirtualService, no more: no write loop against the apiserver.
    const generation = Number(
      k.run(["get", "virtualservice", "catalog", "-n", healthy.ns, "-o", "jsonpath={.metadata.generation}"]),
    );
    expect(generation).toBeLessThanOrEqual(8);

    // (b) v3 answering 5xx on 20% of requests: rolled back after 5 failed checks, primary still v1.
    expect(failing.phase).toBe("Failed");
    const failedStatus = k.canary(failing.ns, "catalog-release").status;
    expect(failedStatus?.failedChecks).toBe(5);
    const promoted = failedStatus?.conditions?.find((c) => c.type === "Promoted");
    expect(promoted?.status).toBe("False");
    // The check names the primary's value over the same window and the requests behind both.
    expect(promoted?.message).toMatch(
      /request-success-rate \d+\.\d\d% < 99% \(primary \d+\.\d\d%; [\d,]+ vs [\d,]+ requests over \d+s\) \(failed checks 5\/5\)/,
    );
    // The harm: what v3-bad served before the rollback, in status and in the RolledBack Event.
    const harm = failedStatus?.run?.canary;
    expect(harm?.requests).toBeGreaterThan(0);
    expect(harm?.errors).toBeGreaterThan(0);
    expect(harm?.errors).toBeLessThan(harm?.requests ?? 0);
    expect(image(k, failing.ns, "catalog-primary")).toBe("istioinaction/catalog:v1");
    expect(replicas(k, failing.ns, "catalog")).toBe(0);
    for (const [primary, canary] of routeWeights(k, failing.ns, "catalog"))
      expect([primary, canary]).toEqual([100, 0]);
    expect(failing.watch.statuses()).not.toContain("Promoting");

    // (c) v3 with p99 above 500 ms: rolled back on request-duration.
    expect(slow.phase).toBe("Failed");
    const slowPromoted = k
      .canary(slow.ns, "catalog-release")
      .status?.conditions?.find((c) => c.type === "Promoted");
    expect(slowPromoted?.message).toMatch(/request-duration \d+(\.\d)?ms > 500ms/);
    expect(image(k, slow.ns, "catalog-primary")).toBe("istioinaction/catalog:v1");

    const events = k.run([
      "get",
      "events",
      "-n",
      failing.ns,
      "--field-selector",
      "involvedObject.kind=Canary",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    expect(events).toContain("Rolling back catalog-release");
    expect(events).toMatch(
      /catalog:v3-bad served [\d,]+ requests, [\d,]+ failed, [\d,]+ slower than 500ms before the rollback/,
    );
    process.stdout.write(
      `rollout figures: healthy promoted in ${healthy.seconds.toFixed(0)}s, 5xx rolled back in ${failing.seconds.toFixed(0)}s, slow rolled back in ${slow.seconds.toFixed(0)}s\n`,
    );
  });
});
