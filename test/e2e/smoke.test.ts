// The ground the rest stands on: pods become Ready without a kubelet (kwok), and a VirtualService's
// weights show up, through the mesh simulator, as the same split in Prometheus.
import { afterAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { runLoad } from "../mesh/load.js";
import { Kubectl, promQuery } from "../support/kube.js";

const k = new Kubectl(inject("kubeconfig"));
const namespaces: string[] = [];
afterAll(() => {
  for (const ns of namespaces) k.run(["delete", "namespace", ns, "--wait=false"]);
});

function deployment(name: string, version: string): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "hello", version } },
      template: {
        metadata: { labels: { app: "hello", version } },
        spec: {
          containers: [
            { name: "hello", image: `example/hello:${version}`, ports: [{ containerPort: 8080 }] },
          ],
        },
      },
    },
  });
}

describe("local test cluster", () => {
  it("runs a Deployment's pods to Ready on kwok nodes", () => {
    const ns = k.createNamespace("smoke");
    namespaces.push(ns);
    k.run(["apply", "-n", ns, "-f", "-"], deployment("hello-v1", "v1"));
    k.run(["rollout", "status", "-n", ns, "deployment/hello-v1", "--timeout=60s"]);
    const pods = k.json<{
      items: Array<{
        spec: { nodeName: string };
        status: { conditions: Array<{ type: string; status: string }> };
      }>;
    }>(["get", "pods", "-n", ns, "-l", "app=hello"]).items;
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.spec.nodeName).toMatch(/^kwok-node-/);
      expect(pod.status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");
    }
  });

  it("splits traffic 80/20 by VirtualService weights, as Prometheus sees it with PromQL", async () => {
    const ns = k.createNamespace("split");
    namespaces.push(ns);
    k.run(["apply", "-n", ns, "-f", "-"], deployment("hello-v1", "v1"));
    k.run(["apply", "-n", ns, "-f", "-"], deployment("hello-v2", "v2"));
    // The port is named for its protocol, as Istio asks (istioctl analyze IST0118 otherwise).
    k.run(
      ["apply", "-n", ns, "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "hello" },
        spec: { selector: { app: "hello" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
      }),
    );
    const mesh = (kind: string, spec: unknown) =>
      k.run(
        ["apply", "-n", ns, "-f", "-"],
        JSON.stringify({
          apiVersion: "networking.istio.io/v1beta1",
          kind,
          metadata: { name: "hello" },
          spec,
        }),
      );
    mesh("DestinationRule", {
      host: "hello",
      subsets: [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" } },
      ],
    });
    mesh("VirtualService", {
      hosts: ["hello"],
      http: [
        {
          route: [
            { destination: { host: "hello", subset: "v1" }, weight: 80 },
            { destination: { host: "hello", subset: "v2" }, weight: 20 },
          ],
        },
      ],
    });
    k.run(["rollout", "status", "-n", ns, "deployment/hello-v1", "deployment/hello-v2", "--timeout=60s"]);
    await sleep(2_000); // the simulator's watch sees the VirtualService

    const requests = 2_000;
    const load = await runLoad({
      proxyUrl: inject("meshProxyUrl"),
      host: `hello.${ns}`,
      qps: 100,
      maxRequests: requests,
      durationMs: 60_000,
    });
    expect(load.byStatus["200"]).toBe(requests);
    await sleep(3_000); // two scrapes

    const total = (workload: string) =>
      promQuery(
        inject("prometheusUrl"),
        `sum(istio_requests_total{reporter="destination",destination_workload_namespace="${ns}",destination_workload="${workload}"})`,
      );
    const v1 = (await total("hello-v1")) ?? 0;
    const v2 = (await total("hello-v2")) ?? 0;
    expect(v1 + v2).toBe(requests);
    // Binomial sd of the share at n=2000 is ~0.9%; 4 sd of tolerance keeps this from flaking.
    expect(v2 / requests).toBeGreaterThan(0.2 - 0.036);
    expect(v2 / requests).toBeLessThan(0.2 + 0.036);
    process.stdout.write(`80/20 VirtualService -> Prometheus saw ${v1}/${v2} of ${requests}\n`);
  });
});
