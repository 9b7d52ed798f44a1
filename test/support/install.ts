// Renders Serin's two installers the way a user does: `helm template|install charts/serin` with the helm
// built by scripts/testenv/build-helm.sh, and `kubectl kustomize deploy/` with the test world's kubectl.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAll } from "js-yaml";
import { kubectlPath } from "../env/cluster.js";
import { helmPath, repoRoot } from "../env/toolchain.js";

export const CHART_DIR = join(repoRoot, "charts", "serin");
export const DEPLOY_DIR = join(repoRoot, "deploy");

/** One rendered object; the fields the tests read. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

// Helm keeps caches and settings under $HOME by default; the tests keep theirs apart from the user's.
const helmHome = mkdtempSync(join(tmpdir(), "serin-helm-"));

/** Runs helm; a non-zero exit throws with helm's stderr (its message names the value at fault). */
export function helm(args: string[], kubeconfig?: string): string {
  try {
    return execFileSync(helmPath(), [...(kubeconfig ? [`--kubeconfig=${kubeconfig}`] : []), ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        // also where helm's Kubernetes client keeps its discovery cache (~/.kube/cache)
        HOME: helmHome,
        HELM_CACHE_HOME: join(helmHome, "cache"),
        HELM_CONFIG_HOME: join(helmHome, "config"),
        HELM_DATA_HOME: join(helmHome, "data"),
      },
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`helm ${args.join(" ")} failed: ${stderr.trim() || String(err)}`);
  }
}

/** `-f FILE` arguments for `values` (JSON is YAML), or none. */
export function valuesArgs(values: Record<string, unknown> | undefined): string[] {
  if (values === undefined) return [];
  const file = join(mkdtempSync(join(helmHome, "values-")), "values.yaml");
  writeFileSync(file, JSON.stringify(values));
  return ["-f", file];
}

/** `helm template RELEASE CHART -n NAMESPACE -f values` as text (with --include-crds when asked). */
export function helmTemplateText(opts: {
  release?: string;
  namespace?: string;
  chart?: string;
  values?: Record<string, unknown>;
  includeCrds?: boolean;
}): string {
  return helm([
    "template",
    opts.release ?? "serin",
    opts.chart ?? CHART_DIR,
    "--namespace",
    opts.namespace ?? "serin-system",
    ...(opts.includeCrds ? ["--include-crds"] : []),
    ...valuesArgs(opts.values),
  ]);
}

export function helmTemplate(opts: Parameters<typeof helmTemplateText>[0] = {}): Manifest[] {
  return parseManifests(helmTemplateText(opts));
}

/** `kubectl kustomize DIR`: what `kubectl apply -k DIR` would apply. */
export function kustomize(dir = DEPLOY_DIR): Manifest[] {
  return parseManifests(execFileSync(kubectlPath(), ["kustomize", dir], { encoding: "utf8" }));
}

export function parseManifests(text: string): Manifest[] {
  return loadAll(text).filter((doc): doc is Manifest => typeof doc === "object" && doc !== null);
}

/** The one object of `kind` (and `name`), or a failure that lists what was rendered. */
export function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) {
    const have = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(", ");
    throw new Error(`expected one ${kind}${name ? `/${name}` : ""}, found ${found.length} in: ${have}`);
  }
  return found[0] as Manifest;
}

/** The `serin` container of a rendered Deployment. */
export interface SerinContainer {
  image: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  resources?: Record<string, unknown>;
}

export function serinContainer(deployment: Manifest): SerinContainer {
  const spec = deployment.spec as {
    template: { spec: { containers: Array<SerinContainer & { name: string }> } };
  };
  const container = spec.template.spec.containers.find((c) => c.name === "serin");
  if (container === undefined) throw new Error(`${deployment.metadata.name} has no container serin`);
  return container;
}
