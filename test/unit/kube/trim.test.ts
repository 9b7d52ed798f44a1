// The informer caches keep only what Serin reads (src/kube/trim.ts). Each test runs the code that reads
// a cached kind on the full object and on the trimmed one and requires the same answer, so a trim that
// drops a field some reader needs fails here. The readers, by `cache.<informer>.get/list` (grep):
//   deployments: observe.ts (revision, config refs, readiness, image), primary-deployment.ts (build,
//     promote), apply.ts (selector, ports, replicas), finalizer.ts (replicas, readiness, selector);
//   configMaps: config-refs.ts (tracking, checksum, primary copy), apply.ts ensureOwned (PUT back);
//   services: apply.ts (ownership, adoption, compare), finalizer.ts (original Service, ownership);
//   virtualServices/destinationRules: apply.ts ensureOwned (ownership, PUT back), finalizer.ts;
//   autoscalers: primary-hpa.ts, ensureOwned, controller.ts (generation vs status.observedGeneration);
//   all kinds: controller.ts/canary-index.ts (names, ownerReferences, generation, annotations); canaries: reconciler (schema, control requests,
//     target clash); metricTemplates/alertProviders: their schemas.
import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1ManagedFieldsEntry,
  V1Service,
  V2HorizontalPodAutoscaler,
} from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { AlertProviderSchema } from "../../../src/api/alert-provider.js";
import { type Canary, CanarySchema } from "../../../src/api/canary.js";
import { MetricTemplateSchema } from "../../../src/api/metric-template.js";
import { targetHeldBy } from "../../../src/controller/target-clash.js";
import { readRequest } from "../../../src/core/control.js";
import { trimList, trimmingCallback } from "../../../src/kube/informer.js";
import { controlledByCanary, LAST_APPLIED_ANNOTATION, plainJson, TRIM } from "../../../src/kube/trim.js";
import { adoptionPatch, readOriginal } from "../../../src/router/apex-adoption.js";
import { ownershipOf } from "../../../src/router/ownership.js";
import { buildServices } from "../../../src/router/services.js";
import {
  buildPrimaryConfig,
  checksumConfig,
  findTargetConfigRefs,
  isTracked,
} from "../../../src/workload/config-refs.js";
import { computeRevision } from "../../../src/workload/pod-template-hash.js";
import { buildPrimaryDeployment, promotePrimary } from "../../../src/workload/primary-deployment.js";
import { buildPrimaryHpa } from "../../../src/workload/primary-hpa.js";
import { deploymentReadiness } from "../../../src/workload/readiness.js";
import { catalogExample } from "../../fixtures/catalog-example.js";
import { catalogDeployment, podSpecWithEveryConfigSource } from "../workload/fixtures.js";

const MANAGED_FIELDS = [
  {
    manager: "kubectl-client-side-apply",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-12-01T10:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:metadata": { "f:labels": { "f:app": {} } }, "f:spec": { "f:replicas": {} } },
  },
  {
    manager: "kube-controller-manager",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-12-01T10:00:05Z",
    subresource: "status",
    fieldsType: "FieldsV1",
    fieldsV1: { "f:status": { "f:replicas": {} } },
  },
] as unknown as V1ManagedFieldsEntry[];

const canaryOwner = (uid = "canary-uid") => ({
  apiVersion: "serin.dev/v1beta1",
  kind: "Canary",
  name: "catalog-release",
  uid,
  controller: true,
  blockOwnerDeletion: true,
});

function canary(extra: { managedFields?: unknown[]; annotations?: Record<string, string> } = {}): Canary {
  const example = catalogExample("shop");
  return CanarySchema.parse({
    ...example,
    metadata: {
      ...example.metadata,
      uid: "canary-uid",
      resourceVersion: "77",
      generation: 3,
      creationTimestamp: "2026-12-01T09:00:00Z",
      finalizers: ["serin.dev/finalizer"],
      annotations: { [LAST_APPLIED_ANNOTATION]: JSON.stringify(example), ...extra.annotations },
      managedFields: extra.managedFields ?? MANAGED_FIELDS,
    },
    status: {
      phase: "Progressing",
      canaryWeight: 20,
      failedChecks: 1,
      lastTransitionTime: "2026-12-01T10:00:00Z",
      lastAppliedSpec: "abc",
    },
  });
}

