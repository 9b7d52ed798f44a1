// GitOps mode on real parts (issue 11, item 2): the user owns a VirtualService with three routes
// (examples/catalog-adopt-route), and the Canary adopts its `catalog-canary` route with
// spec.service.routeRef. During a release only that route's two weights change, every write is
// recorded by a watch and compared with the user's object; after promotion and after the Canary's
// deletion the VirtualService is the user's again, byte for byte. A route renamed by someone else
// mid-run halts the release with the field named (weights untouched) until it is named back. istiod
// (the real one) translates the user's VirtualService and the simulated sidecars follow its weights.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep, until } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";
import { routesOf, waitForSidecarConfig } from "../mesh/fixtures.js";
import { image, webappTraffic } from "../support/catalog.js";
import { IstioCheckClient } from "../support/istio-findings.js";
import { Kubectl } from "../support/kube.js";
import { watchObjects } from "../support/object-watch.js";
import { httpOwners } from "../support/route-monitor.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
const adminUrl = process.env.SERIN_MESH_ADMIN_URL ?? new URL(inject("meshMetricsUrl")).origin;
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-adopt-route",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

const checkUrl = inject("istioCheckUrl");
const istio = checkUrl ? new IstioCheckClient(checkUrl) : undefined;

const EXAMPLE = join(repoRoot, "examples", "catalog-adopt-route");
const CATALOG = join(repoRoot, "examples", "catalog");
/** The index of the adopted route (`catalog-canary`) in the example's http[]. */
const ROUTE = 1;
const RENAMED = "catalog-canary-renamed";

interface Destination {
  destination: { host: string };
  weight?: number;
}
interface VirtualService extends KubernetesObject {
  metadata: NonNullable<KubernetesObject["metadata"]>;
  spec: { http: Array<{ name?: string; route: Destination[] } & Record<string, unknown>> };
}

/** The user's objects and the Canary, as shipped, with a 10 s interval so that a run takes a minute. */
function applyExample(namespace: string): void {
  k.run([
    "apply",
    "-n",
    namespace,
    "-f",
    join(CATALOG, "deployment.yaml"),
    "-f",
    join(CATALOG, "service.yaml"),
  ]);
  const canary = readFileSync(join(EXAMPLE, "canary.yaml"), "utf8").replace("interval: 45s", "interval: 10s");
  k.run(["apply", "-n", namespace, "-f", "-"], canary);
  // Applied by the user (kubectl's client-side apply, as a GitOps tool would), after the Canary.
  k.run(["apply", "-n", namespace, "-f", join(EXAMPLE, "virtual-service.yaml")]);
}

const virtualService = (ns: string) => k.json<VirtualService>(["get", "virtualservice", "catalog", "-n", ns]);

/** [primary, canary] of the adopted route. */
function weights(vs: VirtualService): number[] {
  return (vs.spec.http[ROUTE]?.route ?? []).map((d) => d.weight ?? 0);
}

/** `vs`'s spec with the adopted route's name and weights as in `original`: what else changed shows. */
function withoutAdoptedWeights(vs: VirtualService, original: VirtualService): unknown {
  const spec = structuredClone(vs.spec);
  const route = spec.http[ROUTE];
  const before = original.spec.http[ROUTE];
  if (route && before) {
    route.name = before.name;
    route.route.forEach((d, i) => {
      const w = before.route[i]?.weight;
      if (w === undefined) delete d.weight;
      else d.weight = w;
    });
  }
  return spec;
}

const userMetadata = (vs: VirtualService) => ({
  labels: vs.metadata.labels,
  annotations: vs.metadata.annotations,
  ownerReferences: vs.metadata.ownerReferences,
});

function readyCondition(ns: string) {
  return k.canary(ns, "catalog-release").status?.conditions?.find((c) => c.type === "Ready");
}

/** "type|reason|message" per Canary Event. */
function canaryEvents(ns: string): string[] {
  return k.canaryEvents(ns).map((e) => `${e.type}|${e.reason}|${e.message}`);
}

/** Renames the adopted route as someone else would (a JSON patch by kubectl, not Serin's field manager). */
function renameRoute(ns: string, name: string): void {
  const op = [{ op: "replace", path: `/spec/http/${ROUTE}/name`, value: name }];
  k.run(["patch", "virtualservice", "catalog", "-n", ns, "--type=json", "-p", JSON.stringify(op)]);
}

