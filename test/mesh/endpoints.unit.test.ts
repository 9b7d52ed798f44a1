import { describe, expect, it } from "vitest";
import { behaviourFor, imageKey } from "./behaviour.js";
import { findDestinationRule, podPeer, readyEndpoints, workloadOf } from "./endpoints.js";
import { hash32, LoadBalancer, pickByHash } from "./load-balancer.js";
import { MeshIndex } from "./mesh-index.js";
import { seededRng } from "./rng.js";
import { drOf, podOf, serviceOf, stateOf } from "./state-builders.js";
import { effectivePolicy } from "./traffic-policy.js";

const ns = "bookinfo";
const reviews = (version: string, i: number, ready = true) =>
  podOf({
    deployment: `reviews-${version}`,
    namespace: ns,
    hash: `h${version}`,
    labels: { app: "reviews", version },
    image: `reviews:${version}`,
    index: i,
    ready,
    serviceAccount: "bookinfo-reviews",
  });

describe("endpoints", () => {
  it("keeps ready, non-terminating pods that match the selector and the subset labels", () => {
    const terminating = { ...reviews("v1", 9), terminating: true };
    const other = podOf({
      deployment: "ratings",
      namespace: ns,
      hash: "r",
      labels: { app: "ratings" },
      image: "r:1",
    });
    const elsewhere = { ...reviews("v1", 5), namespace: "other" };
    const pods = [reviews("v1", 0), reviews("v1", 1, false), reviews("v2", 0), terminating, other, elsewhere];
    const index = new MeshIndex(stateOf({ pods, services: [serviceOf("reviews", ns, { app: "reviews" })] }));
    const svc = index.service("reviews.bookinfo.svc.cluster.local");
    expect(svc).toBeDefined();
    if (!svc) return;
    expect(readyEndpoints(index, svc, undefined).map((p) => p.name)).toEqual([
      "reviews-v1-hv1-0",
      "reviews-v2-hv2-0",
    ]);
    expect(readyEndpoints(index, svc, { version: "v2" }).map((p) => p.name)).toEqual(["reviews-v2-hv2-0"]);
    expect(readyEndpoints(index, svc, { version: "v3" })).toEqual([]);
  });

  it("workload = the ReplicaSet's Deployment, falling back to trimming the template hash", () => {
    const pod = podOf({
      deployment: "catalog-primary",
      namespace: "shop",
      hash: "7d9f",
      labels: { app: "catalog-primary" },
      image: "catalog:v1",
    });
    const withoutRs = new MeshIndex(stateOf({ pods: [pod] }));
    expect(workloadOf(withoutRs, pod)).toBe("catalog-primary");
    const rs = {
      name: "catalog-primary-7d9f",
      namespace: "shop",
      owner: { kind: "Deployment", name: "renamed" },
    };
    expect(workloadOf(new MeshIndex(stateOf({ pods: [pod], replicaSets: [rs] })), pod)).toBe("renamed");
    const bare = { ...pod, owner: undefined, name: "standalone" };
    expect(workloadOf(withoutRs, bare)).toBe("standalone");
  });

  it("peer metadata: principal from the service account, canonical labels with Istio's fallbacks", () => {
    const index = new MeshIndex(stateOf({}));
    const p = podPeer(index, reviews("v2", 0));
    expect(p).toEqual({
      workload: "reviews-v2",
      namespace: ns,
      principal: "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews",
      app: "reviews",
      version: "v2",
      canonicalService: "reviews",
      canonicalRevision: "v2",
      cluster: "Kubernetes",
    });
    const flagger = podOf({
      deployment: "catalog",
      namespace: "shop",
      hash: "c",
      labels: { app: "catalog" },
      image: "x:1",
    });
    expect(podPeer(index, flagger)).toMatchObject({
      version: "unknown",
      canonicalRevision: "latest",
      app: "catalog",
    });
    const labelled = podOf({
      deployment: "catalog",
      namespace: "shop",
      hash: "c",
      labels: { "app.kubernetes.io/name": "cat", "service.istio.io/canonical-revision": "r7" },
      image: "x:1",
    });
    expect(podPeer(index, labelled)).toMatchObject({
      app: "cat",
      canonicalService: "cat",
      canonicalRevision: "r7",
    });
  });
});

describe("DestinationRule selection and traffic policy", () => {
  it("prefers the client's namespace, then the service's", () => {
    const inSvcNs = drOf("a", ns, { host: "reviews", subsets: [] }, 1);
    const inClientNs = drOf("b", "client", { host: "reviews.bookinfo.svc.cluster.local", subsets: [] }, 2);
    const index = new MeshIndex(stateOf({ destinationRules: [inSvcNs, inClientNs] }));
    expect(findDestinationRule(index, "reviews.bookinfo.svc.cluster.local", "client")?.dr.name).toBe("b");
    expect(findDestinationRule(index, "reviews.bookinfo.svc.cluster.local", "third")?.dr.name).toBe("a");
    expect(findDestinationRule(index, "ratings.bookinfo.svc.cluster.local", "client")).toBeUndefined();
    const wildcard = drOf("w", ns, { host: "*.bookinfo.svc.cluster.local", subsets: [] }, 0);
    const withWildcard = new MeshIndex(stateOf({ destinationRules: [wildcard, inSvcNs] }));
    expect(findDestinationRule(withWildcard, "reviews.bookinfo.svc.cluster.local", "x")?.dr.name).toBe("a");
    expect(findDestinationRule(withWildcard, "ratings.bookinfo.svc.cluster.local", "x")?.dr.name).toBe("w");
  });

  it("subset and port-level settings override the DR-level ones field by field", () => {
    const spec = {
      host: "reviews",
      trafficPolicy: {
        loadBalancer: { simple: "RANDOM" },
        connectionPool: { tcp: { maxConnections: 10 } },
        portLevelSettings: [{ port: { number: 9080 }, loadBalancer: { simple: "LEAST_REQUEST" } }],
      },
      subsets: [
        { name: "v1", labels: { version: "v1" } },
        {
          name: "v2",
          labels: { version: "v2" },
          trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } },
        },
      ],
    };
    expect(effectivePolicy(spec, undefined, 80).lb).toEqual({ kind: "RANDOM" });
    expect(effectivePolicy(spec, "v1", 9080).lb).toEqual({ kind: "LEAST_REQUEST" });
    expect(effectivePolicy(spec, "v2", 9080).lb).toEqual({
      kind: "CONSISTENT_HASH",
      hash: { httpHeaderName: "x-user" },
    });
    expect(effectivePolicy(spec, "v2", 80).pool.maxConnections).toBe(10);
    expect(effectivePolicy(undefined, undefined, 80)).toEqual({
      lb: { kind: "ROUND_ROBIN" },
      pool: { maxConnections: Infinity, maxPending: Infinity, maxRequests: Infinity },
      hasOutlierDetection: false,
    });
  });
});

