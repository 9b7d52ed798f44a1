// Istio's real control plane in the test world: VirtualServices and DestinationRules written through the
// API server reach simulated sidecars as Envoy configuration, through istiod and the xDS bridge
// (test/env/istiod.ts, test/mesh/xds/client.ts).
//
// Uses the world's istiod when the global setup exports SERIN_ISTIOD_XDS; otherwise starts its own
// against the e2e cluster.
import { join } from "node:path";
import { CoreV1Api, KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type Istiod, startIstiod } from "../env/istiod.js";
import {
  createObjects,
  createTestNamespace,
  deleteNamespace,
  deploymentObject,
  destinationRuleObject,
  replaceCustomObject,
  serviceObject,
  virtualServiceObject,
} from "../mesh/fixtures.js";
import type { HttpRoute } from "../mesh/istio-types.js";
import {
  type JsonObject,
  type Sidecar,
  type SidecarConfig,
  type SidecarIdentity,
  XdsClient,
} from "../mesh/xds/client.js";

let kc: KubeConfig;
let istiod: Istiod | undefined;
let xdsAddress: string;
let xds: XdsClient;
let ns: string;

const webapp = (namespace: string): SidecarIdentity => ({
  namespace,
  labels: { app: "webapp" },
  workload: "webapp",
  serviceAccount: "default",
});
const other = (namespace: string): SidecarIdentity => ({
  namespace,
  labels: { app: "frontend" },
  workload: "frontend",
  serviceAccount: "default",
});

beforeAll(async () => {
  const kubeconfig = inject("kubeconfig");
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const fromWorld = process.env.SERIN_ISTIOD_XDS;
  if (fromWorld) xdsAddress = fromWorld;
  else {
    const started = Date.now();
    istiod = await startIstiod({
      kubeconfigPath: kubeconfig,
      dir: join(inject("envDir"), "istiod-xds-test"),
    });
    console.info(
      `istiod-xds: own istiod ready in ${Date.now() - started} ms, RSS ${(istiod.rssBytes() / 2 ** 20).toFixed(0)} MiB`,
    );
    xdsAddress = istiod.xdsAddress;
  }
  xds = await XdsClient.start({ xdsAddress, log: (m) => console.info(m) });

  ns = await createTestNamespace(kc, "xds");
  await createObjects(kc, [
    deploymentObject({
      name: "catalog-primary",
      namespace: ns,
      image: "ghcr.io/acme/catalog:v1",
      replicas: 2,
    }),
    deploymentObject({ name: "catalog", namespace: ns, image: "ghcr.io/acme/catalog:v2" }),
    serviceObject("catalog", ns, { app: "catalog-primary" }),
    serviceObject("catalog-primary", ns, { app: "catalog-primary" }),
    serviceObject("catalog-canary", ns, { app: "catalog" }),
    deploymentObject({
      name: "reviews-v1",
      namespace: ns,
      image: "bookinfo/reviews:v1",
      labels: { app: "reviews", version: "v1" },
    }),
    deploymentObject({
      name: "reviews-v2",
      namespace: ns,
      image: "bookinfo/reviews:v2",
      labels: { app: "reviews", version: "v2" },
      replicas: 2,
    }),
    serviceObject("reviews", ns, { app: "reviews" }, 9080),
  ]);
}, 120_000);

afterAll(async () => {
  await xds?.stop();
  if (ns) await deleteNamespace(kc, ns);
  await istiod?.stop();
});

// ---------------------------------------------------------------------------------------------------
// reading Envoy config-dump JSON

type Json = JsonObject;
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const obj = (v: unknown): Json => (v && typeof v === "object" ? (v as Json) : {});

function virtualHost(c: SidecarConfig, routeName: string, vhostName: string): Json | undefined {
  return arr(c.routes.get(routeName)?.virtual_hosts).find((v) => v.name === vhostName);
}

