// Which VirtualService/DestinationRule writes the e2e suite's Istio referee attributes to Serin
// (test/support/istio-validator.ts): the newest spec write by managedFields time, ties included.
import type { KubernetesObject, V1ManagedFieldsEntry } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { isSerinWrite, lastWriters } from "../support/istio-validator.js";

const obj = (entries: Array<{ manager: string; time: string; subresource?: string }>): KubernetesObject => ({
  metadata: {
    name: "catalog",
    managedFields: entries.map(
      (e) => ({ ...e, operation: "Update", fieldsType: "FieldsV1" }) as unknown as V1ManagedFieldsEntry,
    ),
  },
});

describe("last writer of a routing object", () => {
  it("is the manager of the newest entry", () => {
    const o = obj([
      { manager: "serin", time: "2026-12-01T10:00:00Z" },
      { manager: "kubectl-edit", time: "2026-12-01T10:00:05Z" },
    ]);
    expect(lastWriters(o)).toEqual(["kubectl-edit"]);
    expect(isSerinWrite(o)).toBe(false);
  });

  it("counts a tie within the same second as Serin's", () => {
    const o = obj([
      { manager: "kubectl-patch", time: "2026-12-01T10:00:05Z" },
      { manager: "serin", time: "2026-12-01T10:00:05Z" },
    ]);
    expect(isSerinWrite(o)).toBe(true);
  });

  it("ignores subresource entries (a status write does not change the spec)", () => {
    const o = obj([
      { manager: "serin", time: "2026-12-01T10:00:00Z" },
      { manager: "pilot-discovery", time: "2026-12-01T10:00:09Z", subresource: "status" },
    ]);
    expect(isSerinWrite(o)).toBe(true);
  });

  it("is nobody without managedFields", () => {
    expect(isSerinWrite({ metadata: { name: "x" } })).toBe(false);
  });
});
