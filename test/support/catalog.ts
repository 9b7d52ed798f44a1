import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../env/toolchain.js";
import { type LoadRun, startLoad } from "../mesh/load.js";
import type { Kubectl } from "./kube.js";

/**
 * The catalog example as shipped, applied to a namespace. Tests may shorten the analysis interval —
 * through the Canary spec only, the way a user would — so that a run takes about a minute.
 */
export function applyCatalog(
  k: Kubectl,
  namespace: string,
  overrides: { interval?: string; threshold?: number; beforeCanary?: () => void } = {},
): void {
  const dir = join(repoRoot, "examples", "catalog");
  k.run(["apply", "-n", namespace, "-f", join(dir, "deployment.yaml"), "-f", join(dir, "service.yaml")]);
  overrides.beforeCanary?.();
  let canary = readFileSync(join(dir, "canary.yaml"), "utf8");
  if (overrides.interval) canary = canary.replace("interval: 45s", `interval: ${overrides.interval}`);
  if (overrides.threshold !== undefined)
    canary = canary.replace("threshold: 5", `threshold: ${overrides.threshold}`);
  k.run(["apply", "-n", namespace, "-f", "-"], canary);
}

/** Steady traffic from the webapp (labels app=webapp) to catalog, as in the book's scenario. */
export function webappTraffic(proxyUrl: string, namespace: string, qps = 20, durationMs = 600_000): LoadRun {
  return startLoad({
    proxyUrl,
    host: `catalog.${namespace}`,
    qps,
    durationMs,
    source: { workload: "webapp", namespace, labels: { app: "webapp" } },
  });
}

/** The first container's image, or "" while the Deployment does not exist. */
export function image(k: Kubectl, namespace: string, deployment: string): string {
  return k.run([
    "get",
    "deployment",
    deployment,
    "-n",
    namespace,
    "-o",
    "jsonpath={.spec.template.spec.containers[0].image}",
    "--ignore-not-found",
  ]);
}

export function replicas(k: Kubectl, namespace: string, deployment: string): number {
  return Number(k.run(["get", "deployment", deployment, "-n", namespace, "-o", "jsonpath={.spec.replicas}"]));
}

/** [primary weight, canary weight] of every route of the VirtualService. */
export function routeWeights(k: Kubectl, namespace: string, name: string): Array<[number, number]> {
  const vs = k.json<{
    spec: { http: Array<{ route: Array<{ destination: { host: string }; weight?: number }> }> };
  }>(["get", "virtualservice", name, "-n", namespace]);
  return vs.spec.http.map((r) => {
    const w = (suffix: string) => {
      const d = r.route.find((x) => x.destination.host.endsWith(suffix));
      return d === undefined ? 0 : r.route.length === 1 ? 100 : (d.weight ?? 0);
    };
    return [w("-primary"), w("-canary")];
  });
}
