// flagger_info{version} carries SERIN_VERSION: it must be the release package.json names.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SERIN_VERSION } from "../../../src/version.js";

describe("SERIN_VERSION", () => {
  it("is package.json's version", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../../../package.json"), "utf8")) as {
      version: string;
    };
    expect(SERIN_VERSION).toBe(pkg.version);
  });
});
