// One real test world per `vitest --project e2e` run: cluster (kube-apiserver, etcd, controller-manager,
// scheduler, kwok), Serin's and Istio's CRDs, Prometheus, and the mesh simulator scraped by it.
import type { TestProject } from "vitest/node";
import { startEnvironment } from "../env/environment.js";
import { startMeshSimulator } from "../mesh/simulator.js";
import { buildSerin } from "../support/serin-process.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    serinKubeconfig: string;
    prometheusUrl: string;
    meshProxyUrl: string;
    meshMetricsUrl: string;
    envDir: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  buildSerin();
  const env = await startEnvironment({ keepDir: process.env.SERIN_KEEP_ENV === "1" });
  const mesh = await startMeshSimulator({ kubeconfigPath: env.cluster.kubeconfigPath });
  env.prometheus.setTargets("mesh", [new URL(mesh.metricsUrl).host]);
  project.provide("kubeconfig", env.cluster.kubeconfigPath);
  project.provide("serinKubeconfig", env.serinKubeconfigPath);
  project.provide("prometheusUrl", env.prometheus.url);
  project.provide("meshProxyUrl", mesh.proxyUrl);
  project.provide("meshMetricsUrl", mesh.metricsUrl);
  project.provide("envDir", env.dir);
  // The same facts as environment variables, for test files (and tools they spawn) that read those.
  Object.assign(process.env, {
    SERIN_KUBECONFIG: env.cluster.kubeconfigPath,
    SERIN_PROMETHEUS_URL: env.prometheus.url,
    SERIN_MESH_PROXY_URL: mesh.proxyUrl,
    SERIN_MESH_METRICS_URL: mesh.metricsUrl,
    SERIN_MESH_ADMIN_URL: mesh.adminUrl,
  });
  process.stdout.write(
    `e2e environment ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${env.dir})\n`,
  );
  return async () => {
    await mesh.stop();
    await env.stop();
  };
}
