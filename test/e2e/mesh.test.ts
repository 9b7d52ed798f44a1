// The mesh simulator against the real local cluster, istiod and Prometheus: VirtualServices applied through
// the API server reach the simulated sidecars as istiod's xDS and route real HTTP traffic, and Prometheus
// answers Flagger's built-in Istio queries from it.
//
// Needs from the global setup: SERIN_KUBECONFIG (admin), SERIN_PROMETHEUS_URL, and the simulator started
// with test/e2e/global-setup.ts (SERIN_MESH_PROXY_URL, SERIN_MESH_METRICS_URL, SERIN_MESH_ADMIN_URL).
import {
  AppsV1Api,
  KubeConfig,
  type KubernetesObject,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createObjects,
  createTestNamespace,
  deleteNamespace,
  deploymentObject,
  endpointCount,
  readyPods,
  replaceCustomObject,
  routeWeights,
  serviceObject,
  virtualServiceObject,
  virtualServicesIn,
  waitForMeshState,
  waitForSidecarConfig,
} from "../mesh/fixtures.js";
import type { HttpRoute, VirtualServiceSpec } from "../mesh/istio-types.js";
import { runLoad } from "../mesh/load.js";
import { queryPrometheus } from "../mesh/prometheus.js";

function env(name: string): string {
  const v = process.env[name];
  if (!v)
    throw new Error(
      `${name} is not set: the e2e global setup must start the cluster, Prometheus and the mesh simulator`,
    );
  return v;
}

let kc: KubeConfig;
let proxyUrl: string;
let adminUrl: string;
let prometheusUrl: string;
const namespaces: string[] = [];

beforeAll(() => {
  kc = new KubeConfig();
  kc.loadFromFile(env("SERIN_KUBECONFIG"));
  proxyUrl = env("SERIN_MESH_PROXY_URL");
  adminUrl = process.env.SERIN_MESH_ADMIN_URL ?? new URL(env("SERIN_MESH_METRICS_URL")).origin;
  prometheusUrl = env("SERIN_PROMETHEUS_URL");
});

afterEach(async () => {
  for (const ns of namespaces.splice(0)) await deleteNamespace(kc, ns);
});

/** Flagger's layout: catalog-primary (v1) behind catalog + catalog-primary, catalog (canary) behind catalog-canary. */
async function deployCatalog(
  canaryEnv: Record<string, string> = {},
  primaryEnv: Record<string, string> = {},
) {
  const ns = await createTestNamespace(kc, "mesh");
  namespaces.push(ns);
  await createObjects(kc, [
    deploymentObject({
      name: "catalog-primary",
      namespace: ns,
      image: "ghcr.io/acme/catalog:v1",
      replicas: 2,
      env: primaryEnv,
    }),
    deploymentObject({ name: "catalog", namespace: ns, image: "ghcr.io/acme/catalog:v2", env: canaryEnv }),
    serviceObject("catalog", ns, { app: "catalog-primary" }),
    serviceObject("catalog-primary", ns, { app: "catalog-primary" }),
    serviceObject("catalog-canary", ns, { app: "catalog" }),
  ]);
  await waitForMeshState(
    adminUrl,
    `ready pods of catalog-primary and catalog in ${ns}`,
    (s) => readyPods(s, ns, "catalog-primary") === 2 && readyPods(s, ns, "catalog") === 1,
    120_000,
  );
  return ns;
}

function weighted(primary: number, canary: number): HttpRoute {
  return {
    route: [
      { destination: { host: "catalog-primary" }, weight: primary },
      { destination: { host: "catalog-canary" }, weight: canary },
    ],
  };
}

async function applyVs(
  ns: string,
  spec: VirtualServiceSpec,
  weights?: [number, number],
): Promise<KubernetesObject> {
  const [vs] = await createObjects(kc, [virtualServiceObject("catalog", ns, spec)]);
  if (!vs) throw new Error("VirtualService not created");
  await waitForRoutes(ns, `VirtualService ${ns}/catalog`, weights);
  return vs;
}