/** The target as the API server sends it: managedFields, last-applied, a full status. */
function fullTarget(): V1Deployment {
  const dep = catalogDeployment();
  dep.metadata = {
    ...dep.metadata,
    generation: 4,
    creationTimestamp: "2026-11-30T10:00:00Z" as unknown as Date,
    managedFields: MANAGED_FIELDS,
    annotations: {
      ...dep.metadata?.annotations,
      [LAST_APPLIED_ANNOTATION]: JSON.stringify(dep),
      "serin.dev/config-tracking": "enabled",
    },
  };
  if (dep.spec?.template.spec)
    dep.spec.template.spec = { ...dep.spec.template.spec, ...podSpecWithEveryConfigSource() };
  dep.status = {
    observedGeneration: 4,
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    collisionCount: 1,
    conditions: [
      {
        type: "Progressing",
        status: "True",
        reason: "NewReplicaSetAvailable",
        lastUpdateTime: "2026-12-01T10:00:00Z" as unknown as Date,
        lastTransitionTime: "2026-12-01T09:00:00Z" as unknown as Date,
        message: "ReplicaSet has successfully progressed.",
      },
      { type: "Available", status: "True", reason: "MinimumReplicasAvailable" },
    ],
  };
  return dep;
}

const trimmed = <T>(trim: (o: KubernetesObject) => KubernetesObject, obj: T): T =>
  trim(obj as unknown as KubernetesObject) as unknown as T;

describe("trim: what is dropped", () => {
  it("drops managedFields, last-applied and unread Deployment status; keeps the rest of the object", () => {
    const full = fullTarget();
    const t = trimmed(TRIM.deployments, full);
    expect(t.metadata?.managedFields).toBeUndefined();
    expect(t.metadata?.annotations?.[LAST_APPLIED_ANNOTATION]).toBeUndefined();
    expect(t.metadata?.annotations?.["deployment.kubernetes.io/revision"]).toBe("3");
    expect((t.status as Record<string, unknown>).collisionCount).toBeUndefined();
    expect(t.spec).toEqual(full.spec);
    expect(t.metadata?.labels).toEqual(full.metadata?.labels);
    // the input is not modified
    expect(full.metadata?.managedFields).toBeDefined();
  });

  it("keeps only the metadata of Istio objects no Canary controls, and all but managedFields of owned ones", () => {
    const foreign = {
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "reviews", namespace: "shop", managedFields: MANAGED_FIELDS, resourceVersion: "9" },
      spec: { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews" } }] }] },
    };
    expect(trimmed(TRIM.istio, foreign)).toEqual({
      apiVersion: "networking.istio.io/v1beta1",
      kind: "VirtualService",
      metadata: { name: "reviews", namespace: "shop", resourceVersion: "9" },
    });
    const owned = {
      ...foreign,
      metadata: {
        ...foreign.metadata,
        ownerReferences: [canaryOwner()],
        annotations: { [LAST_APPLIED_ANNOTATION]: "{}", a: "b" },
      },
    };
    const t = trimmed(TRIM.istio, owned);
    expect(t.spec).toEqual(owned.spec);
    expect(t.metadata.annotations).toEqual(owned.metadata.annotations);
    expect(t.metadata).not.toHaveProperty("managedFields");
  });

  it("stores list items (typed models: Dates, undefined fields) as the same plain JSON a watch event gives", () => {
    class Meta {
      name = "catalog";
      namespace = "shop";
      creationTimestamp: Date | undefined = new Date("2026-11-30T10:00:00Z");
      deletionTimestamp: Date | undefined = undefined;
    }
    const typed = { metadata: new Meta(), spec: { replicas: 2, paused: undefined } };
    expect(plainJson(typed)).toEqual({
      metadata: { name: "catalog", namespace: "shop", creationTimestamp: "2026-11-30T10:00:00Z" },
      spec: { replicas: 2 },
    });
    expect(plainJson({ t: new Date("2026-11-30T10:00:00.250Z") })).toEqual({ t: "2026-11-30T10:00:00.250Z" });
  });

  it("controlledByCanary: a Serin Canary controller of any version, nothing else", () => {
    expect(controlledByCanary({ ownerReferences: [canaryOwner()] })).toBe(true);
    expect(controlledByCanary({ ownerReferences: [{ ...canaryOwner(), apiVersion: "serin.dev/v1" }] })).toBe(
      true,
    );
    expect(controlledByCanary({ ownerReferences: [{ ...canaryOwner(), controller: false }] })).toBe(false);
    expect(
      controlledByCanary({ ownerReferences: [{ ...canaryOwner(), apiVersion: "flagger.app/v1beta1" }] }),
    ).toBe(false);
    expect(controlledByCanary(undefined)).toBe(false);
  });
});

