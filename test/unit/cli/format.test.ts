import { describe, expect, it } from "vitest";
import {
  clock,
  formatDuration,
  formatValue,
  shortImage,
  style,
  table,
  truncate,
  visibleLength,
  weightBar,
} from "../../../src/cli/format.js";
import { redraw } from "../../../src/cli/screen.js";

describe("format", () => {
  it("draws the weight bar toward maxWeight", () => {
    expect(weightBar(0, 50)).toBe("[----------] 0/50");
    expect(weightBar(30, 50)).toBe("[######----] 30/50");
    expect(weightBar(50, 50)).toBe("[##########] 50/50");
    expect(weightBar(100, 50)).toBe("[##########] 100/50");
    expect(weightBar(5, 0)).toBe("[#---------] 5/100");
    expect(weightBar(25, 100, 4)).toBe("[#---] 25/100");
  });

  it("formats durations, values, images and times", () => {
    expect([0, 9.6, 60, 125, 3600 * 5 + 120, 86400 * 3].map(formatDuration)).toEqual([
      "0s",
      "10s",
      "1m00s",
      "2m05s",
      "5h02m",
      "3d",
    ]);
    expect(formatDuration(-5)).toBe("0s");
    expect(formatValue(99.6, "%")).toBe("99.60%");
    expect(formatValue(24.71, "ms")).toBe("24.7ms");
    expect(formatValue(612.4, "ms")).toBe("612ms");
    expect(formatValue(0.00312, "")).toBe("0.0031");
    expect(formatValue(0, "")).toBe("0");
    expect(formatValue(undefined, "%")).toBe("-");
    expect(formatValue(Number.NaN, "%")).toBe("-");
    expect(shortImage("docker.io/istioinaction/catalog:v2@sha256:abc")).toBe("catalog:v2");
    expect(clock("2026-11-27T20:05:32.123Z")).toBe("20:05:32");
    expect(clock(undefined)).toBe("-");
    expect(truncate("abcdef", 4)).toBe("abc…");
    expect(truncate("abc", 4)).toBe("abc");
  });

  it("pads table columns by visible width and emits ANSI only when on", () => {
    const red = style(true).red("x");
    expect(
      table([
        ["A", "B"],
        [red, "y"],
        ["long", "z"],
      ]),
    ).toEqual(["A      B", `${red}      y`, "long   z"]);
    expect(visibleLength(red)).toBe(1);
    expect(style(false).red("x")).toBe("x");
  });

  it("redraws a frame in place on a terminal, appends it otherwise", () => {
    expect(redraw("a\nb\n", true)).toBe("\x1b[Ha\x1b[K\nb\x1b[K\n\x1b[J");
    expect(redraw("a\nb\n", false)).toBe("a\nb\n\n");
    expect(redraw("a", false)).toBe("a\n\n");
  });
});
