// What the container starts with must start: Node refuses some V8 flags in NODE_OPTIONS (e.g.
// --optimize-for-size) and exits before Serin runs. The e2e tests pass flags on the command line, where
// every flag is allowed, so only a check of the shipped NODE_OPTIONS itself catches that.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { helmTemplate, kustomize, only, serinContainer } from "../../support/install.js";
import { imageNodeFlags } from "../../support/serin-process.js";

function nodeOptionsOf(manifests: ReturnType<typeof kustomize>): string {
  const env = serinContainer(only(manifests, "Deployment")).env ?? [];
  return env.find((e) => e.name === "NODE_OPTIONS")?.value ?? "";
}

function startsWith(nodeOptions: string, argv: string[] = []): { status: number | null; stderr: string } {
  const run = spawnSync(process.execPath, [...argv, "-e", "0"], {
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    encoding: "utf8",
  });
  return { status: run.status, stderr: run.stderr };
}

describe("the shipped Node flags", () => {
  it("node starts with deploy/'s and the chart's NODE_OPTIONS and the image's ENTRYPOINT flags", () => {
    const flags = imageNodeFlags();
    expect(flags).toContain("--optimize-for-size");
    for (const options of [nodeOptionsOf(kustomize()), nodeOptionsOf(helmTemplate({}))]) {
      expect(options).toContain("--max-semi-space-size=1");
      expect(startsWith(options, flags)).toEqual({ status: 0, stderr: "" });
    }
  });

  it("a flag Node refuses in NODE_OPTIONS is caught by this check", () => {
    const refused = startsWith("--optimize-for-size");
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/not allowed in NODE_OPTIONS/);
  });
});
