// Istio's real control plane in the test world: pilot-discovery (istiod) built from istio.io/istio by
// scripts/testenv/build-istio.sh, run on loopback against the test cluster. It watches Services, pods,
// EndpointSlices, VirtualServices and DestinationRules through the API server and serves plaintext xDS,
// so the mesh simulator's sidecars see exactly the Envoy configuration a real sidecar would get.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { distinctFreePorts, type ManagedProcess, startProcess, waitFor } from "./processes.js";
import { binDir as kubernetesBinDir, repoRoot } from "./toolchain.js";

export interface Istiod {
  /** Plaintext xDS (ADS, SotW and delta), "127.0.0.1:P". */
  readonly xdsAddress: string;
  /** istiod's HTTP port: /ready, /debug/configz, /debug/adsz, /debug/config_dump?proxyID=POD.NS ... */
  readonly debugUrl: string;
  /** Prometheus metrics (/metrics) and /version. */
  readonly monitoringUrl: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resident memory of the process now, in bytes (from /proc). */
  rssBytes(): number;
  /** SIGTERM, then SIGKILL after 8 s. */
  stop(): Promise<void>;
}

export interface IstiodOptions {
  kubeconfigPath: string;
  /** Where its log (istiod.log) goes. */
  dir: string;
  /** Folder with pilot-discovery; the cache folder of scripts/testenv/versions.sh by default. */
  binDir?: string;
  log?: (msg: string) => void;
  readyTimeoutMs?: number;
}

/** $ISTIO_BIN_DIR and $XDS_BRIDGE_BIN of scripts/testenv/versions.sh. */
export function istioBinaries(): { binDir: string; bridge: string } {
  const script = join(repoRoot, "scripts", "testenv", "versions.sh");
  const out = execFileSync(
    "bash",
    ["-c", `source "${script}" && printf '%s\\n%s' "$ISTIO_BIN_DIR" "$XDS_BRIDGE_BIN"`],
    {
      encoding: "utf8",
    },
  );
  const [binDir = "", bridge = ""] = out.split("\n");
  return { binDir, bridge };
}

export async function startIstiod(options: IstiodOptions): Promise<Istiod> {
  const started = Date.now();
  const binDir = options.binDir ?? istioBinaries().binDir;
  const binary = join(binDir, "pilot-discovery");
  if (!existsSync(binary)) {
    throw new Error(
      `istiod: ${binary} is missing; build it with scripts/testenv/build-istio.sh (or scripts/setup.sh)`,
    );
  }
  mkdirSync(options.dir, { recursive: true });
  // istiod keeps its leader-election Leases and its ConfigMaps (root cert, mesh defaults) in its namespace.
  const kubectl = join(kubernetesBinDir(), "kubectl");
  const namespace = execFileSync(
    kubectl,
    [
      "--kubeconfig",
      options.kubeconfigPath,
      "create",
      "namespace",
      "istio-system",
      "--dry-run=client",
      "-o",
      "yaml",
    ],
    { encoding: "utf8" },
  );
  execFileSync(kubectl, ["--kubeconfig", options.kubeconfigPath, "apply", "-f", "-"], {
    input: namespace,
    encoding: "utf8",
  });

  // A port picked free can be taken before istiod binds it: then istiod exits at once; try new ports.
  for (let attempt = 1; ; attempt++) {
    const [grpcPort = 0, httpPort = 0, monitoringPort = 0] = await distinctFreePorts(3);
    const proc = launch(binary, options, grpcPort, httpPort, monitoringPort);
    const debugUrl = `http://127.0.0.1:${httpPort}`;
    try {
      await waitFor(
        "istiod /ready",
        async () => (await fetch(`${debugUrl}/ready`, { signal: AbortSignal.timeout(2000) })).ok,
        { timeoutMs: options.readyTimeoutMs ?? 60_000, process: proc, intervalMs: 100 },
      );
    } catch (err) {
      const exitedEarly = proc.exited();
      await proc.stop();
      if (exitedEarly && attempt < 3) continue;
      throw err;
    }
    options.log?.(
      `istiod ready in ${((Date.now() - started) / 1000).toFixed(1)}s (xDS 127.0.0.1:${grpcPort}, log ${proc.logPath})`,
    );
    return {
      xdsAddress: `127.0.0.1:${grpcPort}`,
      debugUrl,
      monitoringUrl: `http://127.0.0.1:${monitoringPort}`,
      pid: proc.pid,
      logPath: proc.logPath,
      rssBytes: () => rssBytes(proc.pid),
      stop: () => proc.stop(),
    };
  }
}

function launch(
  binary: string,
  options: IstiodOptions,
  grpcPort: number,
  httpPort: number,
  monitoringPort: number,
): ManagedProcess {
  const env = {
    POD_NAMESPACE: "istio-system",
    POD_NAME: "istiod-serin-testenv",
    REVISION: "default",
    // No CA: the simulated sidecars use plaintext xDS and no mTLS certificates.
    ENABLE_CA_SERVER: "false",
    // No webhooks to patch: nothing is injected and istiod validates nothing here.
    INJECTION_WEBHOOK_CONFIG_NAME: "",
    VALIDATION_WEBHOOK_CONFIG_NAME: "",
    PILOT_ENABLE_CONFIG_DISTRIBUTION_TRACKING: "false",
    // One cluster, no remote secrets; istiod's default cluster ID is "Kubernetes".
    CLUSTER_ID: "Kubernetes",
    GOMAXPROCS: "2",
  };
  const args = [
    "discovery",
    `--kubeconfig=${options.kubeconfigPath}`,
    `--grpcAddr=127.0.0.1:${grpcPort}`,
    `--httpAddr=127.0.0.1:${httpPort}`,
    `--monitoringAddr=127.0.0.1:${monitoringPort}`,
    "--secureGRPCAddr=",
    "--httpsAddr=",
    "--ctrlz_port=0",
    // No mesh config file: istiod's built-in defaults (a file that does not exist means "defaults").
    "--meshConfig=/nonexistent",
    "--networksConfig=/nonexistent",
    "--domain=cluster.local",
    "--log_output_level=default:info",
  ];
  // `env` sets the variables and execs istiod in the same process (and process group).
  return startProcess(
    "istiod",
    "env",
    [...Object.entries(env).map(([k, v]) => `${k}=${v}`), binary, ...args],
    options.dir,
  );
}

function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}
