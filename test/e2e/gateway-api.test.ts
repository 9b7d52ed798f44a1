// provider gatewayapi:v1 on real parts: the catalog released through a Gateway API HTTPRoute attached to
// its Service (GAMMA). Serin writes the HTTPRoute; istiod (the real one) translates it into the sidecars'
// routes; the mesh simulator follows istiod's xDS, so the split the requests see is Istio's reading of the
// HTTPRoute, and Prometheus' Istio metrics of it decide the promotion. A bad version is rolled back.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { until } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";
import { meshRequest } from "../mesh/client.js";
import {
  httpRoutesIn,
  routesOf,
  routeWeights,
  virtualServicesIn,
  waitForSidecarConfig,
} from "../mesh/fixtures.js";
import { runLoad } from "../mesh/load.js";
import { applyCatalog, image, replicas, webappTraffic } from "../support/catalog.js";
import { istiodVerdict } from "../support/istiod-route-status.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
const adminUrl = process.env.SERIN_MESH_ADMIN_URL ?? new URL(inject("meshMetricsUrl")).origin;
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-gateway-api",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

const EXAMPLE = join(repoRoot, "examples", "catalog-gateway-api");

interface BackendRef {
  name: string;
  weight?: number;
}
interface StoredRoute {
  metadata: { generation: number; ownerReferences?: Array<{ kind: string; controller?: boolean }> };
  spec: { parentRefs: unknown[]; rules: Array<{ backendRefs: BackendRef[] }> };
  status?: unknown;
}

/** The example as shipped, with a 10 s interval (a user's edit of the Canary) so a run takes a minute. */
function applyExample(namespace: string, threshold?: number): void {
  k.run([
    "apply",
    "-n",
    namespace,
    "-f",
    join(EXAMPLE, "deployment.yaml"),
    "-f",
    join(EXAMPLE, "service.yaml"),
  ]);
  let canary = readFileSync(join(EXAMPLE, "canary.yaml"), "utf8").replace("interval: 45s", "interval: 10s");
  if (threshold !== undefined) canary = canary.replace("threshold: 5", `threshold: ${threshold}`);
  k.run(["apply", "-n", namespace, "-f", "-"], canary);
}

function httpRoute(namespace: string): StoredRoute {
  return k.json<StoredRoute>(["get", "httproute", "catalog", "-n", namespace]);
}

/** [primary, canary] weight of every rule of the HTTPRoute. */
function httpRouteWeights(namespace: string): Array<[number, number]> {
  return httpRoute(namespace).spec.rules.map((r) => {
    const w = (suffix: string) => r.backendRefs.find((b) => b.name.endsWith(suffix))?.weight ?? 0;
    return [w("-primary"), w("-canary")];
  });
}

const tester = (ns: string) => ({ workload: "tester", namespace: ns, labels: { app: "tester" } });

/** |observed - expected| within 4 binomial standard deviations. */
function expectShare(observed: number, n: number, p: number): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p), `${observed}/${n} vs p=${p}`).toBeLessThan(4 * sd);
}

async function healthyRelease() {
  const ns = k.createNamespace("gwapi");
  applyExample(ns);
  await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);

  // Serin wrote an HTTPRoute (and no Istio routing objects), owned by the Canary, attached to the Service.
  const route = httpRoute(ns);
  expect(route.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Canary", controller: true });
  expect(route.spec.parentRefs).toEqual([{ group: "", kind: "Service", name: "catalog", port: 80 }]);
  expect(httpRouteWeights(ns)).toEqual([[100, 0]]);
  expect(k.run(["get", "virtualservices,destinationrules", "-n", ns, "-o", "name"]).trim()).toBe("");
  // istiod accepted it for mesh traffic (its own status on the route).
  await until("istiod's status on the HTTPRoute", () => {
    const v = istiodVerdict(httpRoute(ns) as never, httpRoute(ns).metadata.generation);
    if (v.state === "rejected") throw new Error(`istiod rejects the HTTPRoute: ${v.messages.join("; ")}`);
    return v.state === "accepted" ? v : undefined;
  });

  const traffic = webappTraffic(inject("meshProxyUrl"), ns);
  const watch = k.watchCanary(ns, "catalog-release");
  await new Promise((r) => setTimeout(r, 3_000));
  k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);

  // Hold the run at 20% (pause, docs/control.md) and measure the split the mesh really sends.
  await until(
    "canary weight 20",
    () => ((k.canary(ns, "catalog-release").status?.canaryWeight ?? 0) >= 20 ? 1 : undefined),
    120_000,
  );
  k.run(["annotate", "canary", "catalog-release", "-n", ns, "--overwrite", "serin.dev/action=pause"]);
  const held = await until("status.paused", () => {
    const s = k.canary(ns, "catalog-release").status;
    return s?.paused === true ? (s.canaryWeight ?? 0) : undefined;
  });
  expect(httpRouteWeights(ns)).toEqual([[100 - held, held]]);
  // The caller's sidecar routes by istiod's translation of the HTTPRoute, with its weights.
  const config = await waitForSidecarConfig(
    adminUrl,
    `HTTPRoute ${ns}/catalog at ${held}%`,
    tester(ns),
    (c) =>
      httpRoutesIn(c).includes(`${ns}/catalog`) &&
      routeWeights(c).some((w) => w.join() === `${100 - held},${held}`),
  );
  expect(virtualServicesIn(config).filter((v) => v.startsWith(`${ns}/`))).toEqual([]);
  const sample = await runLoad({
    proxyUrl: inject("meshProxyUrl"),
    host: `catalog.${ns}`,
    qps: 200,
    maxRequests: 1200,
    source: tester(ns),
  });
  const v2 = sample.byVersion["catalog:v2"] ?? 0;
  const v1 = sample.byVersion["catalog:v1"] ?? 0;
  expect(v1 + v2).toBe(sample.completed);
  expectShare(v2, v1 + v2, held / 100);
  k.run(["annotate", "canary", "catalog-release", "-n", ns, "--overwrite", "serin.dev/action=resume"]);

  const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 240_000);
  const load = await traffic.stop();
  watch.stop();
  return { ns, phase, watch, load, held, sample: { v1, v2 } };
}

