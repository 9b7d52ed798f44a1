import { describe, expect, it } from "vitest";
import {
  DurationError,
  formatDuration,
  GO_DURATION_PATTERN,
  parseDuration,
} from "../../../src/api/duration.js";

describe("parseDuration", () => {
  it.each([
    ["45s", 45_000],
    ["1m", 60_000],
    ["1m30s", 90_000],
    ["500ms", 500],
    ["1h", 3_600_000],
    ["1.5h", 5_400_000],
    ["2h45m", 9_900_000],
    ["1.5s", 1500],
    [".5s", 500],
    ["0", 0],
    ["0s", 0],
    ["1500us", 2], // rounded to whole milliseconds
    ["1000000ns", 1],
    [" 30s ", 30_000],
  ])("%s -> %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ["", /empty duration/],
    ["30", /has no unit.*did you mean "30s"/],
    ["1x", /invalid duration "1x"/],
    ["-5s", /negative duration/],
    ["1m 30s", /unexpected " 30s"/],
    ["s", /invalid duration/],
    ["1d", /invalid duration/],
  ])("rejects %j with a clear message", (text, message) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(message);
  });

  it("every error message shows valid examples", () => {
    expect(() => parseDuration("5 minutes")).toThrow(/"30s", "1m", "1m30s"/);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [500, "500ms"],
    [45_000, "45s"],
    [60_000, "1m0s"],
    [90_000, "1m30s"],
    [1500, "1.5s"],
    [3_600_000, "1h0m0s"],
    [5_400_000, "1h30m0s"],
  ])("%d ms -> %s (Go's time.Duration.String)", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration", () => {
    for (const ms of [1, 999, 1000, 61_500, 3_723_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });

  it("rejects negative input", () => {
    expect(() => formatDuration(-1)).toThrow(DurationError);
  });
});

describe("GO_DURATION_PATTERN (the CRD pattern)", () => {
  const re = new RegExp(GO_DURATION_PATTERN);
  it("agrees with parseDuration", () => {
    for (const ok of ["45s", "1m30s", "500ms", "1h", "0", "1.5h", "10µs"]) expect(re.test(ok), ok).toBe(true);
    for (const bad of ["", "30", "1x", "-5s", "1m 30s", "1d"]) expect(re.test(bad), bad).toBe(false);
  });
});
