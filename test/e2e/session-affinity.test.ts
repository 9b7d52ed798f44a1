// Session affinity: a user who once landed on the canary keeps landing there for the whole run,
// because Serin's VirtualService sets a cookie on canary responses and routes that cookie to the canary.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { meshRequest } from "../mesh/client.js";
import { applyCatalog } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-affinity",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

describe("session affinity", () => {
  it("pins a user who reached the canary to it with a cookie kept in status", async () => {
    const ns = k.createNamespace("sticky");
    applyCatalog(k, ns, { interval: "30s" });
    // No metrics (nothing to measure here) and no match: a plain weighted canary with sticky sessions.
    k.patchCanarySpec(ns, "catalog-release", {
      analysis: { match: null, metrics: [], sessionAffinity: { cookieName: "serin-canary", maxAge: 3600 } },
    });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    for (let i = 0; i < 80 && (k.canary(ns, "catalog-release").status?.canaryWeight ?? 0) < 10; i++)
      await sleep(250);
    const status = k.canary(ns, "catalog-release").status as { sessionAffinityCookie?: string } | undefined;
    expect(status?.sessionAffinityCookie).toMatch(/^serin-canary=[A-Za-z]{10}$/);
    await sleep(1_500); // the simulator's watch sees the new VirtualService

    const source = { workload: "webapp", namespace: ns, labels: { app: "webapp" } };
    let cookie: string | undefined;
    for (let i = 0; i < 300 && cookie === undefined; i++) {
      const res = await meshRequest(inject("meshProxyUrl"), { host: `catalog.${ns}`, source });
      if (res.version === "catalog:v2") {
        const setCookie = res.headers["set-cookie"]?.[0] ?? "";
        cookie = setCookie.split(";")[0];
      }
    }
    expect(cookie).toBe(status?.sessionAffinityCookie);
    // With the cookie, every request goes to the canary although it has only 10% of the traffic.
    const versions = new Set<string | undefined>();
    for (let i = 0; i < 50; i++) {
      const res = await meshRequest(inject("meshProxyUrl"), {
        host: `catalog.${ns}`,
        source,
        headers: { cookie: cookie ?? "" },
      });
      versions.add(res.version);
    }
    expect([...versions]).toEqual(["catalog:v2"]);
  });
});
