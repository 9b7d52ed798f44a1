import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { BUNDLE_PATH, bundleSerin } from "../../scripts/bundle.js";
import { freePort, type ManagedProcess, startProcess, waitFor } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";

export interface SerinProcess {
  metricsUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Compiles src/ into dist/ and bundles dist/serin.mjs the way `npm run build` does, so tests run the
 * shipped artifact.
 */
export function buildSerin(): void {
  execFileSync(
    process.execPath,
    [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(repoRoot, "tsconfig.build.json")],
    {
      stdio: "inherit",
    },
  );
  bundleSerin();
}

/** What the container runs: the bundle (scripts/bundle.ts), as the Dockerfile's ENTRYPOINT does. */
export const SERIN_ENTRY = BUNDLE_PATH;

interface DeploymentManifest {
  spec?: { template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } } };
}

/**
 * The Node/V8 flags production runs with: NODE_OPTIONS of deploy/deployment.yaml, read from there so
 * tests and benches cannot drift from what is shipped.
 */
export function productionNodeOptions(): string[] {
  const value = productionContainerEnv().find((e) => e.name === "NODE_OPTIONS")?.value ?? "";
  return value.split(/\s+/).filter((flag) => flag !== "");
}

function productionContainerEnv(): Array<{ name: string; value?: string }> {
  const manifest = load(
    readFileSync(join(repoRoot, "deploy", "deployment.yaml"), "utf8"),
  ) as DeploymentManifest;
  return manifest.spec?.template?.spec?.containers?.[0]?.env ?? [];
}

/**
 * The other environment variables production sets with a literal value (deploy/deployment.yaml, e.g. the
 * allocator's settings), for the same reason: tests and benches run what is shipped.
 */
export function productionEnv(): Record<string, string> {
  const env = productionContainerEnv().filter((e) => e.name !== "NODE_OPTIONS" && e.value !== undefined);
  return Object.fromEntries(env.map((e) => [e.name, e.value ?? ""]));
}

/** Starts the built controller as its own process, authenticated as the serin ServiceAccount. */
export async function startSerin(opts: {
  kubeconfigPath: string;
  metricsServer: string;
  logDir: string;
  name?: string;
  extraArgs?: string[];
  /** Node flags; default: production's (productionNodeOptions) */
  nodeArgs?: string[];
  /** environment added to this process's; default: production's (productionEnv) */
  env?: Record<string, string>;
  /** the script to run; default: the bundle (SERIN_ENTRY) */
  entry?: string;
}): Promise<SerinProcess> {
  const port = await freePort();
  const proc = startProcess(
    opts.name ?? "serin",
    process.execPath,
    [
      ...(opts.nodeArgs ?? productionNodeOptions()),
      opts.entry ?? SERIN_ENTRY,
      `--kubeconfig=${opts.kubeconfigPath}`,
      `--metrics-server=${opts.metricsServer}`,
      `--listen-address=127.0.0.1:${port}`,
      "--log-level=debug",
      ...(opts.extraArgs ?? []),
    ],
    opts.logDir,
    opts.env ?? productionEnv(),
  );
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  await waitFor("serin /readyz", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok, {
    timeoutMs: 60_000,
    process: proc,
  });
  return { metricsUrl, process: proc, stop: () => proc.stop() };
}

/**
 * For an e2e test file: one Serin process for the file's tests, started before them and stopped after,
 * talking to the shared Prometheus unless `metricsServer` says otherwise.
 */
export function serinForFile(
  hooks: {
    beforeAll(fn: () => Promise<void>, timeout?: number): void;
    afterAll(fn: () => Promise<void>): void;
  },
  settings: { name: string; kubeconfigPath: string; metricsServer: string; logDir: string },
): { current(): SerinProcess | undefined } {
  let serin: SerinProcess | undefined;
  hooks.beforeAll(async () => {
    serin = await startSerin(settings);
  });
  hooks.afterAll(async () => {
    await serin?.stop();
  });
  return { current: () => serin };
}
