import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The folder of the cached control-plane binaries, as scripts/testenv/versions.sh names it. */
export function binDir(): string {
  const script = join(repoRoot, "scripts", "testenv", "versions.sh");
  return execFileSync("bash", ["-c", `source "${script}" && printf %s "$BIN_DIR"`], { encoding: "utf8" });
}

export { repoRoot };