async function badRelease() {
  const ns = k.createNamespace("gwapi-bad");
  applyExample(ns, 3);
  await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
  const traffic = webappTraffic(inject("meshProxyUrl"), ns);
  await new Promise((r) => setTimeout(r, 3_000));
  k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v3-bad"]);
  const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 240_000);
  const load = await traffic.stop();
  return { ns, phase, load };
}

describe("catalog through a Gateway API HTTPRoute (provider gatewayapi:v1, mesh/GAMMA)", () => {
  it("promotes v2 with the mesh sending the HTTPRoute's weights, rolls a failing v3 back", async () => {
    const [healthy, bad] = await Promise.all([healthyRelease(), badRelease()]);

    expect(healthy.phase).toBe("Succeeded");
    expect(healthy.watch.weights().filter((w) => w > 0)).toEqual([10, 20, 30, 40, 50]);
    expect(image(k, healthy.ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
    expect(replicas(k, healthy.ns, "catalog")).toBe(0);
    expect(httpRouteWeights(healthy.ns)).toEqual([[100, 0]]);
    expect(healthy.load.byVersion["catalog:v2"]).toBeGreaterThan(0);
    // One write per weight change and no rewrite loop: the stored spec equals the built one.
    expect(httpRoute(healthy.ns).metadata.generation).toBeLessThanOrEqual(8);

    expect(bad.phase).toBe("Failed");
    const status = k.canary(bad.ns, "catalog-release").status;
    expect(status?.failedChecks).toBe(3);
    expect(status?.run?.canary?.errors).toBeGreaterThan(0);
    expect(image(k, bad.ns, "catalog-primary")).toBe("istioinaction/catalog:v1");
    expect(httpRouteWeights(bad.ns)).toEqual([[100, 0]]);
    expect(bad.load.byVersion["catalog:v3-bad"]).toBeGreaterThan(0);
    process.stdout.write(
      `gateway-api: held at ${healthy.held}%: v2 ${healthy.sample.v2} / v1 ${healthy.sample.v1} requests; ` +
        `healthy run v2 ${healthy.load.byVersion["catalog:v2"]}, bad run v3-bad ${bad.load.byVersion["catalog:v3-bad"]}\n`,
    );
  });
});

describe("changing spec.provider, and what an HTTPRoute cannot express", () => {
  const routingObjects = (ns: string) =>
    k
      .run(["get", "virtualservices,destinationrules,httproutes", "-n", ns, "-o", "name"])
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => l.replace(/\..*\//, "/"))
      .sort();

  it("moves a Canary from its VirtualService to an HTTPRoute and back, leaving only the current router's objects", async () => {
    const ns = k.createNamespace("gwapi-switch");
    applyCatalog(k, ns, { interval: "10s" });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
    expect(routingObjects(ns)).toEqual([
      "destinationrule/catalog-canary",
      "destinationrule/catalog-primary",
      "virtualservice/catalog",
    ]);

    // To the Gateway API: the Istio-only fields of the example go (null removes them in a merge patch).
    k.patchCanarySpec(ns, "catalog-release", {
      provider: "gatewayapi:v1",
      service: { gateways: null, hosts: null },
      analysis: { match: null },
    });
    await until("only the HTTPRoute", () =>
      routingObjects(ns).join() === "httproute/catalog" ? 1 : undefined,
    );
    expect(httpRouteWeights(ns)).toEqual([[100, 0]]);
    // The sidecars follow: routes now come from the HTTPRoute, none from a VirtualService.
    await waitForSidecarConfig(
      adminUrl,
      `${ns}: HTTPRoute only`,
      tester(ns),
      (c) => httpRoutesIn(c).includes(`${ns}/catalog`) && !virtualServicesIn(c).includes(`${ns}/catalog`),
    );
    const sample = await runLoad({
      proxyUrl: inject("meshProxyUrl"),
      host: `catalog.${ns}`,
      qps: 100,
      maxRequests: 100,
      source: tester(ns),
    });
    expect(sample.byStatus["200"]).toBe(100);

    // And back to Istio.
    k.patchCanarySpec(ns, "catalog-release", { provider: "istio" });
    await until("only the Istio objects", () =>
      routingObjects(ns).join() ===
      "destinationrule/catalog-canary,destinationrule/catalog-primary,virtualservice/catalog"
        ? 1
        : undefined,
    );
    const phase = k.canary(ns, "catalog-release").status?.phase;
    expect(phase).toBe("Initialized");
  });

  it("session affinity: the canary backendRef sets the cookie and the cookie pins its holder to the canary", async () => {
    const ns = k.createNamespace("gwapi-sticky");
    applyExample(ns);
    k.patchCanarySpec(ns, "catalog-release", {
      analysis: {
        interval: "30s",
        metrics: [],
        sessionAffinity: { cookieName: "serin-canary", maxAge: 3600 },
      },
    });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    const cookie = await until("the canary's cookie in status", () => {
      const s = k.canary(ns, "catalog-release").status as
        | { canaryWeight?: number; sessionAffinityCookie?: string }
        | undefined;
      return (s?.canaryWeight ?? 0) >= 10 ? s?.sessionAffinityCookie : undefined;
    });
    // istiod translated the sticky rule and the backendRef filter (its status is checked after the test).
    // (istiod drops the weight-0 primary: the sticky route is a plain route to the canary, matched on Cookie.)
    await waitForSidecarConfig(
      adminUrl,
      `${ns}: sticky rule`,
      tester(ns),
      (c) =>
        httpRoutesIn(c).includes(`${ns}/catalog`) &&
        routesOf(c).some((r) => /"name":"cookie"/i.test(JSON.stringify(r.match ?? {}))),
    );
    let set: string | undefined;
    for (let i = 0; i < 300 && set === undefined; i++) {
      const res = await meshRequest(inject("meshProxyUrl"), { host: `catalog.${ns}`, source: tester(ns) });
      if (res.version === "catalog:v2") set = (res.headers["set-cookie"]?.[0] ?? "").split(";")[0];
    }
    expect(set).toBe(cookie);
    const versions = new Set<string | undefined>();
    for (let i = 0; i < 50; i++) {
      const res = await meshRequest(inject("meshProxyUrl"), {
        host: `catalog.${ns}`,
        source: tester(ns),
        headers: { cookie: cookie },
      });
      versions.add(res.version);
    }
    expect([...versions]).toEqual(["catalog:v2"]);
  });

  it("revertOnDeletion removes the HTTPRoute, so the apex Service routes plainly to the target again", async () => {
    const ns = k.createNamespace("gwapi-revert");
    applyExample(ns);
    k.patchCanarySpec(ns, "catalog-release", { revertOnDeletion: true });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
    expect(routingObjects(ns)).toEqual(["httproute/catalog"]);
    k.run(["delete", "canary", "catalog-release", "-n", ns, "--wait=false"]);
    await until(
      "the Canary gone",
      () => (k.run(["get", "canary", "-n", ns, "-o", "name"]).trim() === "" ? 1 : undefined),
      90_000,
    );
    expect(routingObjects(ns)).toEqual([]);
    const selector = k.run(["get", "service", "catalog", "-n", ns, "-o", "jsonpath={.spec.selector.app}"]);
    expect(selector).toBe("catalog");
  });

  it("refuses the Istio example with provider gatewayapi:v1, naming the fields an HTTPRoute cannot carry", async () => {
    const ns = k.createNamespace("gwapi-invalid");
    const canary = readFileSync(join(repoRoot, "examples", "catalog", "canary.yaml"), "utf8").replace(
      "spec:\n",
      "spec:\n  provider: gatewayapi:v1\n",
    );
    k.run(["apply", "-n", ns, "-f", join(repoRoot, "examples", "catalog", "deployment.yaml")]);
    k.run(["apply", "-n", ns, "-f", "-"], canary);
    const ready = await until("Ready=False InvalidSpec", () => {
      const c = k.canary(ns, "catalog-release").status?.conditions?.find((x) => x.type === "Ready");
      return c?.reason === "InvalidSpec" ? c : undefined;
    });
    expect(ready.status).toBe("False");
    expect(ready.message).toContain("spec.analysis.match[0].sourceLabels");
    expect(ready.message).toContain("spec.service.gateways");
    // Nothing was written in its name.
    expect(routingObjects(ns)).toEqual([]);
    expect(
      k.run(["get", "deployment", "catalog-primary", "-n", ns, "--ignore-not-found", "-o", "name"]),
    ).toBe("");
  });
});
