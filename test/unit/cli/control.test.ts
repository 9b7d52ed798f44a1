// The control commands through the real @kubernetes/client-node against an in-process fake API server:
// the merge patch and its four annotations, waiting on status.control, every exit code, 403/404, timeout.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Canary } from "../../../src/api/canary.js";
import { ANNOTATIONS } from "../../../src/api/constants.js";
import { type Options, parseArgs } from "../../../src/cli/args.js";
import { runCommand } from "../../../src/cli/commands.js";
import { newActionId, outcomeOf, requestPatch } from "../../../src/cli/control.js";
import type { Io } from "../../../src/cli/io.js";
import { openSession } from "../../../src/cli/kube.js";
import { NOW, progressing } from "./fixtures.js";

const BASE = "/apis/serin.dev/v1beta1/namespaces";
let server: Server;
let url = "";
const tempDirs: string[] = [];

interface Patch {
  name: string;
  contentType: string | undefined;
  fieldManager: string | null;
  body: { metadata: { annotations: Record<string, string | null> } };
}
/** the patches received, in order */
let patches: Patch[] = [];
/** GETs received per Canary name */
let reads: Record<string, number> = {};

/** What the fake controller answers, per Canary name: the result, and on which read it appears. */
const ANSWERS: Record<string, { result: string; onRead: number } | undefined> = {
  done: { result: "done", onRead: 1 },
  pending: {
    result: "pending: promotes at the next check that passes, skipping the remaining steps",
    onRead: 1,
  },
  ignored: { result: "ignored: only a failed run can be retried (phase Progressing)", onRead: 1 },
  late: { result: "done", onRead: 2 },
};

function status(res: ServerResponse, code: number, message: string) {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, code }));
}

