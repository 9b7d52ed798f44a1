// The whole proxy on loopback with real backend processes, fed a hand-written MeshState (no cluster).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { meshRequest } from "./client.js";
import type { HttpRoute } from "./istio-types.js";
import { runLoad } from "./load.js";
import type { MeshState } from "./model.js";
import { seededRng } from "./rng.js";
import { type MeshSimulator, startStaticMesh } from "./simulator.js";
import { drOf, flaggerCatalog, podOf, serviceOf, stateOf, vsOf } from "./state-builders.js";
import type { RequestLabels } from "./telemetry.js";

const NS = "shop";
const webapp = { workload: "webapp", namespace: NS, labels: { app: "webapp" } };
let current: MeshState = stateOf({});
let mesh: MeshSimulator;

beforeAll(async () => {
  mesh = await startStaticMesh({ state: () => current, rng: seededRng(2024), keepRecentRecords: 100_000 });
});

afterAll(async () => {
  const pids = mesh.debugState().backends.flatMap((b) => (b.pid ? [b.pid] : []));
  await mesh.stop();
  // stop() leaves no backend process behind.
  for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
});

/** Flagger's catalog layout with one VirtualService whose http routes are given. */
function withRoutes(http: HttpRoute[], extra: Partial<MeshState> = {}): void {
  const base = flaggerCatalog(NS, { primaryReplicas: 2 });
  current = stateOf({
    ...base,
    virtualServices: [vsOf("catalog", NS, { hosts: ["catalog"], http })],
    ...extra,
  });
}

/** Records made while `fn` runs (and `settleMs` after, for mirrors). */
async function recorded<T>(
  fn: () => Promise<T>,
  settleMs = 0,
): Promise<{ result: T; records: RequestLabels[] }> {
  const from = mesh.telemetry.recentRecords().length;
  const result = await fn();
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  return { result, records: mesh.telemetry.recentRecords().slice(from) };
}

const toPrimary: HttpRoute = { route: [{ destination: { host: "catalog-primary" } }] };
const toCanary = (over: Partial<HttpRoute> = {}): HttpRoute => ({
  route: [{ destination: { host: "catalog-canary" } }],
  ...over,
});

