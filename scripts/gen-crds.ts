// npm run gen:crds — writes crds/*.yaml from the zod schemas in src/api (the single source of truth),
// and the same files into the kustomize base (deploy/crds) and the Helm chart (charts/serin/crds).
// Fails, writing nothing, if a schema cannot be expressed as a structural CRD schema.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { structuralViolations } from "../src/crd/openapi.js";
import { allCrds, CRD_OUTPUT_DIRS, renderCrdYaml } from "../src/crd/render.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const rendered = allCrds().map(({ file, crd }) => {
  for (const version of crd.spec.versions) {
    const violations = structuralViolations(version.schema.openAPIV3Schema);
    if (violations.length > 0)
      throw new Error(`${file}: schema is not structural:\n${violations.join("\n")}`);
  }
  return { file, text: renderCrdYaml(crd) };
});
for (const dir of CRD_OUTPUT_DIRS) {
  mkdirSync(join(root, dir), { recursive: true });
  for (const { file, text } of rendered) {
    writeFileSync(join(root, dir, file), text);
    console.log(`wrote ${dir}/${file}`);
  }
}
