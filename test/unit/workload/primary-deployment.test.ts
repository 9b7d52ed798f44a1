import { describe, expect, it } from "vitest";
import { computeRevision } from "../../../src/workload/pod-template-hash.js";
import {
  buildPrimaryDeployment,
  PRIMARY_REVISION_ANNOTATION,
  primaryName,
  promotePrimary,
  WorkloadError,
} from "../../../src/workload/primary-deployment.js";
import { catalogCanary } from "../router/fixtures.js";
import { catalogDeployment } from "./fixtures.js";

const canary = catalogCanary();

describe("buildPrimaryDeployment", () => {
  const target = catalogDeployment();
  const primary = buildPrimaryDeployment(target, canary);

  it("is named <target>-primary and owned by the Canary", () => {
    expect(primaryName(target)).toBe("catalog-primary");
    expect(primary.metadata?.name).toBe("catalog-primary");
    expect(primary.metadata?.namespace).toBe("istioinaction");
    expect(primary.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        apiVersion: "serin.dev/v1beta1",
        kind: "Canary",
        controller: true,
        uid: "uid-catalog-1",
      }),
    ]);
    expect(primary.metadata?.resourceVersion).toBeUndefined();
    expect(primary.metadata?.uid).toBeUndefined();
  });

  it("rewrites the selector label value to <value>-primary in selector and pod labels", () => {
    expect(primary.spec?.selector).toEqual({ matchLabels: { app: "catalog-primary" } });
    expect(primary.spec?.template.metadata?.labels).toEqual({ app: "catalog-primary", version: "v1" });
    expect(primary.metadata?.labels).toEqual({ app: "catalog-primary" });
  });

  it("copies metadata by prefix only, never last-applied-configuration or Flux bookkeeping", () => {
    const all = buildPrimaryDeployment(target, canary, { includeLabelPrefix: ["*"] });
    expect(all.metadata?.labels).toEqual({ app: "catalog-primary", "app.kubernetes.io/part-of": "shop" });
    expect(all.metadata?.annotations).toEqual({
      "app.kubernetes.io/owner": "team-catalog",
      "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
    });
    expect(primary.metadata?.annotations).toEqual({ "kustomize.toolkit.fluxcd.io/reconcile": "disabled" });
  });

  it("copies the pod spec and rollout settings, starting at the target's replicas", () => {
    expect(primary.spec?.template.spec?.containers[0]?.image).toBe("istioinaction/catalog:v1");
    expect(primary.spec?.replicas).toBe(2);
    expect(primary.spec?.progressDeadlineSeconds).toBe(120);
    expect(primary.spec?.revisionHistoryLimit).toBe(5);
    expect(primary.spec?.strategy).toEqual(target.spec?.strategy);
    expect(primary.spec?.template.metadata?.annotations?.["prometheus.io/scrape"]).toBe("true");
    expect(buildPrimaryDeployment(catalogDeployment({ replicas: 0 }), canary).spec?.replicas).toBe(1);
  });

  it("makes anti-affinity and topology spread select primary pods", () => {
    const spec = primary.spec?.template.spec;
    const term = spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0];
    expect(term?.podAffinityTerm.labelSelector?.matchExpressions?.[0]?.values).toEqual(["catalog-primary"]);
    expect(spec?.topologySpreadConstraints?.[0]?.labelSelector?.matchLabels).toEqual({
      app: "catalog-primary",
    });
    // the target is untouched
    expect(target.spec?.template.spec?.topologySpreadConstraints?.[0]?.labelSelector?.matchLabels).toEqual({
      app: "catalog",
    });
  });

  it("points tracked ConfigMaps/Secrets at their -primary copies", () => {
    const tracked = { "configmap/catalog-env": "0123456789abcdef" };
    const withConfigs = buildPrimaryDeployment(target, canary, { trackedConfigs: tracked });
    expect(withConfigs.spec?.template.spec?.containers[0]?.envFrom).toEqual([
      { configMapRef: { name: "catalog-env-primary" } },
    ]);
    expect(primary.spec?.template.spec?.containers[0]?.envFrom).toEqual([
      { configMapRef: { name: "catalog-env" } },
    ]);
  });

  it("stamps the revision on the pod template so config-only changes roll the primary", () => {
    const template = target.spec?.template;
    if (template === undefined) throw new Error("fixture");
    const a = buildPrimaryDeployment(target, canary, { trackedConfigs: { "configmap/catalog-env": "aaaa" } });
    const b = buildPrimaryDeployment(target, canary, { trackedConfigs: { "configmap/catalog-env": "bbbb" } });
    expect(a.spec?.template.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION]).toBe(
      computeRevision(template, { "configmap/catalog-env": "aaaa" }),
    );
    expect(a.spec?.template.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION]).not.toBe(
      b.spec?.template.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION],
    );
  });

  it("uses a non-app selector label when that is what the target has", () => {
    const target2 = catalogDeployment();
    if (target2.spec) target2.spec.selector = { matchLabels: { "app.kubernetes.io/name": "catalog" } };
    const p = buildPrimaryDeployment(target2, canary);
    expect(p.spec?.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "catalog-primary" });
    expect(p.spec?.template.metadata?.labels?.["app.kubernetes.io/name"]).toBe("catalog-primary");
  });

  it("refuses a target without a known selector label", () => {
    const bad = catalogDeployment();
    if (bad.spec) bad.spec.selector = { matchLabels: { tier: "web" } };
    expect(() => buildPrimaryDeployment(bad, canary)).toThrow(WorkloadError);
    expect(() => buildPrimaryDeployment(bad, canary, { selectorLabels: ["tier"] })).not.toThrow();
  });
});

