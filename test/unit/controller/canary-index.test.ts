// The Canary index: which Canaries an object's event concerns, kept in step with Canary and target
// events, and leaving nothing behind when they go.
import { describe, expect, it } from "vitest";
import { CanaryIndex, type ConfigRefLike, specRefs } from "../../../src/controller/canary-index.js";

const canary = (namespace: string, name: string, spec: Record<string, unknown>) => ({
  metadata: { namespace, name },
  spec,
});
const onTarget = (target: string, extra: Record<string, unknown> = {}) => ({
  targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
  service: { port: 80 },
  ...extra,
});

/** An index over a fake Deployment cache: `deployments["ns/name"]` = its pod template's config refs. */
function setup(deployments: Record<string, ConfigRefLike[]> = {}) {
  let reads = 0;
  const index = new CanaryIndex((ns, name) => {
    reads++;
    return deployments[`${ns}/${name}`] ?? [];
  });
  return { index, deployments, reads: () => reads };
}

const sorted = (s: ReadonlySet<string>) => [...s].sort();

describe("CanaryIndex", () => {
  it("indexes a Canary under its target, primary, generated objects, configs, HPA, templates and providers", () => {
    const { index } = setup({ "shop/catalog": [{ kind: "configmap", name: "catalog-config" }] });
    index.setCanary(
      "shop/release",
      canary("shop", "release", {
        ...onTarget("catalog", { service: { name: "store", port: 80 } }),
        autoscalerRef: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "catalog" },
        analysis: {
          metrics: [
            { name: "request-success-rate" },
            { name: "errors", templateRef: { name: "error-rate" } },
            { name: "latency", templateRef: { name: "p99", namespace: "monitoring" } },
          ],
          alerts: [{ name: "on-call", providerRef: { name: "slack", namespace: "ops" } }],
        },
      }),
    );
    expect(sorted(index.refs("shop/release"))).toEqual(
      [
        "deployment/shop/catalog",
        "deployment/shop/catalog-primary",
        "service/shop/store",
        "service/shop/store-primary",
        "service/shop/store-canary",
        "virtualservice/shop/store",
        "virtualservice/shop/store-primary",
        "virtualservice/shop/store-canary",
        "destinationrule/shop/store",
        "destinationrule/shop/store-primary",
        "destinationrule/shop/store-canary",
        "httproute/shop/store",
        "configmap/shop/catalog-config",
        "hpa/shop/catalog",
        "hpa/shop/catalog-primary",
        "metrictemplate/shop/error-rate",
        "metrictemplate/monitoring/p99",
        "alertprovider/ops/slack",
      ].sort(),
    );
    expect(sorted(index.lookup("deployment", "shop", "catalog-primary"))).toEqual(["shop/release"]);
    expect(sorted(index.lookup("virtualservice", "shop", "store"))).toEqual(["shop/release"]);
    expect(sorted(index.lookup("configmap", "shop", "catalog-config"))).toEqual(["shop/release"]);
    expect(sorted(index.lookup("metrictemplate", "monitoring", "p99"))).toEqual(["shop/release"]);
    // Other namespaces, other names: nobody.
    expect(index.lookup("configmap", "other", "catalog-config").size).toBe(0);
    expect(index.lookup("service", "shop", "catalog").size).toBe(0);
    expect(sorted(index.targeting("shop", "catalog"))).toEqual(["shop/release"]);
  });

  it("the apex defaults to the target's name; a ScaledObject autoscaler is not an HPA", () => {
    const refs = specRefs(
      "ns",
      canary("ns", "c", onTarget("web", { autoscalerRef: { kind: "ScaledObject", name: "web" } })),
    );
    expect(refs).toContain("virtualservice/ns/web");
    expect(refs).toContain("destinationrule/ns/web-canary");
    expect(refs.some((r) => r.startsWith("hpa/"))).toBe(false);
  });

  it("indexes an adopted route (spec.service.routeRef) under its kind, so its edits wake the Canary", () => {
    const vs = { routeRef: { kind: "VirtualService", name: "catalog-routes", routes: ["canary"] } };
    const refs = specRefs("ns", canary("ns", "c", onTarget("web", { service: { port: 80, ...vs } })));
    expect(refs).toContain("virtualservice/ns/catalog-routes");
    const route = { routeRef: { kind: "HTTPRoute", name: "web-routes", routes: ["canary"] } };
    const gw = specRefs("ns", canary("ns", "c", onTarget("web", { service: { port: 80, ...route } })));
    expect(gw).toContain("httproute/ns/web-routes");
    expect(gw).not.toContain("virtualservice/ns/web-routes");
  });

  it("reads an invalid spec defensively: wrong types are skipped, never thrown on", () => {
    const { index } = setup();
    index.setCanary(
      "ns/bad",
      canary("ns", "bad", {
        targetRef: { name: 42 },
        analysis: { metrics: "nope", alerts: [null, { providerRef: { name: "" } }] },
      }),
    );
    index.setCanary("ns/no-spec", { metadata: { namespace: "ns", name: "no-spec" } });
    expect(index.refs("ns/bad").size).toBe(0);
    expect(index.refs("ns/no-spec").size).toBe(0);
    expect(index.sizes()).toMatchObject({ refs: 0, links: 0, targets: 0, targetConfigs: 0 });
    index.deleteCanary("ns/bad");
    index.deleteCanary("ns/no-spec");
    expect(index.sizes()).toEqual({ canaries: 0, refs: 0, links: 0, targets: 0, targetConfigs: 0 });
  });

  it("an update moves the Canary's refs: the old target and its configs no longer reach it", () => {
    const { index } = setup({
      "shop/catalog": [{ kind: "configmap", name: "catalog-config" }],
      "shop/payments": [{ kind: "secret", name: "payments-db" }],
    });
    index.setCanary("shop/release", canary("shop", "release", onTarget("catalog")));
    const before = index.sizes();
    index.setCanary("shop/release", canary("shop", "release", onTarget("payments")));
    expect(index.lookup("deployment", "shop", "catalog").size).toBe(0);
    expect(index.lookup("configmap", "shop", "catalog-config").size).toBe(0);
    expect(index.targeting("shop", "catalog").size).toBe(0);
    expect(sorted(index.lookup("deployment", "shop", "payments"))).toEqual(["shop/release"]);
    expect(sorted(index.lookup("secret", "shop", "payments-db"))).toEqual(["shop/release"]);
    // Same shape, different names: no growth.
    expect(index.sizes()).toEqual(before);
  });

  it("a status write (same spec) changes nothing and reads no Deployment", () => {
    const { index, reads } = setup({ "shop/catalog": [{ kind: "configmap", name: "cfg" }] });
    const c = canary("shop", "release", onTarget("catalog"));
    index.setCanary("shop/release", c);
    const sizes = index.sizes();
    index.setCanary("shop/release", { ...c, status: { phase: "Progressing" } } as typeof c);
    expect(index.sizes()).toEqual(sizes);
    expect(reads()).toBe(1);
  });

  it("two Canaries on one target: both indexed, the target's configs read once, one leaving keeps the other", () => {
    const { index, reads } = setup({ "shop/catalog": [{ kind: "configmap", name: "cfg" }] });
    index.setCanary("shop/first", canary("shop", "first", onTarget("catalog")));
    index.setCanary("shop/second", canary("shop", "second", onTarget("catalog")));
    expect(reads()).toBe(1);
    expect(sorted(index.targeting("shop", "catalog"))).toEqual(["shop/first", "shop/second"]);
    expect(sorted(index.lookup("configmap", "shop", "cfg"))).toEqual(["shop/first", "shop/second"]);
    expect(sorted(index.lookup("service", "shop", "catalog-canary"))).toEqual(["shop/first", "shop/second"]);
    index.deleteCanary("shop/first");
    expect(sorted(index.targeting("shop", "catalog"))).toEqual(["shop/second"]);
    expect(sorted(index.lookup("configmap", "shop", "cfg"))).toEqual(["shop/second"]);
    expect(index.sizes().targetConfigs).toBe(1);
  });

  it("a ConfigMap is indexed when the target's template starts using it, and dropped when it stops", () => {
    const { index, deployments } = setup({ "shop/catalog": [] });
    index.setCanary("shop/release", canary("shop", "release", onTarget("catalog")));
    expect(index.lookup("configmap", "shop", "new-config").size).toBe(0);
    // The Deployment's event: its template now mounts new-config and reads a Secret in env.
    deployments["shop/catalog"] = [
      { kind: "configmap", name: "new-config" },
      { kind: "secret", name: "api-key" },
    ];
    expect(index.targetChanged("shop", "catalog", () => deployments["shop/catalog"] ?? [])).toBe(true);
    expect(sorted(index.lookup("configmap", "shop", "new-config"))).toEqual(["shop/release"]);
    expect(sorted(index.lookup("secret", "shop", "api-key"))).toEqual(["shop/release"]);
    // The next template drops the ConfigMap.
    index.targetChanged("shop", "catalog", () => [{ kind: "secret", name: "api-key" }]);
    expect(index.lookup("configmap", "shop", "new-config").size).toBe(0);
    expect(index.refs("shop/release").has("configmap/shop/new-config")).toBe(false);
    // The target is deleted: its configs go, the Canary still waits for the target to come back.
    index.targetChanged("shop", "catalog", () => []);
    expect(index.lookup("secret", "shop", "api-key").size).toBe(0);
    expect(sorted(index.lookup("deployment", "shop", "catalog"))).toEqual(["shop/release"]);
  });

  it("a target event with the version already seen (a status-only write) does not re-read the pod spec", () => {
    const { index } = setup({ "shop/catalog": [{ kind: "configmap", name: "v1-config" }] });
    index.setCanary("shop/release", canary("shop", "release", onTarget("catalog")));
    let parsed = 0;
    const configs = (name: string) => () => {
      parsed++;
      return [{ kind: "configmap" as const, name }];
    };
    index.targetChanged("shop", "catalog", configs("v1-config"), "1|");
    index.targetChanged("shop", "catalog", configs("ignored"), "1|"); // rollout status, same generation
    index.targetChanged("shop", "catalog", configs("ignored"), "1|");
    expect(parsed).toBe(1);
    expect(sorted(index.lookup("configmap", "shop", "v1-config"))).toEqual(["shop/release"]);
    index.targetChanged("shop", "catalog", configs("v2-config"), "2|"); // a new template
    expect(parsed).toBe(2);
    expect(index.lookup("configmap", "shop", "v1-config").size).toBe(0);
    expect(sorted(index.lookup("configmap", "shop", "v2-config"))).toEqual(["shop/release"]);
    // Deleted (no version): always re-read.
    index.targetChanged("shop", "catalog", () => []);
    expect(index.lookup("configmap", "shop", "v2-config").size).toBe(0);
  });

  it("a Deployment no Canary targets is not read and leaves nothing in the index", () => {
    const { index } = setup();
    let computed = 0;
    const answer = index.targetChanged("shop", "unrelated", () => {
      computed++;
      return [{ kind: "configmap", name: "x" }];
    });
    expect(answer).toBe(false);
    expect(computed).toBe(0);
    expect(index.sizes()).toEqual({ canaries: 0, refs: 0, links: 0, targets: 0, targetConfigs: 0 });
  });

  it("a Canary created before its target picks up the target's configs on the target's first event", () => {
    const { index } = setup();
    index.setCanary("shop/release", canary("shop", "release", onTarget("catalog")));
    expect(index.sizes().targetConfigs).toBe(1);
    index.targetChanged("shop", "catalog", () => [{ kind: "configmap", name: "cfg" }]);
    expect(sorted(index.lookup("configmap", "shop", "cfg"))).toEqual(["shop/release"]);
  });

  it("shared objects (a MetricTemplate, a ConfigMap) map to every Canary using them", () => {
    const { index } = setup({
      "a/web": [{ kind: "configmap", name: "shared" }],
      "a/api": [{ kind: "configmap", name: "shared" }],
    });
    const analysis = { metrics: [{ name: "x", templateRef: { name: "tpl", namespace: "global" } }] };
    index.setCanary("a/web", canary("a", "web", onTarget("web", { analysis })));
    index.setCanary("a/api", canary("a", "api", onTarget("api", { analysis })));
    index.setCanary("b/web", canary("b", "web", onTarget("web", { analysis })));
    expect(sorted(index.lookup("metrictemplate", "global", "tpl"))).toEqual(["a/api", "a/web", "b/web"]);
    expect(sorted(index.lookup("configmap", "a", "shared"))).toEqual(["a/api", "a/web"]);
    expect(index.lookup("configmap", "b", "shared").size).toBe(0);
  });

  it("adding and deleting many Canaries leaves every map empty", () => {
    const configs: Record<string, ConfigRefLike[]> = {};
    for (let i = 0; i < 50; i++) {
      configs[`ns-${i % 5}/app-${i}`] = [
        { kind: "configmap", name: `cfg-${i}` },
        { kind: "configmap", name: "shared" },
        { kind: "secret", name: `sec-${i}` },
      ];
    }
    const { index } = setup(configs);
    const keys: string[] = [];
    for (let i = 0; i < 50; i++) {
      const ns = `ns-${i % 5}`;
      keys.push(`${ns}/c-${i}`);
      index.setCanary(
        `${ns}/c-${i}`,
        canary(ns, `c-${i}`, {
          ...onTarget(`app-${i}`),
          autoscalerRef: { kind: "HorizontalPodAutoscaler", name: `app-${i}` },
          analysis: { alerts: [{ name: "a", providerRef: { name: "slack" } }] },
        }),
      );
      // A target event on the way, and a retarget of every other Canary.
      index.targetChanged(ns, `app-${i}`, () => configs[`${ns}/app-${i}`] ?? []);
      if (i % 2 === 0) index.setCanary(`${ns}/c-${i}`, canary(ns, `c-${i}`, onTarget(`app-${i + 1}`)));
    }
    const full = index.sizes();
    expect(full.canaries).toBe(50);
    expect(full.targets).toBe(50);
    expect(full.links).toBeGreaterThan(full.refs);
    for (const key of keys) index.deleteCanary(key);
    expect(index.sizes()).toEqual({ canaries: 0, refs: 0, links: 0, targets: 0, targetConfigs: 0 });
  });

  it("deleting an unknown Canary is harmless", () => {
    const { index } = setup();
    index.deleteCanary("x/y");
    expect(index.sizes()).toEqual({ canaries: 0, refs: 0, links: 0, targets: 0, targetConfigs: 0 });
  });
});
