// Small Deployments for the workload builders: the catalog app of the reference scenario, with
// every kind of ConfigMap/Secret reference a pod spec can make.
import type { V1Deployment, V1PodSpec } from "@kubernetes/client-node";

export function catalogDeployment(overrides: { replicas?: number; image?: string } = {}): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "catalog",
      namespace: "istioinaction",
      labels: {
        app: "catalog",
        "app.kubernetes.io/part-of": "shop",
        "kustomize.toolkit.fluxcd.io/name": "apps",
      },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": '{"kind":"Deployment"}',
        "deployment.kubernetes.io/revision": "3",
        "app.kubernetes.io/owner": "team-catalog",
      },
      uid: "dep-uid",
      resourceVersion: "1234",
    },
    spec: {
      replicas: overrides.replicas ?? 2,
      progressDeadlineSeconds: 120,
      revisionHistoryLimit: 5,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      selector: { matchLabels: { app: "catalog" } },
      template: {
        metadata: {
          labels: { app: "catalog", version: "v1" },
          annotations: { "prometheus.io/scrape": "true" },
        },
        spec: {
          containers: [
            {
              name: "catalog",
              image: overrides.image ?? "istioinaction/catalog:v1",
              ports: [{ name: "http", containerPort: 3000 }],
              envFrom: [{ configMapRef: { name: "catalog-env" } }],
            },
          ],
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 100,
                  podAffinityTerm: {
                    topologyKey: "kubernetes.io/hostname",
                    labelSelector: {
                      matchExpressions: [{ key: "app", operator: "In", values: ["catalog"] }],
                    },
                  },
                },
              ],
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: { app: "catalog" } },
            },
          ],
        },
      },
    },
  };
}

/** A pod spec referencing configs from every source Flagger's tracker scans. */
export function podSpecWithEveryConfigSource(): V1PodSpec {
  return {
    volumes: [
      { name: "cm-vol", configMap: { name: "cm-volume" } },
      { name: "secret-vol", secret: { secretName: "secret-volume" } },
      {
        name: "projected",
        projected: {
          sources: [
            { configMap: { name: "cm-projected" } },
            { secret: { name: "secret-projected", optional: true } },
            { serviceAccountToken: { path: "token" } },
          ],
        },
      },
      { name: "scratch", emptyDir: {} },
    ],
    initContainers: [
      {
        name: "migrate",
        env: [
          {
            name: "DB_URL",
            valueFrom: { secretKeyRef: { name: "secret-init-env", key: "url", optional: false } },
          },
        ],
        envFrom: [{ configMapRef: { name: "cm-init-envfrom" } }],
      },
    ],
    containers: [
      {
        name: "app",
        env: [
          { name: "LEVEL", valueFrom: { configMapKeyRef: { name: "cm-env", key: "level" } } },
          { name: "TOKEN", valueFrom: { secretKeyRef: { name: "secret-env", key: "token" } } },
          { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          { name: "PLAIN", value: "x" },
        ],
        envFrom: [
          { secretRef: { name: "secret-envfrom" } },
          { configMapRef: { name: "cm-envfrom", optional: true } },
        ],
      },
    ],
    imagePullSecrets: [{ name: "registry" }],
  };
}
