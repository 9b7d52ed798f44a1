// The mesh simulator in a process of its own (test/mesh/main.ts), not in the bench's: its CPU (and its
// backends', children of it) is then measurable apart from the bench's watch and the load generator,
// and none of them slows the others' event loops.
import { join } from "node:path";
import { freePort, type ManagedProcess, startProcess, waitFor } from "../../test/env/processes.js";
import type { ScrapeTarget } from "../../test/env/prometheus.js";
import { repoRoot } from "../../test/env/toolchain.js";

export interface MeshProcess {
  proxyUrl: string;
  adminUrl: string;
  pid: number;
  process: ManagedProcess;
  metricsTargets(): Promise<ScrapeTarget[]>;
  stop(): Promise<void>;
}

export async function startMeshProcess(opts: {
  kubeconfigPath: string;
  xdsAddress: string;
  logDir: string;
}): Promise<MeshProcess> {
  const [proxyPort, metricsPort] = [await freePort(), await freePort()];
  const proc = startProcess(
    "mesh-simulator",
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "test", "mesh", "main.ts"),
      `--xds=${opts.xdsAddress}`,
      `--kubeconfig=${opts.kubeconfigPath}`,
      `--proxy-port=${proxyPort}`,
      `--metrics-port=${metricsPort}`,
    ],
    opts.logDir,
  );
  const adminUrl = `http://127.0.0.1:${metricsPort}`;
  await waitFor("mesh simulator /healthz", async () => (await fetch(`${adminUrl}/healthz`)).ok, {
    timeoutMs: 90_000,
    process: proc,
  });
  return {
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    adminUrl,
    pid: proc.pid,
    process: proc,
    async metricsTargets() {
      const res = await fetch(`${adminUrl}/debug/metrics-targets`);
      return (await res.json()) as ScrapeTarget[];
    },
    stop: () => proc.stop(),
  };
}