describe("promotePrimary", () => {
  const existing = {
    ...buildPrimaryDeployment(catalogDeployment(), canary),
    metadata: {
      ...buildPrimaryDeployment(catalogDeployment(), canary).metadata,
      resourceVersion: "42",
      uid: "p-uid",
    },
  };

  it("takes the target's new template and keeps the primary's identity", () => {
    const target = catalogDeployment({ image: "istioinaction/catalog:v2", replicas: 4 });
    const promoted = promotePrimary(existing, target, canary);
    expect(promoted.spec?.template.spec?.containers[0]?.image).toBe("istioinaction/catalog:v2");
    expect(promoted.spec?.template.metadata?.labels?.app).toBe("catalog-primary");
    expect(promoted.spec?.selector).toEqual({ matchLabels: { app: "catalog-primary" } });
    expect(promoted.metadata?.resourceVersion).toBe("42");
    expect(promoted.metadata?.uid).toBe("p-uid");
    expect(promoted.spec?.replicas).toBe(4);
    expect(existing.spec?.template.spec?.containers[0]?.image).toBe("istioinaction/catalog:v1");
  });

  it("leaves replicas to the autoscaler when autoscalerRef is set", () => {
    const withHpa = catalogCanary({
      spec: {
        autoscalerRef: { apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", name: "catalog" },
      },
    });
    const promoted = promotePrimary(existing, catalogDeployment({ replicas: 9 }), withHpa);
    expect(promoted.spec?.replicas).toBe(2);
  });

  it("never scales the primary to zero from a scaled-down target", () => {
    expect(promotePrimary(existing, catalogDeployment({ replicas: 0 }), canary).spec?.replicas).toBe(2);
  });

  it("changes the revision annotation when the template changes", () => {
    const v2 = promotePrimary(existing, catalogDeployment({ image: "istioinaction/catalog:v2" }), canary);
    expect(v2.spec?.template.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION]).not.toBe(
      existing.spec?.template.metadata?.annotations?.[PRIMARY_REVISION_ANNOTATION],
    );
  });
});

describe("promotePrimary metadata", () => {
  it("keeps the primary's own rollout revision and drops the target's", () => {
    const primary = buildPrimaryDeployment(catalogDeployment(), catalogCanary());
    primary.metadata = {
      ...primary.metadata,
      annotations: { ...primary.metadata?.annotations, "deployment.kubernetes.io/revision": "7" },
    };
    const promoted = promotePrimary(primary, catalogDeployment(), catalogCanary(), {
      includeLabelPrefix: ["*"],
    });
    expect(promoted.metadata?.annotations).toEqual({
      "app.kubernetes.io/owner": "team-catalog",
      "kustomize.toolkit.fluxcd.io/reconcile": "disabled",
      "deployment.kubernetes.io/revision": "7",
    });
  });
});

describe("primary label values", () => {
  it("a target whose selector value would be too long with -primary is a WorkloadError naming the fix", () => {
    const target = catalogDeployment();
    const value = "x".repeat(60);
    if (target.spec) {
      target.spec.selector = { matchLabels: { app: value } };
    }
    expect(() => buildPrimaryDeployment(target, catalogCanary())).toThrow(WorkloadError);
    expect(() => buildPrimaryDeployment(target, catalogCanary())).toThrow(/-primary/);
  });
});
