// The whole proxy on loopback with real backends, fed hand-written xDS configuration (in istiod's form)
// and a hand-written MeshState: no cluster, no istiod.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshRequest } from "./client.js";
import type { ClusterJson, RouteJson, XdsSnapshot } from "./envoy/xds-json.js";
import { runLoad } from "./load.js";
import type { MeshState } from "./model.js";
import { seededRng } from "./rng.js";
import { type MeshSimulator, type SidecarIdentity, startStaticMesh } from "./simulator.js";
import { flaggerCatalog, podOf, serviceOf, stateOf } from "./state-builders.js";
import type { MeshTelemetry } from "./telemetry.js";
import {
  clusterName,
  ISTIO_DEFAULT_RETRY,
  loadXdsFixture,
  type MeshXdsInput,
  meshXds,
  routeTo,
} from "./xds-builders.js";

const NS = "shop";
const webapp = { workload: "webapp", namespace: NS, labels: { app: "webapp" } };
const PRIMARY = clusterName("catalog-primary", NS);
const CANARY = clusterName("catalog-canary", NS);
let current: MeshState = stateOf({});
let config: (identity: SidecarIdentity) => XdsSnapshot = () => meshXds({ services: [], pods: [] });
let mesh: MeshSimulator;

beforeAll(async () => {
  mesh = await startStaticMesh({
    state: () => current,
    config: (id) => config(id),
    rng: seededRng(2024),
    keepRecentRecords: 100_000,
  });
});

afterAll(async () => {
  const pids = mesh.debugState().backends.flatMap((b) => (b.pid ? [b.pid] : []));
  await mesh.stop();
  // stop() leaves no backend process behind.
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});

/** State and xDS built from the same pods, as istiod would see them. */
function world(
  parts: Pick<MeshState, "services" | "pods">,
  xds: Omit<MeshXdsInput, "services" | "pods"> = {},
) {
  current = stateOf(parts);
  const snapshot = meshXds({ ...parts, ...xds });
  config = () => snapshot;
}

/** Flagger's catalog layout; the `catalog` virtual host gets `routes`. */
function withRoutes(
  routes: RouteJson[],
  opts: { clusterExtra?: Record<string, Partial<ClusterJson>>; canaryEnv?: Record<string, string> } = {},
) {
  world(flaggerCatalog(NS, { primaryReplicas: 2, canaryEnv: opts.canaryEnv ?? {} }), {
    routes: { catalog: routes },
    clusterExtra: opts.clusterExtra ?? {},
  });
}

/** Records made while `fn` runs (and `settleMs` after, for mirrors). */
async function recorded<T>(
  fn: () => Promise<T>,
  settleMs = 0,
): Promise<{ result: T; records: ReturnType<MeshTelemetry["recentRecords"]> }> {
  const from = mesh.telemetry.recentRecords().length;
  const result = await fn();
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  return { result, records: mesh.telemetry.recentRecords().slice(from) };
}

const toCanary = (
  over: Partial<NonNullable<RouteJson["route"]>> = {},
  extra: Partial<RouteJson> = {},
): RouteJson => ({
  ...routeTo(CANARY, over),
  ...extra,
});

function faultConfig(f: Record<string, unknown>): RouteJson["typed_per_filter_config"] {
  return {
    "envoy.filters.http.fault": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      ...f,
    },
  };
}