describe("load balancing", () => {
  const pods = [reviews("v1", 0), reviews("v1", 1), reviews("v1", 2)];
  const ctx = { headers: {}, sourceIp: "10.0.0.1", path: "/" };

  it("round robin cycles over the pods", () => {
    const lb = new LoadBalancer();
    const names = Array.from(
      { length: 6 },
      () => lb.pick("c", { kind: "ROUND_ROBIN" }, pods, ctx, seededRng(1))?.pod.name,
    );
    expect(names).toEqual([...pods, ...pods].map((p) => p.name));
  });

  it("retries avoid previously tried pods while others remain", () => {
    const lb = new LoadBalancer();
    const tried = new Set([`${ns}/${pods[0]?.name}`, `${ns}/${pods[1]?.name}`]);
    for (let i = 0; i < 5; i++) {
      expect(lb.pick("c", { kind: "RANDOM" }, pods, ctx, seededRng(i), tried)?.pod.name).toBe(pods[2]?.name);
    }
  });

  it("consistent hash: same key, same pod; keys spread over pods; header missing falls back to random", () => {
    const lb = new LoadBalancer();
    const policy = { kind: "CONSISTENT_HASH" as const, hash: { httpHeaderName: "x-user" } };
    const seen = new Set<string>();
    for (let u = 0; u < 60; u++) {
      const c = { ...ctx, headers: { "x-user": `user-${u}` } };
      const first = lb.pick("c", policy, pods, c, seededRng(u))?.pod.name;
      for (let k = 0; k < 5; k++)
        expect(lb.pick("c", policy, pods, c, seededRng(k + 100))?.pod.name).toBe(first);
      if (first) seen.add(first);
    }
    expect(seen.size).toBe(3);
    expect(pickByHash("user-1", pods)?.name).toBe(pickByHash("user-1", [...pods].reverse())?.name);
    expect(hash32("a")).not.toBe(hash32("b"));
  });

  it("least request prefers the less loaded of two choices", () => {
    const lb = new LoadBalancer();
    const [a, b] = pods;
    if (!a || !b) return;
    for (let i = 0; i < 10; i++) lb.begin(a);
    let toB = 0;
    for (let i = 0; i < 200; i++)
      if (lb.pick("c", { kind: "LEAST_REQUEST" }, [a, b], ctx, seededRng(i))?.pod === b) toB++;
    // a is only chosen when both random choices are a (~25%).
    expect(toB).toBeGreaterThan(120);
  });
});

describe("backend behaviour", () => {
  it("image catalogue defaults, overridden by SIM_* env and ConfigMap refs", () => {
    const catalogue = { "catalog:v3-bad": { errorRate: 0.2, latencyMs: 5 }, catalog: { latencyMs: 1 } };
    const pod = podOf({
      deployment: "catalog",
      namespace: "shop",
      hash: "c",
      labels: {},
      image: "ghcr.io/acme/catalog:v3-bad",
    });
    const index = new MeshIndex(
      stateOf({
        configMaps: [{ name: "sim", namespace: "shop", data: { SIM_LATENCY_MS: "250", SIM_SLOW_MS: "900" } }],
      }),
    );
    expect(imageKey("ghcr.io/acme/catalog:v3-bad@sha256:abc")).toBe("catalog:v3-bad");
    expect(imageKey("catalog")).toBe("catalog:latest");
    expect(behaviourFor(index, pod, catalogue)).toMatchObject({
      version: "catalog:v3-bad",
      errorRate: 0.2,
      latencyMs: 5,
    });
    const container = pod.containers[0];
    if (!container) return;
    container.env = [
      { name: "SIM_ERROR_RATE", value: "0.5" },
      { name: "SIM_LATENCY_MS", configMapKeyRef: { name: "sim", key: "SIM_LATENCY_MS" } },
    ];
    container.envFromConfigMaps = ["sim"];
    expect(behaviourFor(index, pod, catalogue)).toMatchObject({
      errorRate: 0.5,
      latencyMs: 250,
      slowMs: 900,
    });
    const v9 = podOf({
      deployment: "catalog",
      namespace: "shop",
      hash: "d",
      labels: {},
      image: "catalog:v9",
    });
    expect(behaviourFor(index, v9, catalogue)).toMatchObject({
      version: "catalog:v9",
      errorRate: 0,
      latencyMs: 1,
    });
  });
});
