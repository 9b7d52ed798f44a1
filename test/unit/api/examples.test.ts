// Every shipped example is something Serin accepts as it is: a user copying one gets a working object.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { describe, expect, it } from "vitest";
import { formatProblems, validateCanary, validateMetricTemplate } from "../../../src/api/validate.js";

const root = join(import.meta.dirname, "..", "..", "..", "examples");

function documents(): Array<{ file: string; doc: { kind?: string } }> {
  const out: Array<{ file: string; doc: { kind?: string } }> = [];
  for (const dir of readdirSync(root)) {
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith(".yaml"))) {
      for (const doc of yaml.loadAll(readFileSync(join(root, dir, file), "utf8"))) {
        if (doc && typeof doc === "object")
          out.push({ file: `${dir}/${file}`, doc: doc as { kind?: string } });
      }
    }
  }
  return out;
}

describe("examples/", () => {
  const docs = documents();
  it("has Canaries and a MetricTemplate to check", () => {
    expect(docs.filter((d) => d.doc.kind === "Canary").length).toBeGreaterThanOrEqual(2);
    expect(docs.some((d) => d.doc.kind === "MetricTemplate")).toBe(true);
  });
  for (const { file, doc } of docs) {
    if (doc.kind === "Canary") {
      it(`${file}: the Canary is valid`, () => {
        const r = validateCanary({ metadata: { name: "example", namespace: "default" }, ...doc });
        expect(r.ok ? "" : formatProblems(r.problems)).toBe("");
      });
    }
    if (doc.kind === "MetricTemplate") {
      it(`${file}: the MetricTemplate is valid`, () => {
        const r = validateMetricTemplate({ metadata: { name: "example", namespace: "default" }, ...doc });
        expect(r.ok ? "" : formatProblems(r.problems)).toBe("");
      });
    }
  }
});
