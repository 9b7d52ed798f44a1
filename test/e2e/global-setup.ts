// One real test world per `vitest --project e2e` run: cluster (kube-apiserver, etcd, controller-manager,
// scheduler, kwok), Serin's and Istio's CRDs, Prometheus, and the mesh simulator scraped by it.
import type { TestProject } from "vitest/node";
import { startEnvironment } from "../env/environment.js";
import { startWorldAdmin } from "../env/world-admin.js";
import { startMeshSimulator } from "../mesh/simulator.js";
import { startIstioCheckForRun } from "../support/istio-validator.js";
import { buildSerin } from "../support/serin-process.js";

declare module "vitest" {
  export interface ProvidedContext {
    kubeconfig: string;
    serinKubeconfig: string;
    prometheusUrl: string;
    meshProxyUrl: string;
    meshMetricsUrl: string;
    envDir: string;
    /** Fault injection: stop/start kube-apiserver and Prometheus (test/env/world-admin.ts). */
    worldAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  buildSerin();
  const env = await startEnvironment({ keepDir: process.env.SERIN_KEEP_ENV === "1" });
  // A failed start must not leave the world's processes behind.
  const mesh = await startMeshSimulator({
    kubeconfigPath: env.cluster.kubeconfigPath,
    xdsAddress: env.istiod.xdsAddress,
  }).catch(async (err: unknown) => {
    await env.stop();
    throw err;
  });
  // One target per shard of the sidecars' metrics, as Prometheus scrapes one /metrics per pod in Istio.
  env.prometheus.setTargets("mesh", mesh.metricsTargets());
  const admin = await startWorldAdmin(env, (msg) => process.stdout.write(`${msg}\n`)).catch(
    async (err: unknown) => {
      await mesh.stop();
      await env.stop();
      throw err;
    },
  );
  // Istio's referee: istioctl validate on every Serin write, istioctl analyze after each test
  // (test/support/istio-validator.ts; test/e2e/istio-check.setup.ts fails tests on its findings).
  const istio = await startIstioCheckForRun(env.cluster.kubeconfigPath, (msg) =>
    process.stdout.write(`${msg}\n`),
  ).catch(async (err: unknown) => {
    await admin.close();
    await mesh.stop();
    await env.stop();
    throw err;
  });
  project.provide("istioCheckUrl", istio?.url ?? "");
  project.provide("kubeconfig", env.cluster.kubeconfigPath);
  project.provide("serinKubeconfig", env.serinKubeconfigPath);
  project.provide("prometheusUrl", env.prometheus.url);
  project.provide("meshProxyUrl", mesh.proxyUrl);
  project.provide("meshMetricsUrl", mesh.metricsUrl);
  project.provide("envDir", env.dir);
  project.provide("worldAdminUrl", admin.url);
  // The same facts as environment variables, for test files (and tools they spawn) that read those.
  Object.assign(process.env, {
    SERIN_KUBECONFIG: env.cluster.kubeconfigPath,
    SERIN_PROMETHEUS_URL: env.prometheus.url,
    SERIN_MESH_PROXY_URL: mesh.proxyUrl,
    SERIN_MESH_METRICS_URL: mesh.metricsUrl,
    SERIN_MESH_ADMIN_URL: mesh.adminUrl,
    SERIN_ISTIOD_XDS: env.istiod.xdsAddress,
    SERIN_WORLD_ADMIN_URL: admin.url,
  });
  process.stdout.write(
    `e2e environment ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${env.dir})\n`,
  );
  return async () => {
    await istio?.close();
    await admin.close();
    await mesh.stop();
    await env.stop();
  };
}
