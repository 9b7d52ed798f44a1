import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Cluster, startCluster } from "./cluster.js";
import { type Istiod, startIstiod } from "./istiod.js";
import { waitFor } from "./processes.js";
import { type PrometheusServer, startPrometheus } from "./prometheus.js";
import { repoRoot } from "./toolchain.js";

/** The whole local test world: a real cluster with Serin's, Istio's and the Gateway API's CRDs, Istio's control plane (istiod) and a real Prometheus. */
export interface Environment {
  cluster: Cluster;
  prometheus: PrometheusServer;
  /** Istio's real control plane on the cluster: serves the simulated sidecars' xDS (test/mesh/xds). */
  istiod: Istiod;
  /** kubeconfig of the `serin` ServiceAccount (deploy/rbac.yaml): Serin runs with its real RBAC */
  serinKubeconfigPath: string;
  dir: string;
  stop(): Promise<void>;
}

/** The Gateway API CRDs of test/fixtures/gateway-api/crds.yaml (scripts/testenv/gateway-api-crds.sh). */
export const GATEWAY_API_CRDS = [
  "gatewayclasses.gateway.networking.k8s.io",
  "gateways.gateway.networking.k8s.io",
  "httproutes.gateway.networking.k8s.io",
  "referencegrants.gateway.networking.k8s.io",
] as const;

export async function startEnvironment(options: { keepDir?: boolean } = {}): Promise<Environment> {
  const dir = mkdtempSync(join(tmpdir(), "serin-env-"));
  const cluster = await startCluster({ dir: join(dir, "cluster"), keepDir: true });
  let prometheus: PrometheusServer | undefined;
  let istiod: Istiod | undefined;
  try {
    cluster.kubectl(["apply", "--server-side", "-f", join(repoRoot, "crds")]);
    cluster.kubectl([
      "apply",
      "--server-side",
      "-f",
      join(repoRoot, "test", "fixtures", "istio", "crds.yaml"),
    ]);
    // The Gateway API's CRDs (at the version Istio requires) before istiod starts, so istiod watches
    // them from the first moment: it translates HTTPRoutes, also mesh ones (GAMMA), into sidecar routes.
    cluster.kubectl([
      "apply",
      "--server-side",
      "-f",
      join(repoRoot, "test", "fixtures", "gateway-api", "crds.yaml"),
    ]);
    for (const crd of [
      "canaries.serin.dev",
      "metrictemplates.serin.dev",
      "alertproviders.serin.dev",
      "virtualservices.networking.istio.io",
      "destinationrules.networking.istio.io",
      ...GATEWAY_API_CRDS,
    ]) {
      cluster.kubectl(["wait", "--for=condition=Established", "--timeout=60s", `crd/${crd}`]);
    }
    cluster.kubectl([
      "apply",
      "-f",
      join(repoRoot, "deploy", "namespace.yaml"),
      "-f",
      join(repoRoot, "deploy", "rbac.yaml"),
    ]);
    const serinKubeconfigPath = await serviceAccountKubeconfig(cluster, dir);
    const promDir = join(dir, "prometheus");
    mkdirSync(promDir, { recursive: true });
    // Both take a few seconds to become ready: start them side by side.
    const [istiodStart, promStart] = await Promise.allSettled([
      startIstiod({ kubeconfigPath: cluster.kubeconfigPath, dir: join(dir, "istiod") }),
      startPrometheus(promDir),
    ]);
    if (istiodStart.status === "fulfilled") istiod = istiodStart.value;
    if (promStart.status === "fulfilled") prometheus = promStart.value;
    if (istiodStart.status === "rejected") throw istiodStart.reason;
    if (promStart.status === "rejected") throw promStart.reason;
    const startedIstiod = istiodStart.value;
    const started = promStart.value;
    return {
      cluster,
      prometheus: started,
      istiod: startedIstiod,
      serinKubeconfigPath,
      dir,
      async stop() {
        await started.stop();
        await startedIstiod.stop();
        await cluster.stop();
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await prometheus?.stop();
    await istiod?.stop();
    await cluster.stop();
    throw err;
  }
}

async function serviceAccountKubeconfig(cluster: Cluster, dir: string): Promise<string> {
  let token = "";
  await waitFor(
    "token for serin-system/serin",
    async () => {
      token = cluster.kubectl(["create", "token", "serin", "-n", "serin-system", "--duration=24h"]).trim();
      return token.length > 0;
    },
    { timeoutMs: 30_000 },
  );
  const path = join(dir, "serin.kubeconfig");
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "local", cluster: { server: cluster.server, "certificate-authority": cluster.pki.caCert } },
      ],
      users: [{ name: "serin", user: { token } }],
      contexts: [{ name: "serin", context: { cluster: "local", user: "serin" } }],
      "current-context": "serin",
    }),
  );
  return path;
}