describe("mesh proxy with real backends, routed by xDS", () => {
  it("routes by weighted clusters end to end and records each request once per reporter", async () => {
    withRoutes([
      {
        name: "split",
        match: { prefix: "/" },
        route: {
          weighted_clusters: {
            clusters: [
              { name: PRIMARY, weight: 80 },
              { name: CANARY, weight: 20 },
            ],
          },
          timeout: "0s",
          retry_policy: ISTIO_DEFAULT_RETRY,
        },
      },
    ]);
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 400, maxRequests: 1000, source: webapp }),
    );
    expect(result.completed).toBe(1000);
    expect(result.byStatus).toEqual({ "200": 1000 });
    const canary = result.byVersion["catalog:v2"] ?? 0;
    expect(Math.abs(canary - 200)).toBeLessThan(4 * Math.sqrt(1000 * 0.2 * 0.8));
    expect((result.byVersion["catalog:v1"] ?? 0) + canary).toBe(1000);
    const dest = records.filter((r) => r.reporter === "destination");
    const src = records.filter((r) => r.reporter === "source");
    expect(dest.length).toBe(1000);
    expect(src.length).toBe(1000);
    expect(dest.filter((r) => r.destination_workload === "catalog").length).toBe(canary);
    expect(dest.filter((r) => r.destination_service_name === "catalog-canary").length).toBe(canary);
    expect(
      dest.every((r) => r.source_workload === "webapp" && r.connection_security_policy === "mutual_tls"),
    ).toBe(true);
  });

  it("SIM_ERROR_RATE answers that fraction with 500s; Istio's default retry policy does not retry them", async () => {
    withRoutes([toCanary()], { canaryEnv: { SIM_ERROR_RATE: "0.3" } });
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 400, maxRequests: 600, source: webapp }),
    );
    const errors = result.byStatus["500"] ?? 0;
    expect(Math.abs(errors - 180)).toBeLessThan(4 * Math.sqrt(600 * 0.3 * 0.7));
    const dest500 = records.filter((r) => r.reporter === "destination" && r.response_code === "500");
    expect(dest500.length).toBe(errors);
  });

  it("fault abort: answered by the client sidecar, recorded only at the source with FI", async () => {
    withRoutes([
      toCanary(
        {},
        {
          typed_per_filter_config: faultConfig({
            abort: { http_status: 500, percentage: { numerator: 100 } },
          }),
        },
      ),
    ]);
    const { result: res, records } = await recorded(() =>
      meshRequest(mesh.proxyUrl, { host: "catalog", source: webapp }),
    );
    expect(res.status).toBe(500);
    expect(res.body).toBe("fault filter abort");
    expect(res.version).toBeUndefined();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      reporter: "source",
      response_flags: "FI",
      response_code: "500",
      destination_workload: "unknown",
      destination_service_name: "catalog-canary",
    });
  });

  it("fault abort percentage applies to about that share of requests", async () => {
    withRoutes([
      toCanary(
        {},
        {
          typed_per_filter_config: faultConfig({
            abort: { http_status: 503, percentage: { numerator: 250000, denominator: "MILLION" } },
          }),
        },
      ),
    ]);
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 400, maxRequests: 800, source: webapp }),
    );
    const aborted = result.byStatus["503"] ?? 0;
    expect(Math.abs(aborted - 200)).toBeLessThan(4 * Math.sqrt(800 * 0.25 * 0.75));
    expect(records.filter((r) => r.response_flags === "FI").length).toBe(aborted);
    expect(records.filter((r) => r.reporter === "destination").length).toBe(800 - aborted);
  });

  it("fault delay: flag DI and the delay at the source only", async () => {
    withRoutes([
      toCanary(
        {},
        {
          typed_per_filter_config: faultConfig({
            delay: { fixed_delay: "0.3s", percentage: { numerator: 100 } },
          }),
        },
      ),
    ]);
    const { result: res, records } = await recorded(() =>
      meshRequest(mesh.proxyUrl, { host: "catalog", source: webapp }),
    );
    expect(res.status).toBe(200);
    const src = records.find((r) => r.reporter === "source");
    const dst = records.find((r) => r.reporter === "destination");
    expect(src?.response_flags).toBe("DI");
    expect(src?.durationMs).toBeGreaterThanOrEqual(295);
    expect(dst?.response_flags).toBe("-");
    expect(dst?.durationMs).toBeLessThan(250);
  });

  it("route timeout: 504 UT to the caller; the destination sees the client leave (0, DC)", async () => {
    withRoutes([toCanary({ timeout: "0.1s" })]);
    const { result: res, records } = await recorded(() =>
      meshRequest(mesh.proxyUrl, { host: "catalog", path: "/delay/400", source: webapp }),
    );
    expect(res.status).toBe(504);
    expect(res.body).toBe("upstream request timeout");
    expect(records.find((r) => r.reporter === "source")).toMatchObject({
      response_code: "504",
      response_flags: "UT",
    });
    expect(records.find((r) => r.reporter === "destination")).toMatchObject({
      response_code: "0",
      response_flags: "DC",
    });
  });

  it("retries: each attempt is recorded at the destination; exhausted retries flag URX", async () => {
    withRoutes([toCanary({ retry_policy: { retry_on: "5xx", num_retries: 2 } })]);
    const { result: res, records } = await recorded(() =>
      meshRequest(mesh.proxyUrl, { host: "catalog", path: "/status/500", source: webapp }),
    );
    expect(res.status).toBe(500);
    expect(records.filter((r) => r.reporter === "destination" && r.response_code === "500")).toHaveLength(3);
    expect(records.filter((r) => r.reporter === "source")).toEqual([
      expect.objectContaining({ response_code: "500", response_flags: "URX" }),
    ]);
  });

  it("retry behaviour follows the pushed policy: retriable 503 only when configured, none without a policy", async () => {
    withRoutes([
      {
        ...routeTo(CANARY),
        name: "no-retry",
        match: { prefix: "/", headers: [{ name: "x-no-retry", present_match: true }] },
        route: { cluster: CANARY, timeout: "0s" },
      },
      {
        ...routeTo(CANARY, { retry_policy: { ...ISTIO_DEFAULT_RETRY, retriable_status_codes: [503] } }),
        name: "codes",
        match: { prefix: "/", headers: [{ name: "x-codes", present_match: true }] },
      },
      toCanary(),
    ]);
    const count = async (path: string, headers: Record<string, string> = {}) => {
      const { records } = await recorded(() =>
        meshRequest(mesh.proxyUrl, { host: "catalog", path, headers, source: webapp }),
      );
      return records.filter((r) => r.reporter === "destination").length;
    };
    expect(await count("/status/503")).toBe(1); // Istio's default: no retriable status codes
    expect(await count("/status/503", { "x-codes": "1" })).toBe(3);
    expect(await count("/status/500", { "x-codes": "1" })).toBe(1);
    expect(await count("/status/503", { "x-no-retry": "1" })).toBe(1);
  });

  it("a stale endpoint (an IP no pod has) is a connect failure, retried on another host", async () => {
    const parts = flaggerCatalog(NS, { primaryReplicas: 2 });
    const stale = {
      ...podOf({
        deployment: "catalog-primary",
        namespace: NS,
        hash: "p1",
        labels: { app: "catalog-primary" },
        image: "catalog:v1",
        index: 9,
      }),
    };
    const snapshot = meshXds({
      services: parts.services,
      pods: [...parts.pods, stale],
      routes: { catalog: [routeTo(PRIMARY)] },
    });
    current = stateOf(parts); // the pod behind `stale` is gone
    config = () => snapshot;
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 200, maxRequests: 60, source: webapp }),
    );
    expect(result.byStatus).toEqual({ "200": 60 });
    expect(records.filter((r) => r.reporter === "destination")).toHaveLength(60);
  });

  it("mirror: the copy is recorded at the mirror's destination, its response discarded", async () => {
    withRoutes([
      routeTo(PRIMARY, {
        request_mirror_policies: [
          { cluster: CANARY, runtime_fraction: { default_value: { numerator: 100 } } },
        ],
      }),
    ]);
    const { result: res, records } = await recorded(
      () => meshRequest(mesh.proxyUrl, { host: "catalog", path: "/status/201", source: webapp }),
      300,
    );
    expect(res.version).toBe("catalog:v1");
    expect(records.filter((r) => r.reporter === "source")).toHaveLength(1);
    const dest = records.filter((r) => r.reporter === "destination").map((r) => r.destination_service_name);
    expect(dest.sort()).toEqual(["catalog-canary", "catalog-primary"]);
  });

  it("header mutations and prefix rewrite reach the backend; response headers are set", async () => {
    withRoutes([
      {
        ...toCanary({ prefix_rewrite: "/v2/" }),
        match: { prefix: "/v1/" },
        request_headers_to_add: [
          { header: { key: "x-added", value: "yes" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
        ],
        request_headers_to_remove: ["x-secret"],
        response_headers_to_add: [
          { header: { key: "x-resp", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
        ],
      },
    ]);
    const res = await meshRequest(mesh.proxyUrl, {
      host: "catalog",
      path: "/v1/items?q=1",
      headers: { "x-secret": "s" },
      source: webapp,
    });
    const seen = JSON.parse(res.body) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe("/v2/items?q=1");
    expect(seen.headers["x-added"]).toBe("yes");
    expect(seen.headers["x-secret"]).toBeUndefined();
    expect(seen.headers["x-mesh-source-workload"]).toBeUndefined();
    expect(res.headers["x-resp"]).toBe("1");
  });

  it("no healthy endpoint: 503 UH; unknown host: 404 NR; route to a missing cluster: 503 NC", async () => {
    const pending = podOf({
      deployment: "empty",
      namespace: NS,
      hash: "e",
      labels: { app: "empty" },
      image: "x:1",
      ready: false,
    });
    world(
      {
        services: [serviceOf("empty", NS, { app: "empty" }), serviceOf("reviews", NS, { app: "reviews" })],
        pods: [pending],
      },
      { routes: { reviews: [routeTo(clusterName("reviews", NS, 80, "v9"))] } },
    );
    const uh = await recorded(() => meshRequest(mesh.proxyUrl, { host: "empty", source: webapp }));
    expect(uh.result.status).toBe(503);
    expect(uh.records).toEqual([
      expect.objectContaining({
        reporter: "source",
        response_flags: "UH",
        destination_service_name: "empty",
      }),
    ]);
    const nr = await recorded(() => meshRequest(mesh.proxyUrl, { host: "nosuch", source: webapp }));
    expect(nr.result.status).toBe(404);
    expect(nr.records).toEqual([
      expect.objectContaining({ reporter: "source", response_flags: "NR", destination_service: "nosuch" }),
    ]);
    const nc = await recorded(() => meshRequest(mesh.proxyUrl, { host: "reviews", source: webapp }));
    expect(nc.result.status).toBe(503);
    expect(nc.records).toEqual([
      expect.objectContaining({
        reporter: "source",
        response_flags: "NC",
        destination_service_name: "reviews",
      }),
    ]);
  });

  it("subset clusters route by header; each sidecar gets its own config (sourceLabels is istiod's job)", async () => {
    const pods = ["v1", "v2", "v3"].map((v) =>
      podOf({
        deployment: `reviews-${v}`,
        namespace: NS,
        hash: v,
        labels: { app: "reviews", version: v },
        image: `reviews:${v}`,
      }),
    );
    const services = [serviceOf("reviews", NS, { app: "reviews" })];
    current = stateOf({ services, pods });
    const subsets = { reviews: Object.fromEntries(["v1", "v2", "v3"].map((v) => [v, { version: v }])) };
    const jason: RouteJson = {
      ...routeTo(clusterName("reviews", NS, 80, "v2")),
      name: "jason",
      match: { prefix: "/", headers: [{ name: "end-user", string_match: { exact: "jason" } }] },
    };
    const forAll = meshXds({
      services,
      pods,
      subsets,
      routes: { reviews: [jason, routeTo(clusterName("reviews", NS, 80, "v1"))] },
    });
    const forTester = meshXds({
      services,
      pods,
      subsets,
      routes: { reviews: [routeTo(clusterName("reviews", NS, 80, "v3"))] },
    });
    config = (id) => (id.labels.app === "loadtester" ? forTester : forAll);
    const load = (headers: Record<string, string>, source = webapp) =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "reviews", qps: 200, maxRequests: 30, source, headers });
    expect((await load({ "end-user": "jason" })).byVersion).toEqual({ "reviews:v2": 30 });
    expect((await load({})).byVersion).toEqual({ "reviews:v1": 30 });
    const tester = { workload: "loadtester", namespace: NS, labels: { app: "loadtester" } };
    expect((await load({ "end-user": "jason" }, tester)).byVersion).toEqual({ "reviews:v3": 30 });
    expect(
      mesh
        .debugState()
        .sidecars.map((s) => s.identity.workload)
        .sort(),
    ).toEqual(expect.arrayContaining(["loadtester", "webapp"]));
  });

  it("circuit breakers: max_connections + max_pending_requests overflow with 503 UO", async () => {
    withRoutes([toCanary({ retry_policy: undefined })], {
      clusterExtra: {
        [CANARY]: {
          circuit_breakers: {
            thresholds: [
              {
                max_connections: 1,
                max_pending_requests: 1,
                max_requests: 4294967295,
                max_retries: 4294967295,
              },
            ],
          },
        },
      },
    });
    const { result } = await recorded(() =>
      Promise.all(
        Array.from({ length: 6 }, () =>
          meshRequest(mesh.proxyUrl, { host: "catalog", path: "/delay/300", source: webapp }),
        ),
      ),
    );
    expect(result.map((r) => r.status).sort()).toEqual([200, 200, 503, 503, 503, 503]);
  });

  it("outlier detection ejects a pod that keeps failing", async () => {
    const good = podOf({
      deployment: "cart",
      namespace: NS,
      hash: "k",
      labels: { app: "cart" },
      image: "cart:v1",
      index: 0,
    });
    const bad = podOf({
      deployment: "cart",
      namespace: NS,
      hash: "b",
      labels: { app: "cart" },
      image: "cart:v1",
      index: 1,
      env: { SIM_ERROR_RATE: "1" },
    });
    const cart = clusterName("cart", NS);
    world(
      { services: [serviceOf("cart", NS, { app: "cart" })], pods: [good, bad] },
      {
        routes: { cart: [routeTo(cart, { retry_policy: undefined })] },
        clusterExtra: {
          [cart]: {
            lb_policy: "ROUND_ROBIN",
            outlier_detection: {
              consecutive_5xx: 3,
              enforcing_consecutive_5xx: 100,
              base_ejection_time: "30s",
              max_ejection_percent: 100,
            },
            common_lb_config: { healthy_panic_threshold: {} },
          },
        },
      },
    );
    const result = await runLoad({
      proxyUrl: mesh.proxyUrl,
      host: "cart",
      qps: 100,
      maxRequests: 40,
      source: webapp,
    });
    // Round robin: the bad pod fails 3 times, then is ejected.
    expect(result.byStatus["500"]).toBe(3);
    expect(result.byStatus["200"]).toBe(37);
  });

  it("ring hash on a header pins each user to one pod", async () => {
    const pods = [0, 1, 2].map((i) =>
      podOf({
        deployment: "cart",
        namespace: NS,
        hash: "k",
        labels: { app: "cart" },
        image: "cart:v1",
        index: i,
      }),
    );
    const cart = clusterName("cart", NS);
    world(
      { services: [serviceOf("cart", NS, { app: "cart" })], pods },
      {
        routes: { cart: [routeTo(cart, { hash_policy: [{ header: { header_name: "x-user" } }] })] },
        clusterExtra: { [cart]: { lb_policy: "RING_HASH" } },
      },
    );
    const podsSeen = new Set<string>();
    for (const user of ["ann", "bob", "cy", "dee", "eve", "fay"]) {
      const answers = new Set<string | undefined>();
      for (let i = 0; i < 5; i++) {
        answers.add(
          (await meshRequest(mesh.proxyUrl, { host: "cart", headers: { "x-user": user }, source: webapp }))
            .pod,
        );
      }
      expect(answers.size).toBe(1);
      for (const a of answers) if (a) podsSeen.add(a);
    }
    expect(podsSeen.size).toBeGreaterThan(1);
  });
});