describe("mesh proxy with real backends", () => {
  it("routes by weight end to end and records each request once per reporter", async () => {
    withRoutes([
      {
        route: [
          { destination: { host: "catalog-primary" }, weight: 80 },
          { destination: { host: "catalog-canary" }, weight: 20 },
        ],
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
    expect(
      dest.every((r) => r.source_workload === "webapp" && r.connection_security_policy === "mutual_tls"),
    ).toBe(true);
  });

  it("SIM_ERROR_RATE answers that fraction with 500s at the destination", async () => {
    current = stateOf({
      ...flaggerCatalog(NS, { canaryEnv: { SIM_ERROR_RATE: "0.3" } }),
      virtualServices: [vsOf("catalog", NS, { hosts: ["catalog"], http: [toCanary()] })],
    });
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 400, maxRequests: 600, source: webapp }),
    );
    const errors = result.byStatus["500"] ?? 0;
    expect(Math.abs(errors - 180)).toBeLessThan(4 * Math.sqrt(600 * 0.3 * 0.7));
    const dest500 = records.filter((r) => r.reporter === "destination" && r.response_code === "500");
    // 500 is not retried by Istio's default policy: one destination record per request.
    expect(dest500.length).toBe(errors);
  });

  it("fault abort: answered by the client sidecar, recorded only at the source with FI", async () => {
    withRoutes([toCanary({ fault: { abort: { httpStatus: 500, percentage: { value: 100 } } } })]);
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
    withRoutes([toCanary({ fault: { abort: { httpStatus: 503, percentage: { value: 25 } } } })]);
    const { result, records } = await recorded(() =>
      runLoad({ proxyUrl: mesh.proxyUrl, host: "catalog", qps: 400, maxRequests: 800, source: webapp }),
    );
    const aborted = result.byStatus["503"] ?? 0;
    expect(Math.abs(aborted - 200)).toBeLessThan(4 * Math.sqrt(800 * 0.25 * 0.75));
    expect(records.filter((r) => r.response_flags === "FI").length).toBe(aborted);
    expect(records.filter((r) => r.reporter === "destination").length).toBe(800 - aborted);
  });

  it("fault delay: flag DI and the delay at the source only", async () => {
    withRoutes([toCanary({ fault: { delay: { fixedDelay: "0.3s", percentage: { value: 100 } } } })]);
    const { result: res } = await recorded(() =>
      meshRequest(mesh.proxyUrl, { host: "catalog", source: webapp }),
    );
    expect(res.status).toBe(200);
    const recs = mesh.telemetry.recentRecords().slice(-2);
    const src = recs.find((r) => r.reporter === "source");
    const dst = recs.find((r) => r.reporter === "destination");
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
    withRoutes([toCanary({ retries: { attempts: 2, retryOn: "5xx" } })]);
    const { result: res, records } = await recorded(() =>
      meshRequest(mesh.proxyUrl, { host: "catalog", path: "/status/500", source: webapp }),
    );
    expect(res.status).toBe(500);
    expect(records.filter((r) => r.reporter === "destination" && r.response_code === "500")).toHaveLength(3);
    expect(records.filter((r) => r.reporter === "source")).toEqual([
      expect.objectContaining({ response_code: "500", response_flags: "URX" }),
    ]);
  });

  it("Istio's default retry policy retries 503 twice and leaves 500 alone; attempts: 0 disables it", async () => {
    withRoutes([
      {
        match: [{ headers: { "x-no-retry": {} } }],
        route: [{ destination: { host: "catalog-canary" } }],
        retries: { attempts: 0 },
      },
      toCanary(),
    ]);
    const count = async (path: string, headers: Record<string, string> = {}) => {
      const { records } = await recorded(() =>
        meshRequest(mesh.proxyUrl, { host: "catalog", path, headers, source: webapp }),
      );
      return records.filter((r) => r.reporter === "destination").length;
    };
    expect(await count("/status/503")).toBe(3);
    expect(await count("/status/500")).toBe(1);
    expect(await count("/status/503", { "x-no-retry": "1" })).toBe(1);
  });

  it("mirror: the copy is recorded at the mirror's destination, its response discarded", async () => {
    withRoutes([{ ...toPrimary, mirror: { host: "catalog-canary" }, mirrorPercentage: { value: 100 } }]);
    const { result: res, records } = await recorded(
      () => meshRequest(mesh.proxyUrl, { host: "catalog", path: "/status/201", source: webapp }),
      300,
    );
    expect(res.version).toBe("catalog:v1");
    expect(records.filter((r) => r.reporter === "source")).toHaveLength(1);
    const dest = records.filter((r) => r.reporter === "destination").map((r) => r.destination_service_name);
    expect(dest.sort()).toEqual(["catalog-canary", "catalog-primary"]);
  });

  it("header operations and uri rewrite reach the backend; response headers are set", async () => {
    withRoutes([
      {
        match: [{ uri: { prefix: "/v1/" } }],
        rewrite: { uri: "/v2/" },
        headers: {
          request: { set: { "x-added": "yes" }, remove: ["x-secret"] },
          response: { set: { "x-resp": "1" } },
        },
        route: [{ destination: { host: "catalog-canary" } }],
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

  it("no ready endpoint: 503 UH; unknown host: 404 NR; unknown subset: 503 NC", async () => {
    const pending = podOf({
      deployment: "empty",
      namespace: NS,
      hash: "e",
      labels: { app: "empty" },
      image: "x:1",
      ready: false,
    });
    current = stateOf({
      services: [serviceOf("empty", NS, { app: "empty" }), serviceOf("reviews", NS, { app: "reviews" })],
      pods: [pending],
      virtualServices: [
        vsOf("reviews", NS, {
          hosts: ["reviews"],
          http: [{ route: [{ destination: { host: "reviews", subset: "v9" } }] }],
        }),
      ],
    });
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
    expect(nr.records).toEqual([expect.objectContaining({ reporter: "source", response_flags: "NR" })]);
    const nc = await recorded(() => meshRequest(mesh.proxyUrl, { host: "reviews", source: webapp }));
    expect(nc.result.status).toBe(503);
    expect(nc.records).toEqual([expect.objectContaining({ reporter: "source", response_flags: "NC" })]);
  });

  it("subsets select pods by DestinationRule labels", async () => {
    const pods = ["v1", "v2", "v3"].map((v) =>
      podOf({
        deployment: `reviews-${v}`,
        namespace: NS,
        hash: v,
        labels: { app: "reviews", version: v },
        image: `reviews:${v}`,
      }),
    );
    current = stateOf({
      services: [serviceOf("reviews", NS, { app: "reviews" })],
      pods,
      destinationRules: [
        drOf("reviews", NS, {
          host: "reviews",
          subsets: ["v1", "v2", "v3"].map((v) => ({ name: v, labels: { version: v } })),
        }),
      ],
      virtualServices: [
        vsOf("reviews", NS, {
          hosts: ["reviews"],
          http: [
            {
              match: [{ headers: { "end-user": { exact: "jason" } } }],
              route: [{ destination: { host: "reviews", subset: "v2" } }],
            },
            { route: [{ destination: { host: "reviews", subset: "v1" } }] },
          ],
        }),
      ],
    });
    const jason = await runLoad({
      proxyUrl: mesh.proxyUrl,
      host: "reviews",
      qps: 200,
      maxRequests: 30,
      source: webapp,
      headers: { "end-user": "jason" },
    });
    expect(jason.byVersion).toEqual({ "reviews:v2": 30 });
    const others = await runLoad({
      proxyUrl: mesh.proxyUrl,
      host: "reviews",
      qps: 200,
      maxRequests: 30,
      source: webapp,
    });
    expect(others.byVersion).toEqual({ "reviews:v1": 30 });
  });

  it("connectionPool limits overflow with 503 UO", async () => {
    withRoutes([toCanary({ retries: { attempts: 0 } })], {
      destinationRules: [
        drOf("catalog-canary", NS, {
          host: "catalog-canary",
          trafficPolicy: {
            connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } },
          },
          subsets: [],
        }),
      ],
    });
    const { result } = await recorded(() =>
      Promise.all(
        Array.from({ length: 6 }, () =>
          meshRequest(mesh.proxyUrl, { host: "catalog", path: "/delay/300", source: webapp }),
        ),
      ),
    );
    const statuses = result.map((r) => r.status).sort();
    // One in flight + one pending get through; the other four overflow.
    expect(statuses).toEqual([200, 200, 503, 503, 503, 503]);
  });

  it("consistentHash on a header pins each user to one pod", async () => {
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
    current = stateOf({
      services: [serviceOf("cart", NS, { app: "cart" })],
      pods,
      destinationRules: [
        drOf("cart", NS, {
          host: "cart",
          trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } },
          subsets: [],
        }),
      ],
    });
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
