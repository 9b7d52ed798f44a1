// Istio is the judge of the routing objects Serin writes: every VirtualService and DestinationRule
// generation Serin writes goes through `istioctl validate` (an HTTPRoute through istiod's own status), and the namespaces whose routing changed
// through `istioctl analyze` (test/support/istio-validator.ts; the e2e setup file fails a test on any
// finding). This file proves both directions: an object Istio would reject, written the way Serin
// writes, is caught with Istio's own message; and a real release's objects pass.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { repoRoot } from "../env/toolchain.js";
import { checkFailure, describeFinding, IstioCheckClient } from "../support/istio-findings.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
const checkUrl = inject("istioCheckUrl");
const istio = new IstioCheckClient(checkUrl);
const namespaces: string[] = [];

serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-istio-validation",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

afterAll(() => {
  for (const ns of namespaces) k.run(["delete", "namespace", ns, "--wait=false"]);
});

function apply(ns: string, obj: unknown, fieldManager?: string): void {
  k.run(
    ["apply", "-n", ns, ...(fieldManager ? [`--field-manager=${fieldManager}`] : []), "-f", "-"],
    JSON.stringify(obj),
  );
}

/** A Canary as the owner of hand-made routing objects: its target does not exist, so Serin writes nothing. */
function ownerCanary(ns: string): { apiVersion: string; kind: string; name: string; uid: string } {
  apply(ns, {
    apiVersion: "serin.dev/v1beta1",
    kind: "Canary",
    metadata: { name: "owner" },
    spec: {
      targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "absent" },
      service: { name: "absent", port: 80 },
      analysis: { interval: "10s", threshold: 1, maxWeight: 50, stepWeight: 10 },
    },
  });
  const uid = k.run(["get", "canary", "owner", "-n", ns, "-o", "jsonpath={.metadata.uid}"]);
  return { apiVersion: "serin.dev/v1beta1", kind: "Canary", name: "owner", uid };
}