/** The caller's sidecar has istiod's routes from the VirtualService (with these weights) and every endpoint. */
async function waitForRoutes(ns: string, what: string, weights?: [number, number]): Promise<void> {
  const fqdn = (svc: string) => `outbound|80||${svc}.${ns}.svc.cluster.local`;
  await waitForSidecarConfig(
    adminUrl,
    what,
    source(ns),
    (c) =>
      virtualServicesIn(c).includes(`${ns}/catalog`) &&
      endpointCount(c, fqdn("catalog-primary")) === 2 &&
      endpointCount(c, fqdn("catalog-canary")) === 1 &&
      (!weights || routeWeights(c).some((w) => w.join(",") === weights.join(","))),
  );
}

const source = (ns: string) => ({ workload: "webapp", namespace: ns, labels: { app: "webapp" } });

/** |observed - expected| within 4 binomial standard deviations. */
function expectShare(observed: number, n: number, p: number) {
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p), `${observed}/${n} vs p=${p}`).toBeLessThan(4 * sd);
}

describe("mesh simulator on the real cluster", () => {
  it("splits traffic 80/20, then 90/10 after the VirtualService changes", async () => {
    const ns = await deployCatalog();
    const vs = await applyVs(
      ns,
      { hosts: ["catalog"], gateways: ["mesh"], http: [weighted(80, 20)] },
      [80, 20],
    );
    const n = 3000;
    const first = await runLoad({ proxyUrl, host: "catalog", qps: 300, maxRequests: n, source: source(ns) });
    expect(first.byStatus).toEqual({ "200": n });
    expectShare(first.byVersion["catalog:v2"] ?? 0, n, 0.2);
    console.info(`mesh e2e: 80/20 VirtualService -> ${JSON.stringify(first.byVersion)}`);

    await replaceCustomObject(kc, vs, (o) => {
      o.spec.http = [weighted(90, 10)];
    });
    await waitForRoutes(ns, "the 90/10 VirtualService", [90, 10]);
    const second = await runLoad({
      proxyUrl,
      host: "catalog.".concat(ns),
      qps: 300,
      maxRequests: n,
      source: source(ns),
    });
    expect(second.byStatus).toEqual({ "200": n });
    expectShare(second.byVersion["catalog:v2"] ?? 0, n, 0.1);
    console.info(`mesh e2e: 90/10 VirtualService -> ${JSON.stringify(second.byVersion)}`);
  });

  it("routes header matches and source labels deterministically", async () => {
    const ns = await deployCatalog();
    await applyVs(ns, {
      hosts: ["catalog"],
      http: [
        {
          match: [{ headers: { "x-istio-cohort": { exact: "internal" } } }],
          route: [{ destination: { host: "catalog-canary" } }],
        },
        {
          match: [{ sourceLabels: { app: "loadtester" } }],
          route: [{ destination: { host: "catalog-canary" } }],
        },
        weighted(100, 0),
      ],
    });
    const fqdn = `catalog.${ns}.svc.cluster.local`;
    const internal = await runLoad({
      proxyUrl,
      host: fqdn,
      qps: 200,
      maxRequests: 300,
      source: source(ns),
      headers: { "x-istio-cohort": "internal" },
    });
    expect(internal.byVersion).toEqual({ "catalog:v2": 300 });
    const near = await runLoad({
      proxyUrl,
      host: fqdn,
      qps: 200,
      maxRequests: 300,
      source: source(ns),
      headers: { "x-istio-cohort": "internals" },
    });
    expect(near.byVersion).toEqual({ "catalog:v1": 300 });
    const tester = await runLoad({
      proxyUrl,
      host: fqdn,
      qps: 200,
      maxRequests: 300,
      source: { workload: "flagger-loadtester", namespace: ns, labels: { app: "loadtester" } },
    });
    expect(tester.byVersion).toEqual({ "catalog:v2": 300 });
  });

  it("Prometheus returns the canary's success rate and p99 with Flagger's built-in queries", async () => {
    const ns = await deployCatalog({
      SIM_ERROR_RATE: "0.1",
      SIM_LATENCY_MS: "300",
      SIM_LATENCY_JITTER_MS: "50",
    });
    await applyVs(ns, { hosts: ["catalog"], http: [weighted(50, 50)] });
    const load = await runLoad({
      proxyUrl,
      host: "catalog",
      qps: 40,
      durationMs: 40_000,
      source: source(ns),
    });
    expect(load.failed).toBe(0);

    // Wait until Prometheus has scraped everything the load generator saw answered.
    const total = `sum(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}"})`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [s] = await queryPrometheus(prometheusUrl, total);
      if (s && s.value === load.completed) break;
      if (Date.now() > deadline) throw new Error(`Prometheus has ${s?.value} of ${load.completed} requests`);
      await new Promise((r) => setTimeout(r, 1000));
    }

    const interval = "1m";
    // Exactly the built-in queries (shared README), NS/TARGET/INTERVAL substituted.
    const successRate = (target: string) =>
      `sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}",response_code!~"5.*"}[${interval}])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}"}[${interval}])) * 100`;
    const p99 = (target: string) =>
      `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="${ns}",destination_workload=~"${target}"}[${interval}])) by (le))`;

    const canaryErrors = load.byVersionStatus["catalog:v2 500"] ?? 0;
    const canaryTotal = load.byVersion["catalog:v2"] ?? 0;
    expect(canaryTotal).toBeGreaterThan(500);
    const [canarySr] = await queryPrometheus(prometheusUrl, successRate("catalog"));
    const [primarySr] = await queryPrometheus(prometheusUrl, successRate("catalog-primary"));
    const [canaryP99] = await queryPrometheus(prometheusUrl, p99("catalog"));
    const [primaryP99] = await queryPrometheus(prometheusUrl, p99("catalog-primary"));

    console.info(
      `mesh e2e: canary success rate ${canarySr?.value} (load generator saw ${(100 * (canaryTotal - canaryErrors)) / canaryTotal}), ` +
        `p99 ${canaryP99?.value} ms; primary ${primarySr?.value}, p99 ${primaryP99?.value} ms`,
    );
    // Success rate ~90% (what the load generator saw, within rate() extrapolation), failing a min-99 check.
    const seen = (100 * (canaryTotal - canaryErrors)) / canaryTotal;
    expect(canarySr?.value).toBeGreaterThan(84);
    expect(canarySr?.value).toBeLessThan(96);
    expect(Math.abs((canarySr?.value ?? 0) - seen)).toBeLessThan(3);
    expect(primarySr?.value).toBe(100);
    // Every canary response took >= 300 ms: p99 lands in the (250, 500] bucket, above the configured latency.
    expect(canaryP99?.value).toBeGreaterThan(300);
    expect(canaryP99?.value).toBeLessThanOrEqual(500);
    expect(primaryP99?.value).toBeLessThan(50);
    // A workload with no traffic is "no values found": an empty vector.
    expect(await queryPrometheus(prometheusUrl, successRate("nonexistent"))).toEqual([]);
  });

  it("starts a backend per version on demand and stops it when the version has no pods", async () => {
    const ns = await deployCatalog();
    await applyVs(ns, { hosts: ["catalog"], http: [weighted(0, 100)] });
    const load = await runLoad({ proxyUrl, host: "catalog", qps: 50, maxRequests: 20, source: source(ns) });
    expect(load.byVersion).toEqual({ "catalog:v2": 20 });
    const before = await waitForMeshState(adminUrl, "the canary backend", (s) =>
      s.backends.some((b) => b.namespace === ns && b.workload === "catalog" && b.pid !== undefined),
    );
    const port = before.backends.find((b) => b.namespace === ns && b.workload === "catalog")?.port;
    expect(port).toBeDefined();
    await kc
      .makeApiClient(AppsV1Api)
      .patchNamespacedDeploymentScale(
        { name: "catalog", namespace: ns, body: { spec: { replicas: 0 } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    await waitForMeshState(
      adminUrl,
      "the canary backend to stop",
      (s) => !s.backends.some((b) => b.namespace === ns && b.workload === "catalog"),
      120_000,
    );
    // Its server is closed (the process hosting it is shared by every version and lives on).
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
    // No endpoints left for the canary: the sidecar answers 503 "no healthy upstream" itself.
    const after = await runLoad({ proxyUrl, host: "catalog", qps: 50, maxRequests: 10, source: source(ns) });
    expect(after.byStatus).toEqual({ "503": 10 });
  });
});
