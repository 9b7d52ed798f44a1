// The ranges a run's checks read: never before the revision's traffic start, widened to everything
// since then while waiting for evidence, and always a valid PromQL range.
import { describe, expect, it } from "vitest";
import type { RunRecord } from "../../../src/api/canary.js";
import { checkWindow } from "../../../src/metrics/windows.js";

const NOW = new Date("2025-01-01T10:05:00.000Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const run = (fields: Partial<RunRecord> = {}): RunRecord => ({ revision: "rev-2", ...fields });

describe("checkWindow", () => {
  it("is the metric's interval without a run, or before the run has traffic", () => {
    expect(checkWindow(60_000, undefined, NOW)).toEqual({ seconds: 60, text: "60s" });
    expect(checkWindow(30_000, run(), NOW)).toEqual({ seconds: 30, text: "30s" });
  });

  it("is cut at the run's traffic start", () => {
    expect(checkWindow(60_000, run({ trafficSince: ago(37_000) }), NOW)).toEqual({
      seconds: 37,
      text: "37s",
    });
  });

  it("is the whole interval once the traffic started longer ago than that", () => {
    expect(checkWindow(60_000, run({ trafficSince: ago(300_000) }), NOW)).toEqual({
      seconds: 60,
      text: "60s",
    });
  });

  it("widens to everything since windowFrom while waiting for evidence", () => {
    const r = run({ trafficSince: ago(300_000), windowFrom: ago(300_000) });
    expect(checkWindow(60_000, r, NOW)).toEqual({ seconds: 300, text: "300s" });
  });

  it("never reaches back before the traffic start, even from windowFrom", () => {
    const r = run({ trafficSince: ago(90_000), windowFrom: ago(400_000) });
    expect(checkWindow(60_000, r, NOW).text).toBe("90s");
  });

  it("rounds partial seconds down (never before the traffic start) and is at least 1s", () => {
    expect(checkWindow(60_000, run({ trafficSince: ago(1_200) }), NOW).text).toBe("1s");
    expect(checkWindow(60_000, run({ trafficSince: ago(10_900) }), NOW).text).toBe("10s");
    expect(checkWindow(60_000, run({ trafficSince: ago(0) }), NOW)).toEqual({ seconds: 1, text: "1s" });
    // a traffic start in the future (clock skew) is still a valid range
    expect(checkWindow(60_000, run({ trafficSince: ago(-5_000) }), NOW).text).toBe("1s");
    expect(checkWindow(0, undefined, NOW).text).toBe("1s");
  });

  it("ignores timestamps it cannot parse", () => {
    expect(checkWindow(60_000, run({ trafficSince: "yesterday", windowFrom: "soon" }), NOW).text).toBe("60s");
  });
});
