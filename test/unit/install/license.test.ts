// One licence everywhere it is declared: LICENSE, package.json and the chart's annotations; and the
// chart installs the version package.json says (appVersion is the default image tag).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../env/toolchain.js";

const read = (...path: string[]) => readFileSync(join(repoRoot, ...path), "utf8");
const pkg = JSON.parse(read("package.json")) as { license: string; version: string };
const chart = load(read("charts", "serin", "Chart.yaml")) as {
  appVersion: string;
  annotations: Record<string, string>;
};

describe("licence and version", () => {
  it("LICENSE is the Apache License 2.0 in full, as package.json declares", () => {
    expect(pkg.license).toBe("Apache-2.0");
    const text = read("LICENSE");
    expect(text).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    expect(text).toContain("TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION");
    expect(text).toContain("END OF TERMS AND CONDITIONS");
    expect(text).toContain("APPENDIX: How to apply the Apache License to your work.");
  });

  it("the chart declares the same licence and ships the package's version", () => {
    expect(chart.annotations["artifacthub.io/license"]).toBe(pkg.license);
    expect(chart.annotations.licenses).toBe(pkg.license);
    expect(chart.appVersion).toBe(pkg.version);
  });

  it("deploy/ runs the image of the package's version", () => {
    expect(read("deploy", "deployment.yaml")).toContain(`image: ghcr.io/serin-dev/serin:${pkg.version}\n`);
  });
});
