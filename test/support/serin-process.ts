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
 * The Node flags of the image's ENTRYPOINT (deploy/Dockerfile: `["node", FLAGS..., "dist/serin.mjs"]`):
 * the V8 flags Node refuses in NODE_OPTIONS.
 */
export function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(join(repoRoot, "deploy", "Dockerfile"), "utf8");
  const line = dockerfile.split("\n").find((l) => l.startsWith("ENTRYPOINT "));
  const entrypoint = JSON.parse(line?.slice("ENTRYPOINT ".length) ?? "[]") as string[];
  return entrypoint.slice(1, -1);
}

/**
 * The Node/V8 flags production runs with: the image's ENTRYPOINT flags and NODE_OPTIONS of
 * deploy/deployment.yaml, read from there so tests and benches cannot drift from what is shipped.
 */
export function productionNodeOptions(): string[] {
  const value = productionContainerEnv().find((e) => e.name === "NODE_OPTIONS")?.value ?? "";
  return [...imageNodeFlags(), ...value.split(/\s+/).filter((flag) => flag !== "")];
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
  return launch({
    name: opts.name ?? "serin",
    command: [...(opts.nodeArgs ?? productionNodeOptions()), opts.entry ?? SERIN_ENTRY],
    args: [
      `--kubeconfig=${opts.kubeconfigPath}`,
      `--metrics-server=${opts.metricsServer}`,
      "--log-level=debug",
      ...(opts.extraArgs ?? []),
    ],
    logDir: opts.logDir,
    env: { ...process.env, ...(opts.env ?? productionEnv()) },
  });
}

/** What a pod of an installed Serin Deployment would run: its container's args and env, its identity. */
export interface InstalledSerin {
  namespace: string;
  serviceAccountName: string;
  args: string[];
  env: Record<string, string>;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath?: string } };
}

/** The parts of a Deployment (as read back from the API server) that installedSerin reads. */
export interface SerinDeployment {
  metadata: { name: string; namespace?: string };
  spec: {
    template: {
      spec: {
        serviceAccountName?: string;
        containers: Array<{ name: string; command?: string[]; args?: string[]; env?: EnvVar[] }>;
      };
    };
  };
}

/**
 * Reads the container `serin` of an installed Deployment. It must run the image's entrypoint (no
 * `command`), like deploy/ and the chart; env values set from the pod's namespace are resolved the way
 * the kubelet would. Anything a local process cannot stand in for fails loudly instead of being dropped.
 */
export function installedSerin(deployment: SerinDeployment): InstalledSerin {
  const namespace = deployment.metadata.namespace ?? "default";
  const pod = deployment.spec.template.spec;
  const container = pod.containers.find((c) => c.name === "serin");
  if (container === undefined)
    throw new Error(`deployment ${deployment.metadata.name} has no container serin`);
  if (container.command !== undefined)
    throw new Error("the serin container overrides the image's entrypoint");
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.namespace") env[e.name] = namespace;
    else throw new Error(`env ${e.name}: only values and the pod's namespace can be resolved outside a pod`);
  }
  return {
    namespace,
    serviceAccountName: pod.serviceAccountName ?? "default",
    args: container.args ?? [],
    env,
  };
}

/**
 * Runs the bundle (the image's ENTRYPOINT, `node dist/serin.mjs`) with exactly the installed container's
 * args and env. Two flags stand in for what a pod gets from the cluster and a local process cannot:
 * --kubeconfig (the mounted ServiceAccount token; pass a kubeconfig of that ServiceAccount) and
 * --listen-address (the pod's own network namespace: a free loopback port instead of :8080).
 */
export async function startInstalledSerin(opts: {
  installed: InstalledSerin;
  kubeconfigPath: string;
  logDir: string;
  name: string;
}): Promise<SerinProcess> {
  for (const arg of opts.installed.args) {
    if (/^--(kubeconfig|listen-address)\b/.test(arg))
      throw new Error(`${arg}: the installed args set what the local stand-in must set`);
  }
  return launch({
    name: opts.name,
    // The image's ENTRYPOINT; NODE_OPTIONS comes with the installed env, read by node itself.
    command: [...imageNodeFlags(), SERIN_ENTRY],
    args: [...opts.installed.args, `--kubeconfig=${opts.kubeconfigPath}`],
    logDir: opts.logDir,
    // A pod's environment is its container's env, not the host's: PATH only, for Node itself.
    env: { PATH: process.env.PATH, ...opts.installed.env },
  });
}

/** Node on `command` + `args` and a free loopback port for /metrics, /readyz; resolves once ready. */
async function launch(opts: {
  name: string;
  command: string[];
  args: string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
}): Promise<SerinProcess> {
  const port = await freePort();
  const proc = startProcess(
    opts.name,
    process.execPath,
    [...opts.command, ...opts.args, `--listen-address=127.0.0.1:${port}`],
    opts.logDir,
    opts.env,
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
