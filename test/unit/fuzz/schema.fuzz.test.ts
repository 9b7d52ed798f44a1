// Issue 6, bad input: the zod schema (what Serin validates) and the generated CRD schema in crds/ (what
// kube-apiserver enforces at `kubectl apply`) agree on generated objects: Serin never accepts a spec the
// apiserver would refuse, and the two structural schemas accept and refuse the same objects.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import { AlertProviderSchema } from "../../../src/api/alert-provider.js";
import { CanarySchema } from "../../../src/api/canary.js";
import { MetricTemplateSchema } from "../../../src/api/metric-template.js";
import { validateAlertProvider, validateCanary, validateMetricTemplate } from "../../../src/api/validate.js";
import {
  extremeCanaryArb,
  type Mutant,
  mutatedAlertProviderArb,
  mutatedCanaryArb,
  mutatedMetricTemplateArb,
} from "../../support/fuzz-canary.js";
import { crdSchema, validateAgainstSchema } from "../../support/fuzz-crd-schema.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);

interface Kind {
  name: string;
  file: string;
  zod: z.ZodType;
  validate: (obj: unknown) => { ok: boolean };
  arbs: Array<[string, fc.Arbitrary<Mutant>]>;
}

const KINDS: Kind[] = [
  {
    name: "Canary",
    file: "serin.dev_canaries.yaml",
    zod: CanarySchema,
    validate: validateCanary,
    arbs: [
      ["mutated", mutatedCanaryArb()],
      ["extreme", extremeCanaryArb()],
    ],
  },
  {
    name: "MetricTemplate",
    file: "serin.dev_metrictemplates.yaml",
    zod: MetricTemplateSchema,
    validate: validateMetricTemplate,
    arbs: [["mutated", mutatedMetricTemplateArb()]],
  },
  {
    name: "AlertProvider",
    file: "serin.dev_alertproviders.yaml",
    zod: AlertProviderSchema,
    validate: validateAlertProvider,
    arbs: [["mutated", mutatedAlertProviderArb()]],
  },
];

describe("fuzz: zod schema, CRD schema and validation agree", () => {
  for (const kind of KINDS) {
    const schema = crdSchema(kind.file);
    for (const [label, arb] of kind.arbs) {
      it(`${kind.name} (${label}): everything validation accepts, the CRD schema accepts`, () => {
        let accepted = 0;
        fc.assert(
          fc.property(arb, (m) => {
            if (!kind.validate(m.obj).ok) return;
            accepted++;
            const crd = validateAgainstSchema(m.obj, schema);
            expect(
              crd.errors,
              `accepted by Serin, refused by crds/${kind.file}: ${m.mutations.join(", ")}`,
            ).toEqual([]);
          }),
          { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
        );
        process.stdout.write(
          `[fuzz] ${kind.name}/${label} validation => CRD: seed ${SEED}, ${accepted} accepted\n`,
        );
      });

      it(`${kind.name} (${label}): the zod schema and the CRD schema accept the same objects`, () => {
        const counts = { both: 0, neither: 0, exempt: 0 };
        fc.assert(
          fc.property(arb, (m) => {
            // metadata is the apiserver's own (names are checked by it, not by the CRD schema).
            if (m.mutations.some((x) => x.includes(" metadata"))) return;
            const parsed = kind.zod.safeParse(m.obj);
            const crd = validateAgainstSchema(m.obj, schema);
            const crdOk = crd.errors.length === 0;
            // Known and accepted: a structural schema cannot bound an int-or-string, so targetPort 0 or
            // 70000 is stored and then reported by Serin (InvalidSpec naming spec.service.targetPort).
            const onlyTargetPort =
              !parsed.success &&
              parsed.error.issues.every((i) => i.path.join(".") === "spec.service.targetPort");
            if (crdOk && onlyTargetPort) {
              counts.exempt++;
              return;
            }
            const zodOk = parsed.success;
            expect(
              { zodOk, crdOk, crdErrors: crd.errors },
              `schemas disagree on ${m.base}: ${m.mutations.join(", ")}`,
            ).toEqual({ zodOk: crdOk, crdOk, crdErrors: crd.errors });
            if (zodOk) counts.both++;
            else counts.neither++;
          }),
          { seed: SEED, numRuns: Math.ceil(RUNS / 2) },
        );
        process.stdout.write(
          `[fuzz] ${kind.name}/${label} zod <=> CRD: seed ${SEED}, ${counts.both} accepted by both, ${counts.neither} refused by both, ${counts.exempt} targetPort out of range (stored, then InvalidSpec)\n`,
        );
      });
    }
  }
});
