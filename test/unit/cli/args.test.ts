import { describe, expect, it } from "vitest";
import { parseArgs, USAGE, UsageError } from "../../../src/cli/args.js";

const run = (...argv: string[]) => {
  const parsed = parseArgs(argv);
  if (parsed.kind !== "run") throw new Error("expected a command");
  return parsed.options;
};

describe("parseArgs", () => {
  it("reads commands, names and kubectl's flags in every spelling", () => {
    expect(run("get")).toEqual({ command: "get", allNamespaces: false, output: "text", watch: false });
    expect(run("get", "catalog", "-n", "shop", "-w", "-o", "json")).toEqual({
      command: "get",
      name: "catalog",
      namespace: "shop",
      allNamespaces: false,
      output: "json",
      watch: true,
    });
    expect(
      run("--namespace=shop", "explain", "catalog", "--context", "kind", "--kubeconfig=/k"),
    ).toMatchObject({
      command: "explain",
      name: "catalog",
      namespace: "shop",
      context: "kind",
      kubeconfig: "/k",
    });
    expect(run("history", "catalog", "-nshop", "-ojson")).toMatchObject({
      namespace: "shop",
      output: "json",
    });
    expect(run("get", "-A")).toMatchObject({ allNamespaces: true });
    expect(run("get", "--all-namespaces", "--watch")).toMatchObject({ allNamespaces: true, watch: true });
  });

  it("reads the control commands: --reason, --wait (default 30s, 0: do not wait)", () => {
    for (const command of ["promote", "abort", "retry", "pause", "resume"])
      expect(run(command, "catalog")).toEqual({
        command,
        name: "catalog",
        allNamespaces: false,
        output: "text",
        watch: false,
        waitMs: 30_000,
      });
    expect(
      run("abort", "catalog", "--reason", "5xx on checkout", "--wait", "2m", "-n", "shop"),
    ).toMatchObject({ reason: "5xx on checkout", waitMs: 120_000, namespace: "shop" });
    expect(run("pause", "catalog", "--reason=drill", "--wait=0", "-ojson")).toMatchObject({
      reason: "drill",
      waitMs: 0,
      output: "json",
    });
    expect(USAGE).toContain("abort NAME [--reason TEXT]");
    expect(USAGE).toContain("--wait DURATION");
  });

  it("prints help for nothing, help, -h", () => {
    for (const argv of [[], ["help"], ["-h"], ["get", "--help"]])
      expect(parseArgs(argv)).toEqual({ kind: "help", text: USAGE });
    expect(USAGE).toContain("get [NAME]");
    expect(USAGE).toContain("Exit codes: 0 ok (a control request done or pending), 1 error");
  });

  it.each([
    [["frobnicate"], 'unknown command "frobnicate"'],
    [["explain"], "explain needs a Canary name"],
    [["history"], "history needs a Canary name"],
    [["get", "a", "b"], 'unexpected argument "b"'],
    [["get", "a", "-A"], "cannot be used with --all-namespaces"],
    [["explain", "a", "-w"], "--watch is for get"],
    [["history", "a", "-A"], "cannot be used with --all-namespaces"],
    [["get", "-o", "yaml"], "--output must be text or json"],
    [["get", "-n"], "flag -n needs a value"],
    [["get", "--context="], "flag --context needs a value"],
    [["get", "--frob"], "unknown flag --frob"],
    [["dashboard", "a"], "dashboard takes no Canary name"],
    [["dashboard", "--port", "http"], "--port must be a number"],
    [["get", "--port", "1"], "--port is for dashboard, not get"],
    [["get", "--no-open"], "--no-open is for dashboard, not get"],
    [["replay"], "replay needs a Canary name"],
    [["promote"], "promote needs a Canary name"],
    [["abort", "a", "-A"], "cannot be used with --all-namespaces"],
    [["pause", "a", "-w"], "--watch is for get"],
    [["get", "a", "--reason", "x"], "--reason is for promote, abort, retry, pause and resume, not get"],
    [["explain", "a", "--wait", "5s"], "--wait is for promote"],
    [["abort", "a", "--wait", "5"], '--wait: duration "5" has no unit'],
    [["abort", "a", "--wait", "soon"], "--wait: invalid duration"],
    [["abort", "a", "--reason"], "flag --reason needs a value"],
  ])("refuses %j with a usage error", (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
