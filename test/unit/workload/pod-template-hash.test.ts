import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { canonicalJson, computeRevision, podTemplateHash } from "../../../src/workload/pod-template-hash.js";
import { catalogDeployment } from "./fixtures.js";

const templateOf = (d = catalogDeployment()) => {
  const template = d.spec?.template;
  if (template === undefined) throw new Error("fixture without template");
  return template;
};

describe("podTemplateHash", () => {
  it("is a short hex string, stable across calls", () => {
    const hash = podTemplateHash(templateOf());
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(podTemplateHash(templateOf())).toBe(hash);
  });

  it("changes when the image changes", () => {
    expect(podTemplateHash(templateOf(catalogDeployment({ image: "istioinaction/catalog:v2" })))).not.toBe(
      podTemplateHash(templateOf()),
    );
  });

  it("does not change when only replicas (outside the template) change", () => {
    expect(podTemplateHash(templateOf(catalogDeployment({ replicas: 7 })))).toBe(
      podTemplateHash(templateOf()),
    );
  });

  it("changes on a template annotation such as kubectl rollout restart", () => {
    const restarted = templateOf();
    restarted.metadata = {
      ...restarted.metadata,
      annotations: {
        ...restarted.metadata?.annotations,
        "kubectl.kubernetes.io/restartedAt": "2025-01-01T00:00:00Z",
      },
    };
    expect(podTemplateHash(restarted)).not.toBe(podTemplateHash(templateOf()));
  });

  it("ignores key order and absent/null/empty values (as the apiserver round-trips them)", () => {
    const a = {
      metadata: { labels: { app: "x", tier: "web" } },
      spec: { containers: [{ name: "c", image: "i" }] },
    };
    const b = {
      spec: { volumes: [], nodeSelector: {}, containers: [{ image: "i", name: "c", args: undefined }] },
      metadata: { annotations: null, labels: { tier: "web", app: "x" } },
    };
    expect(podTemplateHash(b as unknown as V1PodTemplateSpec)).toBe(podTemplateHash(a));
  });

  it("keeps order inside lists and distinguishes false/0 from absent", () => {
    const c1 = { name: "a" };
    const c2 = { name: "b" };
    expect(podTemplateHash({ spec: { containers: [c1, c2] } })).not.toBe(
      podTemplateHash({ spec: { containers: [c2, c1] } }),
    );
    expect(canonicalJson({ a: 0, b: false, c: "" })).toBe('{"a":0,"b":false,"c":""}');
    expect(canonicalJson({ when: new Date("2025-01-01T00:00:00Z") })).toBe(
      '{"when":"2025-01-01T00:00:00.000Z"}',
    );
  });
});

describe("computeRevision", () => {
  it("equals the template hash when no configs are tracked", () => {
    expect(computeRevision(templateOf())).toBe(podTemplateHash(templateOf()));
    expect(computeRevision(templateOf(), {})).toBe(podTemplateHash(templateOf()));
  });

  it("changes when a tracked config checksum changes, whatever the key order", () => {
    const base = computeRevision(templateOf(), { "configmap/catalog-env": "aaaa", "secret/db": "bbbb" });
    expect(computeRevision(templateOf(), { "secret/db": "bbbb", "configmap/catalog-env": "aaaa" })).toBe(
      base,
    );
    expect(computeRevision(templateOf(), { "configmap/catalog-env": "cccc", "secret/db": "bbbb" })).not.toBe(
      base,
    );
    expect(base).not.toBe(podTemplateHash(templateOf()));
  });
});
