// Flagger side by side (FLAGGER_BIN): its CRDs and RBAC from the same Flagger module as the binary
// (github.com/fluxcd/flagger, v1.36.1 by default, from the Go module cache: `go mod download` fetches it
// through the module proxy when missing), its ServiceAccount's token in a kubeconfig of its own, and the
// binary outside the cluster with the Istio provider and the world's Prometheus.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Environment } from "../../test/env/environment.js";
import { freePort, type ManagedProcess, startProcess, waitFor } from "../../test/env/processes.js";

export const FLAGGER_MODULE = "github.com/fluxcd/flagger";
export const FLAGGER_VERSION = process.env.FLAGGER_VERSION ?? "v1.36.1";

/** The module's folder in the Go module cache, downloading it through the module proxy if needed. */
export function flaggerModuleDir(): string {
  const gomodcache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const dir = join(gomodcache, `${FLAGGER_MODULE}@${FLAGGER_VERSION}`);
  if (!existsSync(dir)) {
    execFileSync("go", ["mod", "download", `${FLAGGER_MODULE}@${FLAGGER_VERSION}`], {
      stdio: ["ignore", "ignore", "inherit"],
      cwd: "/",
    });
  }
  if (!existsSync(join(dir, "artifacts", "flagger", "crd.yaml")))
    throw new Error(`${dir}: no artifacts/flagger/crd.yaml`);
  return dir;
}

/** Flagger's CRDs (artifacts/flagger/crd.yaml) and RBAC (kustomize/base/flagger: account, ClusterRole). */
export async function installFlagger(env: Environment): Promise<{ kubeconfigPath: string }> {
  const dir = flaggerModuleDir();
  const k = (args: string[], input?: string) => env.cluster.kubectl(args, input);
  k(["apply", "--server-side", "-f", join(dir, "artifacts", "flagger", "crd.yaml")]);
  k(["wait", "--for=condition=Established", "--timeout=60s", "crd/canaries.flagger.app"]);
  k(["create", "namespace", "flagger-system"]);
  k([
    "apply",
    "-f",
    join(dir, "kustomize", "base", "flagger", "account.yaml"),
    "-f",
    join(dir, "kustomize", "base", "flagger", "rbac.yaml"),
  ]);
  let token = "";
  await waitFor(
    "token for flagger-system/flagger",
    async () => {
      token = k(["create", "token", "flagger", "-n", "flagger-system", "--duration=24h"]).trim();
      return token.length > 0;
    },
    { timeoutMs: 30_000 },
  );
  const kubeconfigPath = join(env.dir, "flagger.kubeconfig");
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "local",
          cluster: { server: env.cluster.server, "certificate-authority": env.cluster.pki.caCert },
        },
      ],
      users: [{ name: "flagger", user: { token } }],
      contexts: [{ name: "flagger", context: { cluster: "local", user: "flagger" } }],
      "current-context": "flagger",
    }),
  );
  return { kubeconfigPath };
}

export interface FlaggerProcess {
  process: ManagedProcess;
  pid: number;
  stop(): Promise<void>;
}

export async function startFlagger(opts: {
  binary: string;
  kubeconfigPath: string;
  metricsServer: string;
  logDir: string;
  extraArgs?: string[];
}): Promise<FlaggerProcess> {
  const port = await freePort();
  const proc = startProcess(
    "flagger",
    opts.binary,
    [
      `-kubeconfig=${opts.kubeconfigPath}`,
      "-mesh-provider=istio",
      `-metrics-server=${opts.metricsServer}`,
      `-port=${port}`,
      "-log-level=info",
      "-enable-leader-election=false",
      ...(opts.extraArgs ?? []),
    ],
    opts.logDir,
  );
  await waitFor("flagger /healthz", async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, {
    timeoutMs: 60_000,
    process: proc,
  });
  return { process: proc, pid: proc.pid, stop: () => proc.stop() };
}