describe.skipIf(!checkUrl)("Istio's judgement of Serin's routing objects", () => {
  it("a VirtualService Istio would reject, written as Serin writes it, is reported with istioctl's message", async () => {
    const ns = k.createNamespace("istio-reject");
    namespaces.push(ns);
    const owner = ownerCanary(ns);
    const cursor = await istio.cursor();
    // Field manager "serin", controlled by a Canary: indistinguishable from Serin's own write. The
    // CRD's schema admits it (a regex is a string to the API server); Istio's validation does not.
    const broken = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: {
        name: "catalog",
        ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        hosts: ["catalog"],
        gateways: ["mesh"],
        http: [
          {
            // JavaScript's lookahead, not RE2: Envoy could not compile this route.
            match: [{ headers: { cookie: { regex: "^(?=.*canary=always).*$" } } }],
            route: [
              { destination: { host: "catalog-primary" }, weight: 0 },
              { destination: { host: "catalog-canary" }, weight: 100 },
            ],
          },
          {
            route: [
              { destination: { host: "catalog-primary" }, weight: 0 },
              { destination: { host: "catalog-canary" }, weight: 0 },
            ],
          },
        ],
      },
    };
    k.run(["create", "-n", ns, "--field-manager=serin", "-f", "-"], JSON.stringify(broken));

    const finding = await istio.waitForFinding(cursor, {
      namespace: ns,
      kind: "VirtualService",
      name: "catalog",
    });
    const all = (await istio.findings(cursor, true)).filter(
      (f) => f.tool === "validate" && f.namespace === ns && f.name === "catalog",
    );
    const messages = all.map((f) => f.message);
    // Istio's own words, one per broken field.
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining(
          '"headers": error parsing regexp: invalid or unsupported Perl syntax: `(?=`; Istio uses RE2 style regex-based match',
        ),
        "total destination weight = 0",
      ]),
    );
    expect(finding.generation).toBe(1);
    // What the afterEach hook would fail this test with: object, Istio's message and the spec.
    const failure = checkFailure(
      {
        findings: all,
        analysis: { namespaces: [], skipped: [], deferred: [], failing: [], allowed: [], ms: 0 },
        listed: true,
        seq: 0,
      },
      "after this test",
    );
    expect(failure).toContain(
      `istioctl validate rejects VirtualService ${ns}/catalog (generation 1, written by Serin)`,
    );
    expect(failure).toContain("error parsing regexp: invalid or unsupported Perl syntax");
    expect(failure).toContain('"regex":"^(?=.*canary=always).*$"');
    process.stdout.write(`${describeFinding(finding)}\n`);

    // istioctl analyze repeats it (IST0106) and adds what only the whole namespace shows (IST0101:
    // no such hosts). The test expected all of it: acknowledged, so the hooks pass this test.
    const analysis = await istio.analyze([ns]);
    expect(analysis.failing.map((f) => f.code)).toEqual(expect.arrayContaining(["IST0106", "IST0101"]));
    expect(analysis.failing.filter((f) => f.code === "IST0106").map((f) => f.message)).toContainEqual(
      expect.stringContaining("Schema validation error:"),
    );
    const acknowledged = await istio.acknowledge({ namespace: ns, kind: "VirtualService", name: "catalog" });
    expect(acknowledged.length).toBeGreaterThanOrEqual(all.length);
    const after = await istio.check();
    expect(after.findings.filter((f) => f.namespace === ns)).toEqual([]);
  });

  it("an HTTPRoute istiod cannot resolve, written as Serin writes it, is reported with istiod's status", async () => {
    const ns = k.createNamespace("istio-httproute");
    namespaces.push(ns);
    const owner = ownerCanary(ns);
    apply(ns, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "catalog" },
      spec: { selector: { app: "catalog" }, ports: [{ name: "http", port: 80, targetPort: 3000 }] },
    });
    const cursor = await istio.cursor();
    // Mesh route (GAMMA) to backends that do not exist: the API server's schema admits it, istiod's
    // translation does not resolve it (istioctl validate would pass it: it has no Gateway API checks).
    const route = {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: {
        name: "catalog",
        ownerReferences: [{ ...owner, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        parentRefs: [{ group: "", kind: "Service", name: "catalog", port: 80 }],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/" } }],
            backendRefs: [
              { group: "", kind: "Service", name: "catalog-primary", port: 80, weight: 90 },
              { group: "", kind: "Service", name: "catalog-canary", port: 80, weight: 10 },
            ],
          },
        ],
      },
    };
    k.run(["create", "-n", ns, "--field-manager=serin", "-f", "-"], JSON.stringify(route));
    const finding = await istio.waitForFinding(cursor, { namespace: ns, kind: "HTTPRoute", name: "catalog" });
    expect(finding.generation).toBe(1);
    expect(finding.message).toMatch(/^parent Service catalog:80: ResolvedRefs=False \(BackendNotFound\)/);
    expect(describeFinding(finding)).toContain(
      `istiod rejects HTTPRoute ${ns}/catalog (generation 1, written by Serin)`,
    );
    process.stdout.write(`${describeFinding(finding)}\n`);
    await istio.acknowledge({ namespace: ns, kind: "HTTPRoute", name: "catalog" });
    const after = await istio.check();
    expect(after.findings.filter((f) => f.namespace === ns && !f.acknowledged)).toEqual([]);
  });

  it("a route to a subset no DestinationRule defines passes validate but not analyze (IST0101)", async () => {
    const ns = k.createNamespace("istio-subset");
    namespaces.push(ns);
    const owner = ownerCanary(ns);
    apply(ns, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "catalog" },
      spec: { selector: { app: "catalog" }, ports: [{ name: "http", port: 80, targetPort: 3000 }] },
    });
    apply(
      ns,
      {
        apiVersion: "networking.istio.io/v1beta1",
        kind: "VirtualService",
        metadata: { name: "catalog", ownerReferences: [{ ...owner, controller: true }] },
        spec: {
          hosts: ["catalog"],
          http: [{ route: [{ destination: { host: "catalog", subset: "canary" }, weight: 100 }] }],
        },
      },
      "serin",
    );
    const analysis = await istio.analyze([ns]);
    const subset = analysis.failing.find((f) => f.code === "IST0101");
    expect(subset?.message).toBe('Referenced host+subset in destinationrule not found: "catalog+canary"');
    expect(subset).toMatchObject({ kind: "VirtualService", namespace: ns, name: "catalog" });
    const validated = await istio.validated(ns);
    expect(validated).toContainEqual(expect.objectContaining({ kind: "VirtualService", name: "catalog" }));
    expect(
      (await istio.findings(0, true)).filter((f) => f.namespace === ns && f.tool === "validate"),
    ).toEqual([]);
    await istio.acknowledge({ namespace: ns, kind: "VirtualService", name: "catalog" });
  });

  it("a real release: every generation Serin writes passes istioctl validate, the namespace passes analyze", async () => {
    const ns = k.createNamespace("istio-release");
    namespaces.push(ns);
    const cursor = await istio.cursor();
    const example = join(repoRoot, "examples", "catalog");
    k.run(["apply", "-n", ns, "-f", join(example, "deployment.yaml"), "-f", join(example, "service.yaml")]);
    // Every routing feature Serin renders into Istio objects: match on source labels and an RE2
    // header regex, timeout, retries, header manipulation, CORS, and a DestinationRule traffic policy.
    apply(ns, {
      apiVersion: "serin.dev/v1beta1",
      kind: "Canary",
      metadata: { name: "catalog-release" },
      spec: {
        targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
        progressDeadlineSeconds: 60,
        service: {
          name: "catalog",
          port: 80,
          targetPort: 3000,
          gateways: ["mesh"],
          hosts: ["catalog"],
          timeout: "5s",
          retries: { attempts: 3, perTryTimeout: "1s", retryOn: "gateway-error,connect-failure" },
          headers: { request: { add: { "x-served-by": "serin" } } },
          corsPolicy: { allowOrigins: [{ exact: "https://shop.example" }], allowMethods: ["GET"] },
          trafficPolicy: {
            loadBalancer: { simple: "LEAST_REQUEST" },
            connectionPool: { http: { http1MaxPendingRequests: 100 } },
            outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s" },
          },
        },
        analysis: {
          interval: "10s",
          threshold: 2,
          maxWeight: 50,
          stepWeight: 25,
          match: [
            { sourceLabels: { app: "webapp" } },
            { headers: { cookie: { regex: "^(.*?;)?(canary=always)(;.*)?$" } } },
          ],
        },
      },
    });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 180_000);
    expect(phase).toBe("Succeeded");

    const validated = await istio.validated(ns);
    const generations = (kind: string, name: string) =>
      validated.filter((w) => w.kind === kind && w.name === name).map((w) => w.generation);
    const vsGeneration = Number(
      k.run(["get", "virtualservice", "catalog", "-n", ns, "-o", "jsonpath={.metadata.generation}"]),
    );
    // Every generation of the VirtualService (initial, 25, 50, promotion, back to primary) was checked.
    expect(generations("VirtualService", "catalog")).toEqual(
      Array.from({ length: vsGeneration }, (_, i) => i + 1),
    );
    expect(generations("DestinationRule", "catalog-primary")).toContain(1);
    expect(generations("DestinationRule", "catalog-canary")).toContain(1);
    for (const w of validated) expect(w.managers).toContain("serin");

    const findings = (await istio.findings(cursor, true)).filter((f) => f.namespace === ns);
    expect(findings.map(describeFinding)).toEqual([]);
    const analysis = await istio.analyze([ns]);
    expect(analysis.failing.map(describeFinding)).toEqual([]);
    // Only what the simulated cluster causes is allowed: the namespace has no sidecar injection.
    expect([...new Set(analysis.allowed.map((m) => m.code))]).toEqual(["IST0102"]);
    process.stdout.write(
      `istio check: ${validated.length} Serin writes in ${ns} validated (VirtualService generations 1..${vsGeneration}); analyze ${analysis.ms.toFixed(0)} ms, allowed ${analysis.allowed.map((m) => m.code).join(",")}\n`,
    );
  });
});