describe("trim: every reader gets the same answer from the trimmed object", () => {
  const now = new Date("2026-12-01T10:05:00Z");

  it("Deployments: revision, config refs, image, readiness, primary build and promotion", () => {
    const full = fullTarget();
    const t = trimmed(TRIM.deployments, full);
    const c = canary();
    expect(computeRevision(t.spec?.template ?? {})).toBe(computeRevision(full.spec?.template ?? {}));
    expect(findTargetConfigRefs(t)).toEqual(findTargetConfigRefs(full));
    expect(t.spec?.template.spec?.containers?.[0]?.image).toBe(
      full.spec?.template.spec?.containers?.[0]?.image,
    );
    for (const threshold of [50, 100]) {
      expect(deploymentReadiness(t, threshold, 60, now)).toEqual(
        deploymentReadiness(full, threshold, 60, now),
      );
    }
    const stuck = fullTarget();
    if (stuck.status?.conditions?.[0]) stuck.status.conditions[0].reason = "ProgressDeadlineExceeded";
    if (stuck.status) stuck.status.availableReplicas = 1;
    expect(deploymentReadiness(trimmed(TRIM.deployments, stuck), 100, 60, now)).toEqual(
      deploymentReadiness(stuck, 100, 60, now),
    );
    const opts = { includeLabelPrefix: ["*"], trackedConfigs: { "configmap/cm-env": "x" } };
    const primaryFull = buildPrimaryDeployment(full, c, opts);
    expect(buildPrimaryDeployment(t, c, opts)).toEqual(primaryFull);
    const primaryCached = {
      ...primaryFull,
      status: full.status,
      metadata: { ...primaryFull.metadata, managedFields: MANAGED_FIELDS },
    };
    // what Applier.promote sends: labels, annotations and the spec
    const promoted = (p: V1Deployment) => ({
      labels: p.metadata?.labels,
      annotations: p.metadata?.annotations,
      spec: p.spec,
    });
    expect(promoted(promotePrimary(trimmed(TRIM.deployments, primaryCached), t, c, opts))).toEqual(
      promoted(promotePrimary(primaryCached as V1Deployment, full, c, opts)),
    );
    expect(trimmed(TRIM.deployments, primaryCached).spec).toEqual(primaryFull.spec);
    expect(t.spec?.selector).toEqual(full.spec?.selector);
    expect(t.spec?.replicas).toBe(full.spec?.replicas);
  });

  it("ConfigMaps: tracking opt-out, checksum, the primary copy, and an owned copy written back whole", () => {
    const full: V1ConfigMap = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: "cm-env",
        namespace: "shop",
        labels: { app: "catalog" },
        annotations: { [LAST_APPLIED_ANNOTATION]: "{}", "serin.dev/config-tracking": "disabled" },
        managedFields: MANAGED_FIELDS,
      },
      data: { level: "debug" },
      binaryData: { blob: "AAEC" },
    };
    const t = trimmed(TRIM.configMaps, full);
    expect(isTracked({ kind: "configmap", object: t })).toBe(isTracked({ kind: "configmap", object: full }));
    expect(checksumConfig({ kind: "configmap", object: t })).toBe(
      checksumConfig({ kind: "configmap", object: full }),
    );
    expect(buildPrimaryConfig({ kind: "configmap", object: t }, canary(), ["*"])).toEqual(
      buildPrimaryConfig({ kind: "configmap", object: full }, canary(), ["*"]),
    );
    const copy = { ...full, metadata: { ...full.metadata, ownerReferences: [canaryOwner()] } };
    const { managedFields: _m, ...metaWithout } = copy.metadata;
    expect(trimmed(TRIM.configMaps, copy)).toEqual({ ...copy, metadata: metaWithout });
  });

  it("Services: ownership, adoption patch, the recorded original, ports and selector", () => {
    const c = canary();
    const desired = buildServices(c, { label: "app", value: "catalog" }).apex;
    const full: V1Service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: {
        name: "catalog",
        namespace: "shop",
        managedFields: MANAGED_FIELDS,
        annotations: {
          [LAST_APPLIED_ANNOTATION]: "{}",
          "serin.dev/original-service": JSON.stringify({ selector: { app: "catalog" }, ports: [] }),
        },
      },
      spec: {
        selector: { app: "catalog", tier: "web" },
        ports: [
          { name: "http", port: 80, targetPort: 3000 as unknown as never },
          { name: "grpc", port: 9090 },
        ],
        type: "LoadBalancer",
      },
      status: { loadBalancer: { ingress: [{ ip: "10.0.0.1" }] } },
    };
    const t = trimmed(TRIM.services, full);
    expect(t.status).toBeUndefined();
    expect(ownershipOf(t, c)).toEqual(ownershipOf(full, c));
    expect(adoptionPatch(t, desired)).toEqual(adoptionPatch(full, desired));
    expect(readOriginal(t)).toEqual(readOriginal(full));
    expect(t.spec).toEqual(full.spec);
    const owned = { ...full, metadata: { ...full.metadata, ownerReferences: [canaryOwner()] } };
    expect(ownershipOf(trimmed(TRIM.services, owned), c)).toEqual({ status: "owned" });
  });

  it("VirtualServices/DestinationRules: ownership of foreign, unowned, owned and orphaned objects", () => {
    const c = canary();
    const base = { apiVersion: "networking.istio.io/v1beta1", kind: "DestinationRule", spec: { host: "x" } };
    for (const ownerReferences of [
      undefined,
      [canaryOwner()],
      [canaryOwner("old-uid")],
      [{ apiVersion: "flagger.app/v1beta1", kind: "Canary", name: "x", uid: "f", controller: true }],
    ]) {
      const full = { ...base, metadata: { name: "catalog-primary", namespace: "shop", ownerReferences } };
      expect(ownershipOf(trimmed(TRIM.istio, full), c)).toEqual(ownershipOf(full, c));
    }
  });

  it("HPAs: the primary HPA built from a trimmed user HPA; an owned one keeps its status", () => {
    const full: V2HorizontalPodAutoscaler = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: {
        name: "catalog",
        namespace: "shop",
        labels: { app: "catalog" },
        managedFields: MANAGED_FIELDS,
      },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
        minReplicas: 2,
        maxReplicas: 4,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
          },
        ],
      },
      status: { observedGeneration: 3, currentReplicas: 2, desiredReplicas: 2 },
    };
    const c = canary();
    expect(buildPrimaryHpa(trimmed(TRIM.autoscalers, full), c, "catalog-primary")).toEqual(
      buildPrimaryHpa(full, c, "catalog-primary"),
    );
    // controller.ts: a status-only write is observedGeneration === generation
    expect(trimmed(TRIM.autoscalers, full).status).toEqual({ observedGeneration: 3 });
    const owned = { ...full, metadata: { ...full.metadata, ownerReferences: [canaryOwner()] } };
    expect(trimmed(TRIM.autoscalers, owned).status).toEqual(full.status);
  });

  it("Canaries: schema, spec, status, finalizers, creation time and the action request's write time", () => {
    const actionEntry = {
      manager: "kubectl-annotate",
      operation: "Update",
      apiVersion: "serin.dev/v1beta1",
      time: "2026-12-01T10:01:00Z",
      fieldsType: "FieldsV1",
      fieldsV1: { "f:metadata": { "f:annotations": { ".": {}, "f:serin.dev/action": {} } } },
    };
    const full = canary({
      managedFields: [...MANAGED_FIELDS, actionEntry],
      annotations: { "serin.dev/action": "promote" },
    });
    const t = trimmed(TRIM.canaries, full);
    expect(CanarySchema.parse(t)).toEqual(CanarySchema.parse({ ...full, metadata: { ...t.metadata } }));
    expect(t.spec).toEqual(full.spec);
    expect(t.status).toEqual(full.status);
    expect(t.metadata.annotations?.[LAST_APPLIED_ANNOTATION]).toBeUndefined();
    expect(t.metadata.finalizers).toEqual(full.metadata.finalizers);
    expect(t.metadata.generation).toBe(3);
    expect(t.metadata.uid).toBe("canary-uid");
    expect(t.metadata.resourceVersion).toBe("77");
    expect(readRequest(t.metadata, "rev1")).toEqual(readRequest(full.metadata, "rev1"));
    expect(readRequest(t.metadata, "rev1")?.id).toBe("promote@rev1@2026-12-01T10:01:00Z");
    const other = {
      ...catalogExample("shop"),
      metadata: { name: "b", creationTimestamp: "2026-12-01T09:30:00Z" },
    };
    expect(targetHeldBy(other, [t])?.metadata?.name).toBe("catalog-release");
    // no action entry: no managedFields at all
    expect(trimmed(TRIM.canaries, canary()).metadata).not.toHaveProperty("managedFields");
  });

  it("MetricTemplates and AlertProviders: their schemas parse the same", () => {
    const template = {
      apiVersion: "serin.dev/v1beta1",
      kind: "MetricTemplate",
      metadata: {
        name: "errors",
        namespace: "shop",
        managedFields: MANAGED_FIELDS,
        annotations: { [LAST_APPLIED_ANNOTATION]: "{}" },
      },
      spec: { provider: { type: "prometheus", address: "http://prometheus:9090" }, query: "sum(up)" },
    };
    const t = trimmed(TRIM.templates, template);
    const parsed = MetricTemplateSchema.safeParse(t);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.spec).toEqual(MetricTemplateSchema.parse(template).spec);
    const provider = {
      apiVersion: "serin.dev/v1beta1",
      kind: "AlertProvider",
      metadata: { name: "slack", namespace: "shop", managedFields: MANAGED_FIELDS },
      spec: { type: "slack", channel: "releases", address: "https://hooks.slack.example/x" },
    };
    expect(AlertProviderSchema.parse(trimmed(TRIM.templates, provider)).spec).toEqual(
      AlertProviderSchema.parse(provider).spec,
    );
  });
});

