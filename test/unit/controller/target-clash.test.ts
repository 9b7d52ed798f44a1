import { describe, expect, it } from "vitest";
import { targetHeldBy } from "../../../src/controller/target-clash.js";

const canary = (name: string, target: string, created: string) => ({
  metadata: { name, creationTimestamp: created },
  spec: { targetRef: { name: target } },
});

describe("targetHeldBy: one Canary per Deployment", () => {
  const first = canary("catalog-release", "catalog", "2026-12-01T10:00:00Z");
  const second = canary("catalog-other", "catalog", "2026-12-01T11:00:00Z");
  const unrelated = canary("web", "webapp", "2026-12-01T09:00:00Z");

  it("the Canary created first keeps the target; the later one is told which Canary holds it", () => {
    const all = [second, first, unrelated];
    expect(targetHeldBy(first, all)).toBeUndefined();
    expect(targetHeldBy(second, all)?.metadata?.name).toBe("catalog-release");
    expect(targetHeldBy(unrelated, all)).toBeUndefined();
  });

  it("equal creation times are broken by name, so both sides agree on one holder", () => {
    const a = canary("a", "catalog", "2026-12-01T10:00:00Z");
    const b = canary("b", "catalog", "2026-12-01T10:00:00Z");
    expect(targetHeldBy(a, [a, b])).toBeUndefined();
    expect(targetHeldBy(b, [a, b])?.metadata?.name).toBe("a");
  });

  it("when the holder is gone, the next one takes over", () => {
    expect(targetHeldBy(second, [second, unrelated])).toBeUndefined();
  });
});
