// The whole routing chain on real parts: Serin writes the VirtualService, istiod translates it, and the
// webapp's simulated sidecar receives it as Envoy configuration. Each weight Serin writes during a
// rollout must reach the sidecar (within about a second; the figures are printed), in Serin's order.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type JsonObject, type SidecarConfig, XdsClient } from "../mesh/xds/client.js";
import { applyCatalog, webappTraffic } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { RouteMonitor } from "../support/route-monitor.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-xds",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

let xds: XdsClient;
beforeAll(async () => {
  const address = process.env.SERIN_ISTIOD_XDS;
  if (!address) throw new Error("SERIN_ISTIOD_XDS is not set: the e2e global setup starts istiod");
  xds = await XdsClient.start({ xdsAddress: address });
});
afterAll(async () => {
  await xds?.stop();
});

const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? (v as JsonObject[]) : []);
const obj = (v: unknown): JsonObject => (v && typeof v === "object" ? (v as JsonObject) : {});

/** The canary's share of the webapp's first catalog route in the sidecar's Envoy config; undefined = none yet. */
function canaryWeightSeen(config: SidecarConfig, ns: string): number | undefined {
  const host = `catalog.${ns}.svc.cluster.local`;
  const vhost = arr(config.routes.get("80")?.virtual_hosts).find((v) => v.name === `${host}:80`);
  const first = arr(vhost?.routes)[0];
  if (!first) return undefined;
  const action = obj(first.route);
  const canaryCluster = `outbound|80||catalog-canary.${ns}.svc.cluster.local`;
  const weighted = arr(obj(action.weighted_clusters).clusters);
  if (weighted.length === 0) return action.cluster === canaryCluster ? 100 : 0;
  const total = weighted.reduce((sum, c) => sum + Number(c.weight ?? 0), 0);
  const canary = weighted.find((c) => c.name === canaryCluster);
  return total > 0 && canary ? Math.round((100 * Number(canary.weight ?? 0)) / total) : 0;
}

describe("Serin's routing through istiod", () => {
  it("delivers every weight Serin writes to the webapp's sidecar, in order", async () => {
    const ns = k.createNamespace("serin-xds");
    const routes = await RouteMonitor.start(inject("kubeconfig"), ns, "catalog");
    const sidecar = await xds.sidecar({
      namespace: ns,
      labels: { app: "webapp" },
      workload: "webapp",
      serviceAccount: "default",
    });
    const seen: Array<{ t: number; weight: number }> = [];
    const record = () => {
      const weight = canaryWeightSeen(sidecar.config(), ns);
      if (weight !== undefined && weight !== seen.at(-1)?.weight) seen.push({ t: Date.now(), weight });
    };
    record();
    const off = sidecar.onChange(record);
    try {
      applyCatalog(k, ns, { interval: "10s" });
      await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
      const traffic = webappTraffic(inject("meshProxyUrl"), ns, 10);
      k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
      const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 240_000);
      await traffic.stop();
      expect(phase).toBe("Succeeded");
      // The last write (back to 0 after promotion) needs a moment to travel.
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      off();
      routes.watch.stop();
    }

    const writes = routes.serinWrites().map((s) => ({ t: s.t, weight: s.canaryWeight }));
    expect(writes.map((w) => w.weight)).toEqual(expect.arrayContaining([10, 20, 30, 40, 50, 0]));
    // The sidecar saw Serin's weights in Serin's order: istiod may coalesce writes that come close
    // together (its debounce), never reorder or invent one. Each write is matched to the first later
    // arrival of its weight; the watch event and the xDS push race, so the delay is floored at 0.
    const delays: number[] = [];
    let cursor = 0;
    writes.forEach((w, i) => {
      const next = writes[i + 1];
      const superseded = next !== undefined && next.t - w.t < 1_000;
      const at = seen.findIndex((s, j) => j >= cursor && s.weight === w.weight);
      if (superseded && at < 0) return;
      expect(
        at,
        `weight ${w.weight} written by Serin never reached the sidecar (saw ${seen.map((s) => s.weight)})`,
      ).toBeGreaterThanOrEqual(0);
      cursor = at;
      delays.push(Math.max(0, (seen[at]?.t ?? Number.NaN) - w.t));
    });
    expect(seen.map((s) => s.weight).filter((w) => !writes.some((x) => x.weight === w))).toEqual([]);
    const sorted = [...delays].sort((a, b) => a - b);
    console.info(
      `serin-xds: ${writes.length} weight writes reached the webapp's sidecar through istiod; ` +
        `delay p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`,
    );
    // istiod's debounce is 100 ms; a generous bound keeps a loaded CI machine from flaking.
    for (const d of delays) expect(d).toBeLessThan(5_000);
  });
});
