// Header/URI regexes go to Envoy, which speaks RE2: exactly RE2's language must pass validation.
import { describe, expect, it } from "vitest";
import { re2Problem } from "../../../src/api/re2.js";
import { validateCanary } from "../../../src/api/validate.js";
import { catalogCanary } from "./helpers.js";

describe("re2Problem", () => {
  it.each([
    ["case-insensitive flag", "(?i)jason"],
    ["Unicode script class", "\\p{Greek}+"],
    ["POSIX class", "[[:alpha:]]+"],
    ["Python-style named group", "(?P<n>x)"],
    ["quoted literal", "\\Qa.b\\E"],
    ["plain alternation", "^/(api|admin)/v[0-9]+$"],
  ])("accepts RE2 a JavaScript RegExp would refuse or misread: %s", (_what, re) => {
    expect(re2Problem(re)).toBeUndefined();
  });

  it("rejects lookahead and lookbehind, saying so", () => {
    expect(re2Problem("(?=x)")).toContain("lookaround is not supported");
    expect(re2Problem("(?<!x)y")).toContain("lookaround is not supported");
  });

  it("rejects backreferences, saying so", () => {
    expect(re2Problem("(a)\\1")).toContain("backreferences are not supported");
  });

  it("rejects other syntax errors with RE2's description", () => {
    expect(re2Problem("[")).toContain("missing closing ]");
    expect(re2Problem("a{1001}")).toContain("invalid repeat count");
  });
});

describe("regexes in a Canary", () => {
  it("valid RE2 in a header match validates", () => {
    const c = catalogCanary();
    c.spec.analysis.match = [{ headers: { "end-user": { regex: "(?i)jason" } } }];
    expect(validateCanary(c).ok).toBe(true);
  });

  it("invalid RE2 names the field", () => {
    const c = catalogCanary();
    c.spec.analysis.match = [{ headers: { "end-user": { regex: "(a)\\1" } } }];
    const r = validateCanary(c);
    if (r.ok) return expect.fail("validated a backreference");
    expect(r.problems.map((p) => p.field)).toEqual(["spec.analysis.match[0].headers.end-user.regex"]);
    expect(r.problems[0]?.message).toContain("backreferences");
  });
});
