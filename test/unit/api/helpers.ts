import { type Problem, validateCanary } from "../../../src/api/validate.js";
import { catalogExample } from "../../fixtures/catalog-example.js";

// A valid Serin Canary (the shipped "Istio in Action" catalog example) to derive invalid variants from.
export function catalogCanary(): Record<string, unknown> & {
  spec: Record<string, unknown> & { analysis: Record<string, unknown>; service: Record<string, unknown> };
} {
  return catalogExample();
}

/** A Canary manifest as the tests edit it. */
export type Canary = ReturnType<typeof catalogCanary>;

/** The problems validation finds in the catalog example after `edit` (none when it is valid). */
export function problemsOf(edit: (c: Canary) => void): Problem[] {
  const c = catalogCanary();
  edit(c);
  const r = validateCanary(c);
  return r.ok ? [] : r.problems;
}