/** The routes of `host` in route configuration `port`, as [route name, destination weights]. */
function routeTable(c: SidecarConfig, port: number, host: string): Array<[string, Record<string, number>]> {
  const vh = virtualHost(c, String(port), `${host}:${port}`);
  return arr(vh?.routes).map((r) => {
    const action = obj(r.route);
    const weighted = arr(obj(action.weighted_clusters).clusters);
    const weights: Record<string, number> =
      weighted.length > 0
        ? Object.fromEntries(weighted.map((w) => [String(w.name), Number(w.weight)]))
        : { [String(action.cluster)]: 100 };
    return [String(r.name ?? ""), weights];
  });
}

function endpointIps(c: SidecarConfig, cluster: string): string[] {
  const cla = c.endpoints.get(cluster);
  return arr(cla?.endpoints)
    .flatMap((l) => arr(l.lb_endpoints))
    .map((e) => String(obj(obj(obj(e.endpoint).address).socket_address).address))
    .sort();
}

/** Resolves with the first snapshot satisfying `ready` (checked now and on every update). */
async function waitForConfig(
  sidecar: Sidecar,
  what: string,
  ready: (c: SidecarConfig) => boolean,
  timeoutMs = 30_000,
): Promise<SidecarConfig> {
  const now = sidecar.config();
  if (ready(now)) return now;
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      const c = sidecar.config();
      const summary = Object.fromEntries(
        (["listeners", "routes", "clusters", "endpoints"] as const).map((k) => [k, [...c[k].keys()]]),
      );
      reject(
        new Error(
          `timed out after ${timeoutMs} ms waiting for ${what} on ${sidecar.nodeId}; it has ${JSON.stringify(summary)}`,
        ),
      );
    }, timeoutMs);
    const off = sidecar.onChange(() => {
      const c = sidecar.config();
      if (!ready(c)) return;
      clearTimeout(timer);
      off();
      resolve(c);
    });
  });
}

const fqdn = (name: string) => `${name}.${ns}.svc.cluster.local`;
const outbound = (port: number, subset: string, name: string) => `outbound|${port}|${subset}|${fqdn(name)}`;

function canaryRoutes(primary: number, canary: number): HttpRoute[] {
  return [
    {
      name: "webapp",
      match: [{ sourceLabels: { app: "webapp" } }],
      route: [
        { destination: { host: "catalog-primary" }, weight: primary },
        { destination: { host: "catalog-canary" }, weight: canary },
      ],
    },
    { name: "default", route: [{ destination: { host: "catalog-primary" }, weight: 100 }] },
  ];
}

// ---------------------------------------------------------------------------------------------------