async function deleteCanary(ns: string): Promise<void> {
  k.run(["delete", "canary", "catalog-release", "-n", ns, "--wait=false"]);
  await until(
    "the Canary to be gone (its finalizer removed)",
    () => (k.run(["get", "canary", "-n", ns, "-o", "name"]).trim() === "" ? true : undefined),
    90_000,
  );
}

const webapp = (ns: string) => ({ workload: "webapp", namespace: ns, labels: { app: "webapp" } });

describe("adopting a VirtualService the user owns (spec.service.routeRef)", () => {
  it("changes only the named route's weights, halts on a renamed route, and leaves the VirtualService byte for byte after promotion and deletion", async () => {
    const ns = k.createNamespace("adopt");
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    try {
      applyExample(ns);
      await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
      const original = virtualService(ns);
      const originalSpec = JSON.stringify(original.spec);
      expect(weights(original)).toEqual([100, 0]);
      expect(original.spec.http.map((r) => r.name)).toEqual(["internal", "catalog-canary", "default"]);
      // Serin generated no route of its own: the user's is the only VirtualService.
      expect(k.run(["get", "virtualservices", "-n", ns, "-o", "name"]).trim()).toMatch(/\/catalog$/);
      expect(readyCondition(ns)?.status).toBe("True");

      const watch = await watchObjects<VirtualService>({
        kubeconfig: k.kubeconfig,
        path: `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`,
      });
      const canaryWatch = k.watchCanary(ns, "catalog-release");
      let held: number[] = [];
      try {
        await sleep(3_000);
        k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
        await until(
          "the adopted route at canary weight 20",
          () => ((weights(virtualService(ns))[1] ?? 0) >= 20 ? true : undefined),
          120_000,
        );

        // Someone renames the route mid-run: Ready=False naming routeRef.routes[0], a Warning Event, and
        // the weights stay where they were while it lasts (more than an interval).
        renameRoute(ns, RENAMED);
        const blocked = await until("Ready=False Blocked", () => {
          const ready = readyCondition(ns);
          return ready?.status === "False" && ready.reason === "Blocked" ? ready : undefined;
        });
        expect(blocked.message).toContain(
          `spec.service.routeRef.routes[0] "catalog-canary" not found in VirtualService catalog (http[].name: internal, ${RENAMED}, default)`,
        );
        held = weights(virtualService(ns));
        const heldStatus = k.canary(ns, "catalog-release").status;
        expect(held).toEqual([100 - (heldStatus?.canaryWeight ?? -1), heldStatus?.canaryWeight]);
        // istiod accepted the user's route and the webapp's sidecar follows its weights as they are held.
        await waitForSidecarConfig(adminUrl, `route ${RENAMED} at ${held.join("/")}`, webapp(ns), (c) =>
          routesOf(c).some(
            (r) =>
              r.name === RENAMED &&
              (r.route?.weighted_clusters?.clusters ?? []).map((x) => x.weight ?? 0).join() === held.join(),
          ),
        );
        await sleep(15_000);
        expect(weights(virtualService(ns))).toEqual(held);
        const during = k.canary(ns, "catalog-release").status;
        expect(during?.phase).toBe("Progressing");
        expect(during?.canaryWeight).toBe(heldStatus?.canaryWeight);
        expect(
          canaryEvents(ns).some(
            (e) =>
              e.startsWith("Warning|Blocked|") &&
              e.includes('spec.service.routeRef.routes[0] "catalog-canary"'),
          ),
        ).toBe(true);

        // Named back: the release goes on and is promoted.
        renameRoute(ns, "catalog-canary");
        await until("Ready=True", () => (readyCondition(ns)?.status === "True" ? true : undefined));
        expect(await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 240_000)).toBe(
          "Succeeded",
        );
        expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
      } finally {
        canaryWatch.stop();
        await watch.stop();
      }

      // After promotion: the user's VirtualService exactly as written, weights included.
      const promoted = virtualService(ns);
      expect(JSON.stringify(promoted.spec)).toBe(originalSpec);
      expect(userMetadata(promoted)).toEqual(userMetadata(original));
      // Every version of it during the run differed from the user's only in the adopted route's
      // weights (and in the name while the test had it renamed), and each split added up to 100.
      const versions = watch.events.filter((e) => e.type !== "DELETED").map((e) => e.object);
      for (const v of versions) {
        expect(withoutAdoptedWeights(v, original)).toEqual(original.spec);
        expect(userMetadata(v)).toEqual(userMetadata(original));
        const [p, c] = weights(v);
        expect((p ?? 0) + (c ?? 0)).toBe(100);
      }
      const seen = [...new Set(versions.map((v) => weights(v)[1]))];
      expect(seen).toEqual(expect.arrayContaining([0, 10, 20, 30, 40, 50]));
      expect(canaryWatch.weights().filter((w) => w > 0)).toEqual([10, 20, 30, 40, 50]);
      // The documented cost of a JSON patch of an atomic list: Serin's field manager owns http[] now.
      const managed = k.json<VirtualService>([
        "get",
        "virtualservice",
        "catalog",
        "-n",
        ns,
        "--show-managed-fields",
      ]);
      expect(httpOwners(managed)).toContain("serin");
      if (istio !== undefined) {
        // Every generation Serin wrote passed `istioctl validate`, and `istioctl analyze` finds nothing in
        // the namespace as Serin left it (checked now: once the Canary is gone, its Services are too).
        const validated = (await istio.validated(ns)).filter((w) => w.name === "catalog");
        expect(validated.length).toBeGreaterThanOrEqual(6); // 10..50 and back to 0
        const report = await istio.analyze([ns]);
        expect(report.namespaces).toEqual([ns]);
        expect(report.failing).toEqual([]);
      }

      // Deleted: nothing to give back (100/0 already), and the object is still the user's, as written.
      await deleteCanary(ns);
      const after = virtualService(ns);
      expect(JSON.stringify(after.spec)).toBe(originalSpec);
      expect(userMetadata(after)).toEqual(userMetadata(original));
      expect(
        canaryEvents(ns).some((e) => /^Normal\|Terminated\|.*VirtualService catalog given back/.test(e)),
      ).toBe(true);
      process.stdout.write(
        `adopt-route: ${versions.length} versions of the user's VirtualService during the run, canary weights ${seen.join(",")}; held at ${held.join("/")} while renamed\n`,
      );
    } finally {
      await traffic.stop();
      k.run(["delete", "namespace", ns, "--wait=false"]);
    }
  });

  it("deleting the Canary mid-run gives the route back at 100/0 and the rest as written", async () => {
    const ns = k.createNamespace("adopt-del");
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    try {
      applyExample(ns);
      await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
      const original = virtualService(ns);
      const originalSpec = JSON.stringify(original.spec);
      await sleep(3_000);
      k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
      const split = await until(
        "the adopted route at a canary weight above 0",
        () => {
          const w = weights(virtualService(ns));
          return (w[1] ?? 0) > 0 ? w : undefined;
        },
        120_000,
      );
      await deleteCanary(ns);
      const after = virtualService(ns);
      expect(JSON.stringify(after.spec)).toBe(originalSpec);
      expect(userMetadata(after)).toEqual(userMetadata(original));
      // The route still sends to catalog-primary: that Service outlives the Canary (no owner), selects
      // the target's pods, and the user's traffic keeps being answered once the primary is gone.
      const primary = k.json<{ metadata: { ownerReferences?: unknown[] }; spec: { selector: object } }>([
        "get",
        "service",
        "catalog-primary",
        "-n",
        ns,
      ]);
      expect(primary.metadata.ownerReferences ?? []).toEqual([]);
      expect(primary.spec.selector).toEqual({ app: "catalog" });
      await until(
        "the primary Deployment to be garbage-collected",
        () =>
          k.run(["get", "deployment", "catalog-primary", "-n", ns, "--ignore-not-found"]) === ""
            ? true
            : undefined,
        60_000,
      );
      const probe = webappTraffic(inject("meshProxyUrl"), ns, 20, 5_000);
      const answered = await probe.done;
      expect(answered.completed).toBeGreaterThan(50);
      expect(answered.byStatus).toEqual({ "200": answered.completed });
      process.stdout.write(
        `adopt-route: deleted at ${split.join("/")}, given back at ${weights(after).join("/")}; after the primary was collected ${answered.byStatus["200"]} of ${answered.completed} requests answered 200\n`,
      );
    } finally {
      await traffic.stop();
      k.run(["delete", "namespace", ns, "--wait=false"]);
    }
  });
});

