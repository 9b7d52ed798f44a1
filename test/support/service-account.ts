import { writeFileSync } from "node:fs";
import type { Kubectl } from "./kube.js";

/**
 * A kubeconfig at `path` that authenticates as ServiceAccount `namespace/name` with a token of its own
 * (`kubectl create token`), on the admin kubeconfig's cluster: what a pod of that ServiceAccount gets
 * mounted, for a process that runs outside the cluster.
 */
export function serviceAccountKubeconfig(
  k: Kubectl,
  namespace: string,
  name: string,
  path: string,
  duration = "1h",
): string {
  const token = k.run(["create", "token", name, "-n", namespace, `--duration=${duration}`]).trim();
  const admin = k.json<{ clusters: Array<{ cluster: Record<string, unknown> }> }>([
    "config",
    "view",
    "--raw",
    "--minify",
  ]);
  const cluster = admin.clusters[0];
  if (cluster === undefined) throw new Error("the admin kubeconfig has no cluster");
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "local", cluster: cluster.cluster }],
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: "local", user: name, namespace } }],
      "current-context": name,
    }),
  );
  return path;
}