describe("istiod in the test world", () => {
  let vs: KubernetesObject;

  it("routes a sourceLabels match only to sidecars with those labels", async () => {
    const [created] = await createObjects(kc, [
      virtualServiceObject("catalog", ns, {
        hosts: ["catalog"],
        gateways: ["mesh"],
        http: canaryRoutes(90, 10),
      }),
    ]);
    if (!created) throw new Error("VirtualService not created");
    vs = created;
    const t0 = Date.now();
    const [web, front] = await Promise.all([xds.sidecar(webapp(ns)), xds.sidecar(other(ns))]);
    console.info(`istiod-xds: two sidecars synced in ${Date.now() - t0} ms`);
    const weighted = { [outbound(80, "", "catalog-primary")]: 90, [outbound(80, "", "catalog-canary")]: 10 };
    const defaultRoute = { [outbound(80, "", "catalog-primary")]: 100 };

    const webConfig = await waitForConfig(web, "the webapp route", (c) =>
      routeTable(c, 80, fqdn("catalog")).some(([name]) => name === "webapp"),
    );
    // For this sidecar the sourceLabels match always holds: istiod drops it to a catch-all, and every
    // route after a catch-all (here "default") is unreachable, so istiod leaves it out.
    expect(routeTable(webConfig, 80, fqdn("catalog"))).toEqual([["webapp", weighted]]);
    // Without the VirtualService the host has a "default" route too (to outbound|80||catalog...):
    // wait for the VirtualService's.
    const frontRoutes = JSON.stringify([["default", defaultRoute]]);
    const frontConfig = await waitForConfig(
      front,
      "the VirtualService's default route",
      (c) => JSON.stringify(routeTable(c, 80, fqdn("catalog"))) === frontRoutes,
    );
    expect(routeTable(frontConfig, 80, fqdn("catalog"))).toEqual([["default", defaultRoute]]);

    // Same identity, same sidecar (one xDS node per identity).
    expect(await xds.sidecar({ ...webapp(ns), labels: { app: "webapp" } })).toBe(web);
    // Route configuration named by port, virtual host by FQDN:port, with the short names as domains.
    const vh = virtualHost(webConfig, "80", `${fqdn("catalog")}:80`);
    expect(vh?.domains).toEqual(expect.arrayContaining([fqdn("catalog"), "catalog", `catalog.${ns}`]));
  });

  it("delivers a weight change written to the VirtualService to the sidecar within about a second", async () => {
    const web = await xds.sidecar(webapp(ns));
    const latencies: number[] = [];
    for (const canary of [20, 30, 40, 50, 0]) {
      const t0 = Date.now();
      vs = await replaceCustomObject(kc, vs, (o) => {
        o.spec.http = canaryRoutes(100 - canary, canary);
      });
      await waitForConfig(
        web,
        `canary weight ${canary}`,
        (c) => {
          // A weight-0 destination is left out of the route (a single cluster then gets everything).
          const weights = routeTable(c, 80, fqdn("catalog"))[0]?.[1] ?? {};
          return (
            (weights[outbound(80, "", "catalog-canary")] ?? 0) === canary &&
            weights[outbound(80, "", "catalog-primary")] === 100 - canary
          );
        },
        10_000,
      );
      latencies.push(Date.now() - t0);
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    console.info(
      `istiod-xds: VirtualService replace -> sidecar route, ms: ${latencies.join(", ")} (p50 ${sorted[2]}, max ${sorted[4]})`,
    );
    expect(sorted[2]).toBeLessThan(2000);
    expect(sorted[4]).toBeLessThan(5000);
  });

  it("sends EDS endpoints per DestinationRule subset with the pods' IPs", async () => {
    await createObjects(kc, [
      destinationRuleObject("reviews", ns, {
        host: "reviews",
        trafficPolicy: {
          loadBalancer: { consistentHash: { httpHeaderName: "x-user" } },
          connectionPool: { tcp: { maxConnections: 10 } },
          outlierDetection: { consecutive5xxErrors: 3, interval: "10s", baseEjectionTime: "30s" },
        },
        subsets: [
          { name: "v1", labels: { version: "v1" } },
          { name: "v2", labels: { version: "v2" } },
        ],
      }),
      virtualServiceObject("reviews", ns, {
        hosts: ["reviews"],
        http: [
          {
            match: [{ headers: { "end-user": { exact: "jason" } } }],
            route: [{ destination: { host: "reviews", subset: "v2" } }],
          },
          { route: [{ destination: { host: "reviews", subset: "v1" } }] },
        ],
      }),
    ]);
    const pods = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: ns, labelSelector: "app=reviews" });
    const ipsOf = (version: string) => {
      return pods.items
        .filter((p) => p.metadata?.labels?.version === version)
        .map((p) => p.status?.podIP ?? "")
        .sort();
    };
    const web = await xds.sidecar(webapp(ns));
    const c = await waitForConfig(web, "reviews subsets with endpoints", (cfg) => {
      const v1 = endpointIps(cfg, outbound(9080, "v1", "reviews"));
      const v2 = endpointIps(cfg, outbound(9080, "v2", "reviews"));
      const routed = routeTable(cfg, 9080, fqdn("reviews")).length === 2; // the VirtualService arrived too
      return routed && v1.length === 1 && v2.length === 2 && [...v1, ...v2].every((ip) => ip !== "");
    });
    // Pod IPs are assigned by kwok once scheduled: read them again if they were not yet set.
    let v1Ips = ipsOf("v1");
    let v2Ips = ipsOf("v2");
    if ([...v1Ips, ...v2Ips].some((ip) => ip === "")) {
      const again = await kc
        .makeApiClient(CoreV1Api)
        .listNamespacedPod({ namespace: ns, labelSelector: "app=reviews" });
      pods.items = again.items;
      v1Ips = ipsOf("v1");
      v2Ips = ipsOf("v2");
    }
    expect(endpointIps(c, outbound(9080, "v1", "reviews"))).toEqual(v1Ips);
    expect(endpointIps(c, outbound(9080, "v2", "reviews"))).toEqual(v2Ips);
    expect(endpointIps(c, outbound(9080, "", "reviews"))).toEqual([...v1Ips, ...v2Ips].sort());
    const subsetCluster = c.clusters.get(outbound(9080, "v1", "reviews"));
    expect(subsetCluster?.lb_policy).toBe("RING_HASH");
    expect(obj(subsetCluster?.outlier_detection).consecutive_5xx).toBe(3);
    // Port 9080: route configuration "9080", virtual host reviews.NS.svc.cluster.local:9080.
    expect(routeTable(c, 9080, fqdn("reviews"))).toEqual([
      ["", { [outbound(9080, "v2", "reviews")]: 100 }],
      ["", { [outbound(9080, "v1", "reviews")]: 100 }],
    ]);
    const hash = obj(arr(virtualHost(c, "9080", `${fqdn("reviews")}:9080`)?.routes)[0]?.route).hash_policy;
    expect(hash).toEqual([{ header: { header_name: "x-user" } }]);
  });

  // The world's fault injection (test/env/world-admin.ts): istiod's informers must come back after the API
  // server does. client-go's reflectors retry a broken watch with a growing backoff (0.8 s doubling to
  // 30 s), so a change written right after the restart can take some seconds to reach xDS.
  const worldAdmin = inject("worldAdminUrl");
  it.skipIf(!worldAdmin)(
    "keeps delivering VirtualService changes after the API server restarts",
    async () => {
      const web = await xds.sidecar(webapp(ns));
      const post = async (path: string) => {
        const res = await fetch(new URL(path, worldAdmin), { method: "POST" });
        expect(res.ok, `${path}: HTTP ${res.status}`).toBe(true);
      };
      await post("/apiserver/stop?signal=SIGKILL&restoreAfterMs=60000");
      await new Promise((r) => setTimeout(r, 5000));
      await post("/apiserver/start");
      const t0 = Date.now();
      vs = await replaceCustomObject(kc, vs, (o) => {
        o.spec.http = canaryRoutes(65, 35);
      });
      await waitForConfig(
        web,
        "canary weight 35 after the API server restart",
        (c) => routeTable(c, 80, fqdn("catalog"))[0]?.[1][outbound(80, "", "catalog-canary")] === 35,
        90_000,
      );
      console.info(
        `istiod-xds: after an API server restart, a VirtualService change reached xDS in ${Date.now() - t0} ms`,
      );
      // Once its watches are back, changes flow at the usual pace again.
      const t1 = Date.now();
      vs = await replaceCustomObject(kc, vs, (o) => {
        o.spec.http = canaryRoutes(60, 40);
      });
      await waitForConfig(
        web,
        "canary weight 40",
        (c) => routeTable(c, 80, fqdn("catalog"))[0]?.[1][outbound(80, "", "catalog-canary")] === 40,
        10_000,
      );
      console.info(`istiod-xds: the next change took ${Date.now() - t1} ms`);
    },
  );
});
