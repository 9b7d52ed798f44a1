// The Bookinfo reviews example: an A/B test where only `end-user: jason` reaches the new version
// during the analysis, then everyone gets it once it is promoted.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { repoRoot } from "../env/toolchain.js";
import { startLoad } from "../mesh/load.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-bookinfo",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

describe("Bookinfo reviews A/B test", () => {
  it("routes only jason to the canary during the analysis, then promotes", async () => {
    const ns = k.createNamespace("bookinfo");
    const dir = join(repoRoot, "examples", "bookinfo-reviews");
    k.run(["apply", "-n", ns, "-f", join(dir, "deployment.yaml"), "-f", join(dir, "service.yaml")]);
    k.run(
      ["apply", "-n", ns, "-f", "-"],
      readFileSync(join(dir, "canary.yaml"), "utf8").replace("interval: 30s", "interval: 10s"),
    );
    await k.waitForPhase(ns, "reviews", ["Initialized"], 60_000);

    const source = { workload: "productpage", namespace: ns, labels: { app: "productpage" } };
    const common = {
      proxyUrl: inject("meshProxyUrl"),
      host: `reviews.${ns}:9080`,
      qps: 10,
      durationMs: 300_000,
      source,
    };
    const jason = startLoad({ ...common, headers: { "end-user": "jason" } });
    const others = startLoad({ ...common, headers: { "end-user": "alice" } });
    k.run([
      "set",
      "image",
      "-n",
      ns,
      "deployment/reviews",
      "reviews=docker.io/istio/examples-bookinfo-reviews:v2",
    ]);
    await k.waitForPhase(ns, "reviews", ["Progressing"], 30_000);
    for (let i = 0; i < 60 && (k.canary(ns, "reviews").status?.iterations ?? 0) < 2; i++)
      await new Promise((r) => setTimeout(r, 500));

    const vs = k.json<{
      spec: {
        http: Array<{
          match?: Array<{ headers?: Record<string, { exact?: string }> }>;
          route: Array<{ destination: { host: string }; weight?: number }>;
        }>;
      };
    }>(["get", "virtualservice", "reviews", "-n", ns]);
    expect(vs.spec.http[0]?.match?.[0]?.headers?.["end-user"]?.exact).toBe("jason");
    const canaryShare = (route: Array<{ destination: { host: string }; weight?: number }> | undefined) =>
      route?.find((d) => d.destination.host === "reviews-canary")?.weight ?? 0;
    expect(canaryShare(vs.spec.http[0]?.route)).toBe(100);
    expect(canaryShare(vs.spec.http[1]?.route)).toBe(0);

    // Stop watching the others before promotion starts rolling the primary to v2.
    for (let i = 0; i < 240 && (k.canary(ns, "reviews").status?.iterations ?? 0) < 4; i++)
      await new Promise((r) => setTimeout(r, 250));
    const othersDuringRun = await others.stop();
    const phase = await k.waitForPhase(ns, "reviews", ["Promoting", "Succeeded", "Failed"], 180_000);
    const jasonDuringRun = await jason.stop();
    expect(phase).not.toBe("Failed");
    expect(k.canary(ns, "reviews").status?.iterations).toBe(5);
    expect(jasonDuringRun.byVersion["examples-bookinfo-reviews:v2"] ?? 0).toBeGreaterThan(0);
    expect(othersDuringRun.byVersion["examples-bookinfo-reviews:v2"] ?? 0).toBe(0);
    expect(othersDuringRun.byVersion["examples-bookinfo-reviews:v1"] ?? 0).toBeGreaterThan(0);
    expect(await k.waitForPhase(ns, "reviews", ["Succeeded"], 60_000)).toBe("Succeeded");
  });
});
