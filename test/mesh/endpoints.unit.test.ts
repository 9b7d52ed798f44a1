import { describe, expect, it } from "vitest";
import { behaviourFor, imageKey } from "./behaviour.js";
import { podPeer, workloadOf } from "./endpoints.js";
import { MeshIndex } from "./mesh-index.js";
import { podOf, stateOf } from "./state-builders.js";

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
  it("pods are found by their IP (what istiod's endpoints point at); a live pod wins a shared IP", () => {
    const a = reviews("v1", 0);
    const b = reviews("v2", 0);
    const old = { ...reviews("v1", 7), podIP: b.podIP, terminating: true };
    const index = new MeshIndex(stateOf({ pods: [old, a, b, { ...reviews("v3", 0), podIP: undefined }] }));
    expect(index.podByIp(a.podIP ?? "")?.name).toBe(a.name);
    expect(index.podByIp(b.podIP ?? "")?.name).toBe(b.name);
    expect(index.podByIp("10.0.0.1")).toBeUndefined();
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
