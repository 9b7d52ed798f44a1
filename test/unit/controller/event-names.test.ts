import { describe, expect, it } from "vitest";
import type { DecisionRecord } from "../../../src/api/canary.js";
import { decisionEventName } from "../../../src/controller/reporter.js";

const record = (seq: number, time: string): DecisionRecord => ({
  seq,
  time,
  phase: "Progressing",
  canaryWeight: 10,
  reason: "r",
  events: [{ type: "Normal", reason: "Progressing", message: "m" }],
});

describe("decisionEventName", () => {
  it("is the same on every attempt, so an Event sent again after a crash is not duplicated", () => {
    const r = record(7, "2026-12-01T12:00:00.123Z");
    expect(decisionEventName("catalog", "0f3a9c1e-aaaa", r, 0)).toBe(
      decisionEventName("catalog", "0f3a9c1e-aaaa", r, 0),
    );
    expect(decisionEventName("catalog", "0f3a9c1e-aaaa", r, 0)).not.toBe(
      decisionEventName("catalog", "0f3a9c1e-aaaa", r, 1),
    );
  });

  it("lists in decision order by name (seq 9 before seq 10, within one second too)", () => {
    const nine = decisionEventName("catalog", "u", record(9, "2026-12-01T12:00:00.100Z"), 0);
    const ten = decisionEventName("catalog", "u", record(10, "2026-12-01T12:00:00.900Z"), 0);
    expect([ten, nine].sort()).toEqual([nine, ten]);
  });

  it("is a valid object name", () => {
    const name = decisionEventName("catalog-release", "0f3a9c1e-aaaa", record(1, "2026-12-01T12:00:00Z"), 0);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
  });
});
