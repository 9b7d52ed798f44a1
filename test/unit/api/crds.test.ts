// crds/*.yaml (and its copies in deploy/crds and charts/serin/crds) must be exactly what the generator
// writes from the current schemas, and structural.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { canaryCrd } from "../../../src/crd/canary-crd.js";
import { structuralViolations, toStructuralSchema } from "../../../src/crd/openapi.js";
import { allCrds, CRD_OUTPUT_DIRS, GENERATED_HEADER, renderCrdYaml } from "../../../src/crd/render.js";

const repoRoot = join(import.meta.dirname, "..", "..", "..");

describe("crds/, deploy/crds/ and charts/serin/crds/ are up to date", () => {
  const cases = CRD_OUTPUT_DIRS.flatMap((dir) => allCrds().map((c) => [`${dir}/${c.file}`, c] as const));
  it.each(cases)("%s matches npm run gen:crds", (path, { crd }) => {
    let onDisk: string;
    try {
      onDisk = readFileSync(join(repoRoot, path), "utf8");
    } catch {
      return expect.fail(`${path} is missing: run npm run gen:crds`);
    }
    expect(onDisk.startsWith(GENERATED_HEADER)).toBe(true);
    // A mismatch means the zod schema changed without regenerating: run `npm run gen:crds`.
    expect(onDisk, `${path} is stale: run npm run gen:crds`).toBe(renderCrdYaml(crd));
    expect(load(onDisk)).toStrictEqual(crd);
  });
});

/** Walks every schema node with its path. */
function* nodes(node: unknown, at = ""): Generator<[string, Record<string, unknown>]> {
  if (typeof node !== "object" || node === null) return;
  const n = node as Record<string, unknown>;
  yield [at, n];
  if (typeof n.properties === "object" && n.properties !== null) {
    for (const [k, v] of Object.entries(n.properties)) yield* nodes(v, `${at}.${k}`);
  }
  if (typeof n.additionalProperties === "object") yield* nodes(n.additionalProperties, `${at}.*`);
  if (n.items !== undefined) yield* nodes(n.items, `${at}[]`);
}

describe("generated schemas are structural", () => {
  for (const { file, crd } of allCrds()) {
    const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
    it(`${file}: every node has a type or an x-kubernetes marker; no $ref, anyOf or properties+additionalProperties`, () => {
      expect(structuralViolations(schema)).toEqual([]);
      let count = 0;
      for (const [at, n] of nodes(schema)) {
        count++;
        const marked =
          n["x-kubernetes-int-or-string"] === true || n["x-kubernetes-preserve-unknown-fields"] === true;
        expect(typeof n.type === "string" || marked, `${at} has no type`).toBe(true);
        for (const bad of [
          "$ref",
          "$defs",
          "definitions",
          "anyOf",
          "oneOf",
          "allOf",
          "uniqueItems",
          "prefixItems",
        ]) {
          expect(bad in n, `${at} has ${bad}`).toBe(false);
        }
        expect(
          "properties" in n && "additionalProperties" in n,
          `${at}: properties + additionalProperties`,
        ).toBe(false);
        if (n.type === "integer") expect(["int32", "int64"], `${at}: integer format`).toContain(n.format);
      }
      expect(count).toBeGreaterThan(3);
    });
  }

  it("metadata is left to the apiserver", () => {
    expect(canaryCrd().spec.versions[0]?.schema.openAPIV3Schema.properties).toMatchObject({
      metadata: { type: "object" },
    });
  });

  it("maps zod shapes onto Kubernetes extensions", () => {
    const s = toStructuralSchema(
      z.strictObject({
        port: z.union([z.int32(), z.string()]),
        count: z.int().min(1),
        small: z.int32(),
        loose: z.looseObject({ a: z.string().optional() }),
        anything: z.unknown(),
        labels: z.record(z.string(), z.string()),
      }),
    );
    expect(s).toStrictEqual({
      type: "object",
      properties: {
        port: { "x-kubernetes-int-or-string": true },
        count: { type: "integer", minimum: 1, format: "int64" },
        small: { type: "integer", format: "int32" },
        loose: {
          type: "object",
          properties: { a: { type: "string" } },
          "x-kubernetes-preserve-unknown-fields": true,
        },
        anything: { "x-kubernetes-preserve-unknown-fields": true },
        labels: { type: "object", additionalProperties: { type: "string" } },
      },
      required: ["port", "count", "small", "loose", "anything", "labels"],
    });
  });

  it("refuses what a CRD cannot express", () => {
    expect(() => toStructuralSchema(z.object({ a: z.union([z.string(), z.boolean()]) }))).toThrow(
      /not structural/,
    );
    expect(() => toStructuralSchema(z.object({ a: z.tuple([z.string(), z.boolean()]) }))).toThrow(
      /not structural/,
    );
    expect(() => toStructuralSchema(z.object({ a: z.string().regex(/^(?!x)/) }))).toThrow(/RE2/);
  });
});

describe("Canary CRD", () => {
  const crd = canaryCrd();
  const version = crd.spec.versions[0];

  it("is named like Flagger's, in serin.dev", () => {
    expect(crd.metadata.name).toBe("canaries.serin.dev");
    expect(crd.spec.scope).toBe("Namespaced");
    expect(crd.spec.names).toStrictEqual({
      kind: "Canary",
      listKind: "CanaryList",
      plural: "canaries",
      singular: "canary",
      shortNames: ["canary"],
      categories: ["all"],
    });
    expect(version?.name).toBe("v1beta1");
    expect(version?.served && version.storage).toBe(true);
    expect(version?.subresources).toStrictEqual({ status: {} });
  });

  it("has Flagger's printer columns, then Serin's harm count in -o wide", () => {
    expect(
      version?.additionalPrinterColumns?.map((c) => [c.name, c.jsonPath, c.priority ?? 0]),
    ).toStrictEqual([
      ["Status", ".status.phase", 0],
      ["Weight", ".status.canaryWeight", 0],
      ["Suspended", ".spec.suspend", 1],
      ["FailedChecks", ".status.failedChecks", 1],
      ["Interval", ".spec.analysis.interval", 1],
      ["Mirror", ".spec.analysis.mirror", 1],
      ["StepWeight", ".spec.analysis.stepWeight", 1],
      ["StepWeights", ".spec.analysis.stepWeights", 1],
      ["MaxWeight", ".spec.analysis.maxWeight", 1],
      ["LastTransitionTime", ".status.lastTransitionTime", 0],
      ["Served", ".status.run.canary.requests", 1],
      ["Failed", ".status.run.canary.errors", 1],
    ]);
  });

  it("types targetPort as int-or-string and keeps unknown Istio fields", () => {
    const spec = version?.schema.openAPIV3Schema.properties as Record<
      string,
      { properties: Record<string, Record<string, unknown>> }
    >;
    const service = spec.spec?.properties.service as { properties: Record<string, Record<string, unknown>> };
    expect(service.properties.targetPort).toMatchObject({ "x-kubernetes-int-or-string": true });
    expect(service.properties.trafficPolicy).toMatchObject({ "x-kubernetes-preserve-unknown-fields": true });
    expect(service.properties.retries).toMatchObject({ "x-kubernetes-preserve-unknown-fields": true });
  });
});
