import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The folder of the cached control-plane binaries, as scripts/testenv/versions.sh names it. */
export function binDir(): string {
  const script = join(repoRoot, "scripts", "testenv", "versions.sh");
  return execFileSync("bash", ["-c", `source "${script}" && printf %s "$BIN_DIR"`], { encoding: "utf8" });
}

/** The helm binary scripts/testenv/build-helm.sh built from the helm.sh/helm/v3 module (HELM_BIN_DIR). */
export function helmPath(): string {
  const script = join(repoRoot, "scripts", "testenv", "versions.sh");
  const dir = execFileSync("bash", ["-c", `source "${script}" && printf %s "$HELM_BIN_DIR"`], {
    encoding: "utf8",
  });
  const helm = join(dir, "helm");
  if (!existsSync(helm)) throw new Error(`${helm} is missing: run bash scripts/setup.sh`);
  return helm;
}

export { repoRoot };
