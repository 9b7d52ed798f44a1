// `kubectl serin` as a user runs it in the end-to-end tests: the built plugin (dist/cli/main.js) as its own
// process, and a kubeconfig for a user who may only look at Canaries (for the "forbidden" cases).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../env/toolchain.js";
import type { Kubectl } from "./kube.js";
import { serviceAccountKubeconfig } from "./service-account.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  kubeconfig: string;
  /** environment on top of this process's (without SERIN_PROMETHEUS_URL: a test sets it on purpose) */
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** `kubectl serin ARGS --kubeconfig PATH`, asynchronous: several releases are steered at once. */
export function runCli(args: string[], o: CliOptions): Promise<CliResult> {
  const started = Date.now();
  const { SERIN_PROMETHEUS_URL: _unset, ...base } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, "dist", "cli", "main.js"), ...args, "--kubeconfig", o.kubeconfig],
      { encoding: "utf8", timeout: o.timeoutMs ?? 60_000, env: { ...base, NO_COLOR: "1", ...o.env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/**
 * A kubeconfig (written under `dir`) for ServiceAccount `viewer` of `ns`, which may only look at Canaries
 * (get, list, watch): the admin kubeconfig's cluster, a token of its own.
 */
export function viewerKubeconfig(k: Kubectl, ns: string, dir: string): string {
  const role = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "Role",
    metadata: { name: "canary-viewer", namespace: ns },
    rules: [{ apiGroups: ["serin.dev"], resources: ["canaries"], verbs: ["get", "list", "watch"] }],
  };
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "canary-viewer", namespace: ns },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "canary-viewer" },
    subjects: [{ kind: "ServiceAccount", name: "viewer", namespace: ns }],
  };
  k.run(["create", "serviceaccount", "viewer", "-n", ns]);
  k.run(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [role, binding] }));
  return serviceAccountKubeconfig(k, ns, "viewer", join(dir, `viewer-${ns}.kubeconfig`));
}
