// State lives in the Canary's status: a controller that dies mid-rollout and is replaced by another
// continues at the weight it reached, instead of starting over or losing the run.
import { afterAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, image, webappTraffic } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { type SerinProcess, startSerin } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
const settings = () => ({
  kubeconfigPath: inject("serinKubeconfig"),
  metricsServer: inject("prometheusUrl"),
  logDir: inject("envDir"),
});
const running: SerinProcess[] = [];
afterAll(async () => {
  for (const s of running) await s.stop();
});

describe("controller restart", () => {
  it("continues a rollout from its status after the controller is replaced", async () => {
    const first = await startSerin({ ...settings(), name: "serin-restart-1" });
    running.push(first);
    const ns = k.createNamespace("restart");
    applyCatalog(k, ns, { interval: "10s" });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    const watch = k.watchCanary(ns, "catalog-release");
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    for (let i = 0; i < 120 && (k.canary(ns, "catalog-release").status?.canaryWeight ?? 0) < 20; i++)
      await sleep(250);
    await first.stop();
    const reached = k.canary(ns, "catalog-release").status?.canaryWeight ?? 0;
    expect(reached).toBeGreaterThanOrEqual(20);

    // Nobody is steering: the rollout holds where it is, traffic still split.
    await sleep(12_000);
    expect(k.canary(ns, "catalog-release").status?.canaryWeight).toBe(reached);

    const second = await startSerin({ ...settings(), name: "serin-restart-2" });
    running.push(second);
    const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 180_000);
    await traffic.stop();
    watch.stop();
    expect(phase).toBe("Succeeded");
    const weights = watch.weights().filter((w) => w > 0);
    // One run, never restarted: weights only go up until promotion.
    expect(weights).toEqual([...weights].sort((a, b) => a - b));
    expect(weights).toEqual([10, 20, 30, 40, 50]);
    expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
  });
});
