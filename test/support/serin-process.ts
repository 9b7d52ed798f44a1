import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { freePort, type ManagedProcess, startProcess, waitFor } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";

export interface SerinProcess {
  metricsUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Compiles src/ into dist/ the way `npm run build` does, so tests run the shipped artifact. */
export function buildSerin(): void {
  execFileSync(
    process.execPath,
    [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(repoRoot, "tsconfig.build.json")],
    {
      stdio: "inherit",
    },
  );
}

/** Starts the built controller as its own process, authenticated as the serin ServiceAccount. */
export async function startSerin(opts: {
  kubeconfigPath: string;
  metricsServer: string;
  logDir: string;
  name?: string;
  extraArgs?: string[];
}): Promise<SerinProcess> {
  const port = await freePort();
  const proc = startProcess(
    opts.name ?? "serin",
    process.execPath,
    [
      join(repoRoot, "dist", "main.js"),
      `--kubeconfig=${opts.kubeconfigPath}`,
      `--metrics-server=${opts.metricsServer}`,
      `--listen-address=127.0.0.1:${port}`,
      "--log-level=debug",
      ...(opts.extraArgs ?? []),
    ],
    opts.logDir,
  );
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitFor("serin /readyz", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 60_000,
    process: proc,
  });
  return { metricsUrl, process: proc, stop: () => proc.stop() };
}