function canaryNamed(name: string, status?: Canary["status"]): Canary {
  return { ...progressing, metadata: { ...progressing.metadata, name }, ...(status ? { status } : {}) };
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const u = new URL(req.url ?? "/", "http://x");
  let raw = "";
  for await (const chunk of req) raw += chunk;
  const json = (body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (u.pathname.startsWith(`${BASE}/locked/`))
    return status(
      res,
      403,
      `canaries.serin.dev "x" is forbidden: User "bob" cannot ${req.method === "PATCH" ? "patch" : "get"} resource "canaries" in API group "serin.dev" in the namespace "locked"`,
    );
  const name = u.pathname.split("/").pop() ?? "";
  if (!u.pathname.startsWith(`${BASE}/shop/canaries/`) || name === "nope")
    return status(res, 404, `canaries.serin.dev "${name}" not found`);
  if (req.method === "PATCH") {
    patches.push({
      name,
      contentType: req.headers["content-type"],
      fieldManager: u.searchParams.get("fieldManager"),
      body: JSON.parse(raw),
    });
    return json(canaryNamed(name));
  }
  reads[name] = (reads[name] ?? 0) + 1;
  if (name === "deleted") return status(res, 404, `canaries.serin.dev "${name}" not found`);
  const last = patches.filter((p) => p.name === name).at(-1);
  const answer = ANSWERS[name];
  const id = last?.body.metadata.annotations[ANNOTATIONS.actionId];
  if (answer === undefined || last === undefined || typeof id !== "string" || reads[name] < answer.onRead)
    // "silent": the controller is not running; an older request's record stays
    return json(
      canaryNamed(name, {
        ...progressing.status,
        control: { id: "older", action: "pause", at: "2026-11-27T19:00:00Z", result: "done" },
      }),
    );
  const annotations = last.body.metadata.annotations;
  return json(
    canaryNamed(name, {
      ...progressing.status,
      control: {
        id,
        action: annotations[ANNOTATIONS.action] ?? "",
        ...(annotations[ANNOTATIONS.actionBy] ? { by: annotations[ANNOTATIONS.actionBy] ?? "" } : {}),
        at: "2026-11-27T20:06:23Z",
        result: answer.result,
      },
    }),
  );
}

function kubeconfig(server: string): string {
  const dir = mkdtempSync(join(tmpdir(), "serin-cli-control-"));
  tempDirs.push(dir);
  const path = join(dir, "config");
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- {name: fake, cluster: {server: "${server}", insecure-skip-tls-verify: true}}
contexts:
- {name: fake, context: {cluster: fake, user: alice@corp, namespace: shop}}
current-context: fake
users:
- {name: alice@corp, user: {token: good}}
`,
  );
  return path;
}

async function cli(argv: string[], opts: { server?: string } = {}) {
  const parsed = parseArgs(argv);
  if (parsed.kind !== "run") throw new Error("help");
  const options: Options = { kubeconfig: kubeconfig(opts.server ?? url), ...parsed.options };
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    tty: false,
    now: () => NOW,
  };
  const code = await runCommand(openSession(options), options, io);
  return { code, out, err };
}

beforeAll(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  patches = [];
  reads = {};
});
afterAll(async () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

describe("the request", () => {
  it("a unique id: unix ms and random hex", () => {
    expect(newActionId(NOW, "0a1b2c3d")).toBe(`${NOW.getTime()}-0a1b2c3d`);
    expect(newActionId(NOW)).toMatch(new RegExp(`^${NOW.getTime()}-[0-9a-f]{8}$`));
    expect(newActionId(NOW)).not.toBe(newActionId(NOW));
  });

  it("the patch sets all four annotations; a missing reason or author removes an older one", () => {
    expect(requestPatch("abort", "1-a", "alice", "  5xx on checkout ")).toEqual({
      metadata: {
        annotations: {
          "serin.dev/action": "abort",
          "serin.dev/action-id": "1-a",
          "serin.dev/action-by": "alice",
          "serin.dev/action-reason": "5xx on checkout",
        },
      },
    });
    expect(requestPatch("pause", "1-b", undefined, " ").metadata.annotations).toMatchObject({
      "serin.dev/action-by": null,
      "serin.dev/action-reason": null,
    });
  });

  it("reads the controller's result", () => {
    expect(outcomeOf("done")).toBe("done");
    expect(outcomeOf("pending: the next check that passes")).toBe("pending");
    expect(outcomeOf("ignored: not paused")).toBe("ignored");
  });
});

describe("kubectl serin promote|abort|retry|pause|resume against an API server", () => {
  it("writes the request as a JSON merge patch, waits for status.control and exits 0 on done", async () => {
    const r = await cli(["abort", "done", "--reason", "5xx on checkout"]);
    expect(r).toEqual({ code: 0, out: "abort done: done\n", err: "" });
    expect(patches).toHaveLength(1);
    const [p] = patches;
    expect(p?.contentType).toBe("application/merge-patch+json");
    expect(p?.fieldManager).toBe("kubectl-serin");
    const annotations = p?.body.metadata.annotations ?? {};
    expect(Object.keys(annotations).sort()).toEqual(
      [ANNOTATIONS.action, ANNOTATIONS.actionBy, ANNOTATIONS.actionId, ANNOTATIONS.actionReason].sort(),
    );
    expect(annotations).toMatchObject({
      [ANNOTATIONS.action]: "abort",
      [ANNOTATIONS.actionBy]: "alice@corp",
      [ANNOTATIONS.actionReason]: "5xx on checkout",
    });
    expect(annotations[ANNOTATIONS.actionId]).toMatch(new RegExp(`^${NOW.getTime()}-[0-9a-f]{8}$`));
    expect(reads.done).toBe(1);
  });

  it("each command writes its own action; two requests get two ids", async () => {
    for (const command of ["promote", "abort", "retry", "pause", "resume"])
      expect((await cli([command, "done"])).code).toBe(0);
    expect(patches.map((p) => p.body.metadata.annotations[ANNOTATIONS.action])).toEqual([
      "promote",
      "abort",
      "retry",
      "pause",
      "resume",
    ]);
    expect(new Set(patches.map((p) => p.body.metadata.annotations[ANNOTATIONS.actionId])).size).toBe(5);
  });

  it("pending: exit 0 and what it waits for", async () => {
    const r = await cli(["promote", "pending"]);
    expect(r).toEqual({
      code: 0,
      out: "promote pending: pending: promotes at the next check that passes, skipping the remaining steps\n",
      err: "",
    });
  });

  it("ignored: exit 1 and why", async () => {
    const r = await cli(["abort", "ignored"]);
    expect(r).toEqual({
      code: 1,
      out: "",
      err: "error: abort ignored was ignored: only a failed run can be retried (phase Progressing)\n",
    });
  });

  it("an older record in status.control is not the answer: it polls until its own id comes", async () => {
    const r = await cli(["resume", "late"]);
    expect(r).toMatchObject({ code: 0, out: "resume late: done\n" });
    expect(reads.late).toBe(2);
  });

  it("no answer within --wait: exit 1, is Serin running?", async () => {
    const started = Date.now();
    const r = await cli(["pause", "silent", "--wait", "300ms"]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /^error: pause requested on canary silent in namespace shop \(id \d+-[0-9a-f]{8}\), but the controller did not answer within 300ms: is Serin running\?/,
    );
    expect(reads.silent).toBeGreaterThanOrEqual(2);
  });

  it("--wait 0 writes the request and does not read", async () => {
    const r = await cli(["retry", "silent", "--wait", "0"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^retry requested on canary silent in namespace shop \(id \d+-[0-9a-f]{8}\); not waiting/,
    );
    expect(patches).toHaveLength(1);
    expect(reads.silent).toBeUndefined();
  });

  it("-o json: the request and the controller's record, for every outcome", async () => {
    const done = await cli(["promote", "done", "-o", "json", "--reason", "go"]);
    expect(done.code).toBe(0);
    const body = JSON.parse(done.out);
    expect(body).toMatchObject({
      namespace: "shop",
      name: "done",
      action: "promote",
      by: "alice@corp",
      reason: "go",
      outcome: "done",
      control: { action: "promote", result: "done" },
    });
    expect(body.control.id).toBe(body.id);
    const ignored = await cli(["abort", "ignored", "-ojson"]);
    expect(ignored.code).toBe(1);
    expect(JSON.parse(ignored.out)).toMatchObject({ outcome: "ignored" });
    expect(ignored.err).toContain("was ignored");
    const timeout = await cli(["pause", "silent", "-o", "json", "--wait", "100ms"]);
    expect(timeout.code).toBe(1);
    expect(JSON.parse(timeout.out)).toMatchObject({ outcome: "timeout" });
    expect(JSON.parse((await cli(["pause", "silent", "-o", "json", "--wait", "0"])).out)).toMatchObject({
      outcome: "not-waited",
    });
  });

  it("a missing Canary: exit 1, its name and namespace, nothing waited for", async () => {
    const r = await cli(["promote", "nope"]);
    expect(r).toEqual({ code: 1, out: "", err: "error: canary nope not found in namespace shop\n" });
    expect(reads.nope).toBeUndefined();
  });

  it("no permission to patch: exit 1 and the Role to ask for", async () => {
    const r = await cli(["abort", "x", "-n", "locked"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'forbidden: context fake may not patch canaries.serin.dev "x" in namespace locked (RBAC)',
    );
    expect(r.err).toContain("ask for a Role like canary-operator in docs/control.md");
    expect(r.err).toContain('User "bob" cannot patch resource "canaries"');
  });

  it("the Canary deleted while waiting: exit 1 at once", async () => {
    const r = await cli(["pause", "deleted"]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "error: pause requested (id " +
        r.err.match(/id (\d+-[0-9a-f]{8})/)?.[1] +
        "), but reading the answer failed: canary deleted not found in namespace shop\n",
    );
  });

  it("no cluster: exit 1, cannot reach the API server", async () => {
    const r = await cli(["promote", "done"], { server: "https://127.0.0.1:1" });
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "error: cannot reach the API server at https://127.0.0.1:1 (context fake): ECONNREFUSED; is the cluster up and the kubeconfig right?\n",
    );
  });
});