describe("sidecar readiness", () => {
  it("the source's latency starts once the caller's sidecar has its configuration", async () => {
    const parts = flaggerCatalog(NS);
    const snapshot = meshXds({ ...parts, routes: { catalog: [routeTo(PRIMARY)] } });
    const slow = await startStaticMesh({
      state: () => stateOf(parts),
      config: snapshot,
      sidecarReadyDelayMs: 400,
      keepRecentRecords: 100,
    });
    try {
      const t0 = Date.now();
      const res = await meshRequest(slow.proxyUrl, { host: "catalog", source: webapp });
      expect(res.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
      const src = slow.telemetry.recentRecords().find((r) => r.reporter === "source");
      expect(src?.durationMs).toBeLessThan(300);
    } finally {
      await slow.stop();
    }
  });
});

describe("istiod's real configuration (xds/fixtures)", () => {
  it("routes by a captured config: default route to the primary's pods, the cohort header to the canary's", async () => {
    const fx = loadXdsFixture("canary-other");
    current = stateOf({ services: fx.services, pods: fx.pods });
    config = () => fx.snapshot;
    const caller = {
      workload: fx.identity.workload,
      namespace: fx.identity.namespace,
      labels: fx.identity.labels,
    };
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 200, maxRequests: 40, source: caller }),
    );
    expect(result.byStatus).toEqual({ "200": 40 });
    const dest = records.filter((r) => r.reporter === "destination");
    expect(new Set(dest.map((r) => r.destination_workload))).toEqual(new Set(["catalog-primary"]));
    expect(new Set(dest.map((r) => r.destination_service_name))).toEqual(new Set(["catalog-primary"]));
    const canary = await meshRequest(mesh.proxyUrl, {
      host: `catalog.${fx.identity.namespace}`,
      headers: { "x-istio-cohort": "internal" },
      source: caller,
    });
    expect(canary.status).toBe(200);
    expect(canary.pod).toBe(fx.pods.find((p) => p.labels.app === "catalog")?.name);
  });
});
