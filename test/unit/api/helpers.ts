import { catalogExample } from "../../fixtures/catalog-example.js";

// A valid Serin Canary (the shipped "Istio in Action" catalog example) to derive invalid variants from.
export function catalogCanary(): Record<string, unknown> & {
  spec: Record<string, unknown> & { analysis: Record<string, unknown>; service: Record<string, unknown> };
} {
  return catalogExample();
}