/** A user's HTTPRoute for catalog (GAMMA: attached to the catalog Service): three named rules, one released. */
const HTTP_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: catalog
  labels: {app: catalog}
spec:
  parentRefs:
    - {group: "", kind: Service, name: catalog, port: 80}
  rules:
    - name: internal
      matches:
        - headers: [{type: Exact, name: x-catalog-pin, value: stable}]
      backendRefs:
        - {name: catalog-primary, port: 80}
    - name: catalog-canary
      matches:
        - path: {type: PathPrefix, value: /}
      backendRefs:
        - {name: catalog-primary, port: 80, weight: 100}
        - {name: catalog-canary, port: 80, weight: 0}
    - name: health
      matches:
        - path: {type: Exact, value: /healthz}
      backendRefs:
        - {name: catalog-primary, port: 80}
`;

interface HttpRoute extends KubernetesObject {
  metadata: NonNullable<KubernetesObject["metadata"]>;
  spec: { rules: Array<{ name?: string; backendRefs: Array<{ name: string; weight?: number }> }> };
}

describe("adopting an HTTPRoute the user owns (provider gatewayapi:v1)", () => {
  it("weighs only the named rule's backendRefs on the real Gateway API CRDs and gives them back on deletion", async () => {
    const ns = k.createNamespace("adopt-gw");
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    const route = () => k.json<HttpRoute>(["get", "httproute", "catalog", "-n", ns]);
    const ruleWeights = (r: HttpRoute) => (r.spec.rules[1]?.backendRefs ?? []).map((b) => b.weight ?? 1);
    try {
      k.run(["apply", "-n", ns, "-f", join(CATALOG, "deployment.yaml"), "-f", join(CATALOG, "service.yaml")]);
      const canary = readFileSync(join(EXAMPLE, "canary.yaml"), "utf8")
        .replace("interval: 45s", "interval: 10s")
        .replace("spec:\n", "spec:\n  provider: gatewayapi:v1\n")
        .replace("kind: VirtualService", "kind: HTTPRoute");
      k.run(["apply", "-n", ns, "-f", "-"], canary);
      k.run(["apply", "-n", ns, "-f", "-"], HTTP_ROUTE);
      await k.waitForPhase(ns, "catalog-release", ["Initialized"], 90_000);
      const original = route();
      const originalSpec = JSON.stringify(original.spec);
      expect(ruleWeights(original)).toEqual([100, 0]);
      expect(
        k.run(["get", "virtualservices,httproutes", "-n", ns, "-o", "name"]).trim().split("\n"),
      ).toHaveLength(1);

      k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
      const split = await until(
        "the named rule at a canary weight above 0",
        () => {
          const w = ruleWeights(route());
          return (w[1] ?? 0) > 0 ? w : undefined;
        },
        120_000,
      );
      const during = route();
      during.spec.rules[1]?.backendRefs.forEach((b, i) => {
        b.weight = original.spec.rules[1]?.backendRefs[i]?.weight ?? 1;
      });
      expect(during.spec).toEqual(original.spec);
      if (istio !== undefined) {
        // istiod accepted every generation Serin wrote (Accepted and ResolvedRefs on that generation).
        await istio.sync();
        expect((await istio.findings(0)).filter((f) => f.namespace === ns)).toEqual([]);
      }

      await deleteCanary(ns);
      const after = route();
      expect(JSON.stringify(after.spec)).toBe(originalSpec);
      expect(after.metadata.labels).toEqual(original.metadata.labels);
      // The rule now names Services that went with the Canary: istiod says so, truthfully.
      await istio?.acknowledge({ namespace: ns, kind: "HTTPRoute", name: "catalog" });
      process.stdout.write(`adopt-route (HTTPRoute): deleted at ${split.join("/")}, given back at 100/0\n`);
    } finally {
      await traffic.stop();
      k.run(["delete", "namespace", ns, "--wait=false"]);
    }
  });
});
