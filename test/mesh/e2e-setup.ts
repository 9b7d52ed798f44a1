// What the e2e global setup calls: Istio CRDs in, simulator up (all namespaces), registered with
// Prometheus through a file_sd file, and the env vars the tests read.
import { KubeConfig } from "@kubernetes/client-node";
import { ensureIstioCrds } from "./istio-crds.js";
import { scrapeTarget, waitForPrometheusTarget } from "./prometheus.js";
import { type MeshSimulator, startMeshSimulator } from "./simulator.js";

export interface MeshE2EOptions {
  kubeconfigPath: string;
  /**
   * The test Prometheus (test/env/prometheus.ts fits): the simulator registers itself as job
   * `istio-mesh` and waits until Prometheus reports the target up.
   */
  prometheus?: { url: string; setTargets(job: string, targets: string[]): void };
  /** Skip creating the Istio CRDs (if the environment installs its own). */
  skipCrds?: boolean;
}

export interface MeshE2E {
  mesh: MeshSimulator;
  /** SERIN_MESH_PROXY_URL, SERIN_MESH_METRICS_URL, SERIN_MESH_ADMIN_URL. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function setupMeshForE2E(o: MeshE2EOptions): Promise<MeshE2E> {
  if (!o.skipCrds) {
    const kc = new KubeConfig();
    kc.loadFromFile(o.kubeconfigPath);
    await ensureIstioCrds(kc);
  }
  const mesh = await startMeshSimulator({ kubeconfigPath: o.kubeconfigPath });
  try {
    if (o.prometheus) {
      o.prometheus.setTargets("istio-mesh", [scrapeTarget(mesh.metricsUrl)]);
      await waitForPrometheusTarget(o.prometheus.url, mesh.metricsUrl);
    }
  } catch (err) {
    await mesh.stop();
    throw err;
  }
  return {
    mesh,
    env: {
      SERIN_MESH_PROXY_URL: mesh.proxyUrl,
      SERIN_MESH_METRICS_URL: mesh.metricsUrl,
      SERIN_MESH_ADMIN_URL: mesh.adminUrl,
    },
    stop: () => mesh.stop(),
  };
}