describe("informer wiring", () => {
  it("trims ADDED/MODIFIED/DELETED watch objects and passes ERROR/BOOKMARK through", () => {
    const seen: Array<[string, unknown]> = [];
    const cb = trimmingCallback(TRIM.services, (phase: string, obj: unknown) => seen.push([phase, obj]));
    const svc = { apiVersion: "v1", kind: "Service", metadata: { name: "a", managedFields: [] }, status: {} };
    for (const phase of ["ADDED", "MODIFIED", "DELETED"]) cb(phase, svc);
    const error = { code: 410, metadata: { managedFields: [] } };
    cb("ERROR", error);
    cb("BOOKMARK", { metadata: { resourceVersion: "5" } });
    for (const [, obj] of seen.slice(0, 3))
      expect(obj).toEqual({ apiVersion: "v1", kind: "Service", metadata: { name: "a" } });
    expect(seen[3]?.[1]).toBe(error);
    expect(seen[4]?.[1]).toEqual({ metadata: { resourceVersion: "5" } });
  });

  it("gives list items the informer's apiVersion/kind and trims them", () => {
    const list = {
      apiVersion: "v1",
      kind: "ServiceList",
      metadata: { resourceVersion: "12" },
      items: [{ metadata: { name: "a", namespace: "shop", managedFields: [] }, status: {} }],
    };
    const out = trimList(list, { apiVersion: "v1", kind: "Service", trim: TRIM.services });
    expect(out.metadata?.resourceVersion).toBe("12");
    expect(out.items).toEqual([
      { apiVersion: "v1", kind: "Service", metadata: { name: "a", namespace: "shop" } },
    ]);
    // typed models from client-node's list: Dates and undefined fields become the watch's plain JSON
    const typed = {
      metadata: { name: "b", creationTimestamp: new Date("2026-11-30T10:00:00Z"), uid: undefined },
      spec: { ports: [{ port: 80, name: undefined }] },
    };
    const [item] = trimList(
      { ...list, items: [typed as unknown as (typeof list.items)[number]] },
      { apiVersion: "v1", kind: "Service", trim: TRIM.services },
    ).items;
    expect(JSON.stringify(item)).toBe(
      JSON.stringify({
        metadata: { name: "b", creationTimestamp: "2026-11-30T10:00:00Z" },
        spec: { ports: [{ port: 80 }] },
        apiVersion: "v1",
        kind: "Service",
      }),
    );
  });
});
