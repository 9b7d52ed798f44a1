// Lifecycle behaviour users rely on beyond the happy path, on the real cluster.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, image, replicas, webappTraffic } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-lifecycle",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

describe("Canary lifecycle", () => {
  it("reports an invalid spec in a Ready=False condition and an Event naming the field and the fix, and touches nothing", async () => {
    const ns = k.createNamespace("invalid");
    applyCatalog(k, ns, { interval: "10s" });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    // Valid for the CRD (each value alone is fine) but stepWeight > maxWeight: only Serin can say so.
    k.patchCanarySpec(ns, "catalog-release", { analysis: { stepWeight: 60 } });
    let ready: { status: string; reason: string; message?: string } | undefined;
    for (let i = 0; i < 40 && ready?.reason !== "InvalidSpec"; i++) {
      await sleep(250);
      ready = k.canary(ns, "catalog-release").status?.conditions?.find((c) => c.type === "Ready");
    }
    expect(ready?.status).toBe("False");
    expect(ready?.message).toContain("spec.analysis.stepWeight");
    expect(ready?.message).toMatch(/maxWeight/);
    const events = k.run([
      "get",
      "events",
      "-n",
      ns,
      "--field-selector",
      "reason=InvalidSpec",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    expect(events).toContain("stepWeight");
    // The user's spec is stored as written, and nothing was rolled out.
    expect(
      k.json<{ spec: { analysis: { stepWeight: number } } }>(["get", "canary", "catalog-release", "-n", ns])
        .spec.analysis.stepWeight,
    ).toBe(60);
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    await sleep(3_000);
    expect(k.canary(ns, "catalog-release").status?.phase).toBe("Initialized");
    expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v1");
  });

  it("detects a new image on the watch event and restarts the analysis when another revision arrives mid-run", async () => {
    const ns = k.createNamespace("restart");
    applyCatalog(k, ns, { interval: "10s" });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    const pushed = Date.now();
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    await k.waitForPhase(ns, "catalog-release", ["Progressing"], 30_000);
    const detectedMs = Date.now() - pushed;
    // Well under one analysis interval (10 s): the watch, not a ticker, started the run.
    expect(detectedMs).toBeLessThan(5_000);
    for (let i = 0; i < 60 && (k.canary(ns, "catalog-release").status?.canaryWeight ?? 0) < 20; i++)
      await sleep(500);
    expect(k.canary(ns, "catalog-release").status?.canaryWeight).toBeGreaterThanOrEqual(20);
    const watch = k.watchCanary(ns, "catalog-release");
    await sleep(1_000);
    const before = k.canary(ns, "catalog-release").status?.lastAppliedSpec;
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v3-bad"]);
    for (let i = 0; i < 40 && k.canary(ns, "catalog-release").status?.lastAppliedSpec === before; i++)
      await sleep(250);
    await sleep(1_000);
    watch.stop();
    // `kubectl get canary -w` shows the weight fall back to 0 as the run restarts on the new revision.
    const weights = watch.weights();
    const peak = weights.findIndex((w) => w >= 20);
    expect(peak).toBeGreaterThanOrEqual(0);
    expect(weights.slice(peak)).toContain(0);
    expect(k.canary(ns, "catalog-release").status?.failedChecks).toBe(0);
    const events = k.run([
      "get",
      "events",
      "-n",
      ns,
      "--field-selector",
      "reason=RevisionChanged",
      "-o",
      "jsonpath={.items[*].message}",
    ]);
    expect(events).toContain("Restarting analysis");
    await traffic.stop();
    process.stdout.write(`new image detected in ${detectedMs} ms\n`);
  });

  it("tracks ConfigMaps: editing one the target mounts starts a run, and promotion copies it to <name>-primary", async () => {
    const ns = k.createNamespace("config");
    k.run(["create", "configmap", "catalog-config", "-n", ns, "--from-literal=greeting=hello"]);
    applyCatalog(k, ns, {
      interval: "10s",
      beforeCanary: () =>
        k.run([
          "patch",
          "deployment",
          "catalog",
          "-n",
          ns,
          "--type=json",
          "-p",
          JSON.stringify([
            {
              op: "add",
              path: "/spec/template/spec/containers/0/envFrom",
              value: [{ configMapRef: { name: "catalog-config" } }],
            },
          ]),
        ]),
    });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    const primaryEnv = k.run([
      "get",
      "deployment",
      "catalog-primary",
      "-n",
      ns,
      "-o",
      "jsonpath={.spec.template.spec.containers[0].envFrom[0].configMapRef.name}",
    ]);
    expect(primaryEnv).toBe("catalog-config-primary");
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    k.run([
      "patch",
      "configmap",
      "catalog-config",
      "-n",
      ns,
      "--type=merge",
      "-p",
      JSON.stringify({ data: { greeting: "bonjour" } }),
    ]);
    await k.waitForPhase(ns, "catalog-release", ["Progressing"], 30_000);
    await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 180_000);
    await traffic.stop();
    expect(k.canary(ns, "catalog-release").status?.phase).toBe("Succeeded");
    const copied = k.run([
      "get",
      "configmap",
      "catalog-config-primary",
      "-n",
      ns,
      "-o",
      "jsonpath={.data.greeting}",
    ]);
    expect(copied).toBe("bonjour");
  });

  it("never overwrites a VirtualService it does not own: Blocked with the reason, unblocked once it is gone", async () => {
    const ns = k.createNamespace("blocked");
    const theirs = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "catalog", namespace: ns },
      spec: { hosts: ["catalog"], http: [{ route: [{ destination: { host: "catalog" } }] }] },
    };
    k.run(["apply", "-f", "-"], JSON.stringify(theirs));
    applyCatalog(k, ns, { interval: "10s" });
    let ready: { status: string; reason: string; message?: string } | undefined;
    for (let i = 0; i < 80 && ready?.reason !== "Blocked"; i++) {
      await sleep(250);
      ready = k.canary(ns, "catalog-release").status?.conditions?.find((c) => c.type === "Ready");
    }
    expect(ready?.status).toBe("False");
    expect(ready?.message).toContain(
      "VirtualService catalog exists and is not managed by Canary catalog-release",
    );
    expect(k.canary(ns, "catalog-release").status?.phase).not.toBe("Initialized");
    // Their VirtualService is untouched.
    expect(k.json<{ spec: unknown }>(["get", "virtualservice", "catalog", "-n", ns]).spec).toEqual(
      theirs.spec,
    );

    const deletedAt = Date.now();
    k.run(["delete", "virtualservice", "catalog", "-n", ns]);
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 30_000);
    // The delete event itself brings the Canary back, well before the 60 s blocked requeue.
    expect(Date.now() - deletedAt).toBeLessThan(10_000);
    expect(k.canary(ns, "catalog-release").status?.conditions?.find((c) => c.type === "Ready")?.status).toBe(
      "True",
    );
  });

  it("autoscalerRef: the primary gets its own HorizontalPodAutoscaler", async () => {
    const ns = k.createNamespace("hpa");
    applyCatalog(k, ns, {
      interval: "10s",
      beforeCanary: () =>
        k.run(["autoscale", "deployment", "catalog", "-n", ns, "--min=2", "--max=6", "--cpu-percent=80"]),
    });
    k.patchCanarySpec(ns, "catalog-release", {
      autoscalerRef: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "catalog" },
    });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    let target = "";
    for (let i = 0; i < 40 && target === ""; i++) {
      await sleep(250);
      target = k.run([
        "get",
        "hpa",
        "catalog-primary",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.scaleTargetRef.name}",
        "--ignore-not-found",
      ]);
    }
    expect(target).toBe("catalog-primary");
    expect(
      k.run([
        "get",
        "hpa",
        "catalog-primary",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.minReplicas}/{.spec.maxReplicas}",
      ]),
    ).toBe("2/6");
    expect(k.run(["get", "hpa", "catalog", "-n", ns, "-o", "jsonpath={.spec.scaleTargetRef.name}"])).toBe(
      "catalog",
    );
  });

  it("revertOnDeletion: deleting the Canary gives the app back as it was", async () => {
    const ns = k.createNamespace("revert");
    applyCatalog(k, ns, { interval: "10s" });
    k.patchCanarySpec(ns, "catalog-release", { revertOnDeletion: true });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    for (
      let i = 0;
      i < 20 &&
      !(
        k.json<{ metadata: { finalizers?: string[] } }>(["get", "canary", "catalog-release", "-n", ns])
          .metadata.finalizers ?? []
      ).includes("serin.dev/finalizer");
      i++
    )
      await sleep(250);
    expect(replicas(k, ns, "catalog")).toBe(0);
    k.run(["delete", "canary", "catalog-release", "-n", ns, "--wait=true", "--timeout=90s"]);
    expect(replicas(k, ns, "catalog")).toBe(2);
    const selector = k.run(["get", "service", "catalog", "-n", ns, "-o", "jsonpath={.spec.selector.app}"]);
    expect(selector).toBe("catalog");
    expect(k.run(["get", "virtualservices", "-n", ns, "-o", "name"]).trim()).toBe("");
    // The primary and the generated Services go with the Canary (garbage collection of owned objects).
    let left = "x";
    // The garbage collector learns new CRDs on its discovery resync (30 s), so allow it a few rounds.
    for (let i = 0; i < 180 && left !== ""; i++) {
      await sleep(500);
      left = k
        .run(["get", "deployment,service", "-n", ns, "-o", "name", "--ignore-not-found"])
        .split("\n")
        .filter((l) => /primary|canary/.test(l))
        .join("");
    }
    expect(left).toBe("");
  });
});
