// Which pods of the canary and the primary are reported as running without Istio's sidecar.
import type { V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { podSidecar, podsWithoutSidecar, sidecarSentence } from "../../../src/workload/sidecars.js";

const pod = (
  name: string,
  extra: { proxy?: boolean; annotations?: Record<string, string>; labels?: Record<string, string> } = {},
): V1Pod => ({
  metadata: {
    name,
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    ...(extra.labels ? { labels: extra.labels } : {}),
  },
  spec: { containers: [{ name: "app" }, ...(extra.proxy ? [{ name: "istio-proxy" }] : [])] },
});
const injected = { proxy: true, annotations: { "sidecar.istio.io/status": "{}" } };

describe("pods without the Istio sidecar", () => {
  it("an opted-out canary pod beside injected primary pods is reported, with the fix", () => {
    const pods = [
      podSidecar(pod("catalog-primary-a", injected), "catalog-primary"),
      podSidecar(pod("catalog-b", { labels: { "sidecar.istio.io/inject": "false" } }), "catalog"),
    ];
    const missing = podsWithoutSidecar(pods);
    expect(missing.map((p) => p.name)).toEqual(["catalog-b"]);
    expect(sidecarSentence(missing)).toMatch(
      /^pods without the Istio sidecar: catalog-b \(catalog, sidecar\.istio\.io\/inject: "false"\): .*remove sidecar\.istio\.io\/inject: "false" or enable injection/,
    );
  });

  it("a pod created before injection was enabled is reported when others have the sidecar", () => {
    const pods = [podSidecar(pod("a", injected), "catalog"), podSidecar(pod("b"), "catalog")];
    expect(podsWithoutSidecar(pods).map((p) => p.name)).toEqual(["b"]);
  });

  it("nothing is said where no pod has a sidecar and none opted out (ambient, or another mesh)", () => {
    const pods = [podSidecar(pod("a"), "catalog"), podSidecar(pod("b"), "catalog-primary")];
    expect(sidecarSentence(podsWithoutSidecar(pods))).toBeUndefined();
    const ambient = podSidecar(
      pod("c", { annotations: { "ambient.istio.io/redirection": "enabled" } }),
      "catalog",
    );
    expect(ambient.sidecar).toBe(true);
  });
});
