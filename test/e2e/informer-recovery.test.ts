// Serin's informers survive an API that is not there yet: started before a CRD exists (as when Serin
// is installed before Istio), they keep retrying their first list and sync once it appears.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, inject, it } from "vitest";
import { connect } from "../../src/kube/client.js";
import { ResilientInformer } from "../../src/kube/informer.js";
import { sleep } from "../env/processes.js";
import { Kubectl } from "../support/kube.js";

const k = new Kubectl(inject("kubeconfig"));

const crd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.recovery.serin.dev" },
  spec: {
    group: "recovery.serin.dev",
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      },
    ],
  },
};

describe("informer recovery", () => {
  it("syncs once a missing API appears, then delivers its objects", async () => {
    const clients = connect(inject("kubeconfig"));
    const informer = new ResilientInformer<KubernetesObject>(
      clients,
      {
        name: "widgets",
        apiVersion: "recovery.serin.dev/v1",
        kind: "Widget",
        path: "/apis/recovery.serin.dev/v1/widgets",
      },
      pino({ level: "silent" }),
    );
    const seen: string[] = [];
    informer.onChange((obj) => seen.push(obj.metadata?.name ?? ""));
    let synced = false;
    const started = informer.start().then(() => {
      synced = true;
    });
    await sleep(2_000);
    expect(synced).toBe(false); // no API yet: still retrying, not pretending to be synced

    k.run(["apply", "-f", "-"], JSON.stringify(crd));
    k.run(["wait", "--for=condition=Established", "--timeout=30s", "crd/widgets.recovery.serin.dev"]);
    await Promise.race([started, sleep(40_000)]);
    expect(synced).toBe(true);

    const ns = k.createNamespace("widgets");
    k.run(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "recovery.serin.dev/v1",
        kind: "Widget",
        metadata: { name: "w1", namespace: ns },
      }),
    );
    for (let i = 0; i < 40 && !seen.includes("w1"); i++) await sleep(250);
    expect(seen).toContain("w1");
    expect(informer.get("w1", ns)?.metadata?.name).toBe("w1");
    await informer.stop();
    k.run(["delete", "crd", "widgets.recovery.serin.dev", "--wait=false"]);
  });
});
