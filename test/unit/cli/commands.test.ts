// The commands through the real @kubernetes/client-node against an in-process fake API server: exit codes,
// error messages for 404 / 403 / 401 / no server, kubeconfig and context handling, -o json, and --watch.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Canary } from "../../../src/api/canary.js";
import { type Options, parseArgs } from "../../../src/cli/args.js";
import { runCommand } from "../../../src/cli/commands.js";
import type { Io } from "../../../src/cli/io.js";
import { openSession, type Session } from "../../../src/cli/kube.js";
import { failed, NOW, progressing } from "./fixtures.js";

const BASE = "/apis/serin.dev/v1beta1";
let server: Server;
let url = "";
/** open watch responses, to push events into */
const watchers: ServerResponse[] = [];
const tempDirs: string[] = [];

function status(res: ServerResponse, code: number, message: string) {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, code }));
}

function handle(req: IncomingMessage, res: ServerResponse) {
  const u = new URL(req.url ?? "/", "http://x");
  const auth = req.headers.authorization;
  if (auth === "Bearer expired") return status(res, 401, "Unauthorized");
  const json = (body: unknown) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (u.pathname.includes("/namespaces/locked/"))
    return status(
      res,
      403,
      `canaries.serin.dev is forbidden: User "bob" cannot list resource "canaries" in API group "serin.dev" in the namespace "locked"`,
    );
  if (u.searchParams.get("watch") === "true") {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(`${JSON.stringify({ type: "ADDED", object: progressing })}\n`);
    watchers.push(res);
    return;
  }
  if (u.pathname === `${BASE}/canaries`)
    return json({ items: [progressing, { ...failed, metadata: { name: "reviews", namespace: "books" } }] });
  if (u.pathname === `${BASE}/namespaces/shop/canaries`) return json({ items: [failed, progressing] });
  if (
    u.pathname === `${BASE}/namespaces/empty/canaries` ||
    u.pathname === `${BASE}/namespaces/default/canaries`
  )
    return json({ items: [] });
  if (u.pathname === `${BASE}/namespaces/shop/canaries/catalog-release`) return json(progressing);
  if (u.pathname === `${BASE}/namespaces/shop/canaries/reviews`) return json(failed);
  if (u.pathname.startsWith(`${BASE}/namespaces/nocrd/`))
    return status(res, 404, "the server could not find the requested resource");
  const name = u.pathname.split("/").pop();
  return status(res, 404, `canaries.serin.dev "${name}" not found`);
}

function kubeconfig(server: string, token = "good"): string {
  const dir = mkdtempSync(join(tmpdir(), "serin-cli-"));
  tempDirs.push(dir);
  const path = join(dir, "config");
  writeFileSync(
    path,
    `apiVersion: v1
kind: Config
clusters:
- {name: fake, cluster: {server: "${server}", insecure-skip-tls-verify: true}}
contexts:
- {name: fake, context: {cluster: fake, user: me, namespace: shop}}
- {name: other, context: {cluster: fake, user: me}}
current-context: fake
users:
- {name: me, user: {token: ${token}}}
`,
  );
  return path;
}

interface Result {
  code: number;
  out: string;
  err: string;
}

async function cli(
  argv: string[],
  opts: { token?: string; server?: string; stop?: AbortSignal; onOut?: (s: string) => void } = {},
): Promise<Result> {
  const parsed = parseArgs(argv);
  if (parsed.kind !== "run") throw new Error("help");
  const options: Options = { kubeconfig: kubeconfig(opts.server ?? url, opts.token), ...parsed.options };
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
      opts.onOut?.(t);
    },
    err: (t) => {
      err += t;
    },
    tty: false,
    now: () => NOW,
    ...(opts.stop ? { stop: opts.stop } : {}),
  };
  let session: Session;
  try {
    session = openSession(options);
  } catch (e) {
    return { code: 1, out, err: e instanceof Error ? e.message : String(e) };
  }
  const code = await runCommand(session, options, io);
  return { code, out, err };
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const w of watchers) w.end();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  await new Promise((resolve) => server.close(resolve));
});

describe("kubectl serin against an API server", () => {
  it("get lists the context's namespace, sorted", async () => {
    const r = await cli(["get"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    const rows = r.out.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^NAME\s+PHASE/);
    expect(rows.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(["catalog-release", "reviews"]);
  });

  it("get -A lists every namespace; -n picks one; an empty namespace is said on stderr", async () => {
    const all = await cli(["get", "-A"]);
    expect(all.out).toMatch(/^NAMESPACE\s+NAME/);
    expect(all.out).toMatch(/\nbooks\s+reviews/);
    const empty = await cli(["get", "-n", "empty"]);
    expect(empty).toEqual({ code: 0, out: "", err: "No canaries found in namespace empty.\n" });
  });

  it("get NAME, explain NAME and history NAME read one Canary", async () => {
    expect((await cli(["get", "catalog-release"])).out).toContain("Weight:      [######----] 30/50");
    expect((await cli(["explain", "catalog-release"])).out).toContain("#7 Progressing weight 10");
    expect((await cli(["history", "reviews"])).out).toMatch(/\n2\s+a1b2c3/);
  });

  it("-o json prints the summary, the explanation, the history", async () => {
    const list = JSON.parse((await cli(["get", "-o", "json"])).out);
    expect(list.items.map((s: { name: string }) => s.name)).toEqual(["catalog-release", "reviews"]);
    const one = JSON.parse((await cli(["get", "catalog-release", "-ojson"])).out);
    expect(one).toMatchObject({
      phase: "Progressing",
      canaryWeight: 30,
      maxWeight: 50,
      nextStepInSeconds: 10,
    });
    const explained = JSON.parse((await cli(["explain", "catalog-release", "-o", "json"])).out);
    expect(explained.decisions.map((d: { seq: number }) => d.seq)).toEqual([5, 6, 7, 8]);
    expect(explained.checks).toHaveLength(2);
    const history = JSON.parse((await cli(["history", "reviews", "-o", "json"])).out);
    expect(history.runs.map((h: { outcome: string }) => h.outcome)).toEqual(["Succeeded", "Failed"]);
  });

  it("a missing Canary: exit 1 and its name and namespace", async () => {
    for (const command of ["get", "explain", "history"]) {
      const r = await cli([command, "nope"]);
      expect(r).toEqual({ code: 1, out: "", err: "error: canary nope not found in namespace shop\n" });
    }
  });

  it("no permission: exit 1, the verb and resource, and the server's words", async () => {
    const r = await cli(["get", "-n", "locked"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("forbidden: context fake may not list canaries.serin.dev in namespace locked");
    expect(r.err).toContain('User "bob" cannot list resource "canaries"');
    const one = await cli(["explain", "x", "-n", "locked"]);
    expect(one.err).toContain('may not get canaries.serin.dev "x" in namespace locked');
  });

  it("no CRD, bad credentials, no cluster: exit 1 with what to do", async () => {
    expect((await cli(["get", "-n", "nocrd"])).err).toContain(
      "does not serve canaries.serin.dev: are Serin's CRDs installed",
    );
    expect((await cli(["get"], { token: "expired" })).err).toContain(
      "rejected the credentials of context fake",
    );
    const down = await cli(["get"], { server: "https://127.0.0.1:1" });
    expect(down.code).toBe(1);
    expect(down.err).toBe(
      "error: cannot reach the API server at https://127.0.0.1:1 (context fake): ECONNREFUSED; is the cluster up and the kubeconfig right?\n",
    );
  });

  it("--context switches context and its namespace; an unknown context is an error", async () => {
    const r = await cli(["get", "--context", "other"]);
    expect(r.err).toBe("No canaries found in namespace default.\n");
    const bad = await cli(["get", "--context", "nope"]);
    expect(bad).toMatchObject({
      code: 1,
      err: "context nope not found in the kubeconfig (contexts: fake, other)",
    });
  });

  it("get NAME --watch draws the Canary, redraws it on a watch event, and ends on stop with 0", async () => {
    const stop = new AbortController();
    let frames = 0;
    let resolveFrame: () => void = () => {};
    let nextFrame = new Promise<void>((r) => {
      resolveFrame = r;
    });
    const done = cli(["get", "catalog-release", "--watch"], {
      stop: stop.signal,
      onOut: () => {
        frames++;
        resolveFrame();
        nextFrame = new Promise<void>((r) => {
          resolveFrame = r;
        });
      },
    });
    await nextFrame;
    await waitFor(() => watchers.length > 0);
    const moved: Canary = { ...progressing, status: { ...progressing.status, canaryWeight: 40 } };
    const frame = nextFrame;
    watchers.at(-1)?.write(`${JSON.stringify({ type: "MODIFIED", object: moved })}\n`);
    await frame;
    stop.abort();
    const r = await done;
    expect(r.code).toBe(0);
    expect(r.out).toContain("[######----] 30/50");
    expect(r.out).toContain("[########--] 40/50");
    expect(r.out).not.toContain("\x1b[");
    expect(frames).toBeGreaterThanOrEqual(2);
  });

  it("get --watch of a missing Canary fails at once", async () => {
    const r = await cli(["get", "nope", "--watch"]);
    expect(r).toEqual({ code: 1, out: "", err: "error: canary nope not found in namespace shop\n" });
  });

  it("get --watch -o json writes one JSON line per event", async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const done = cli(["get", "--watch", "-o", "json"], { stop: stop.signal, onOut: (t) => lines.push(t) });
    await waitFor(() => lines.length >= 2);
    stop.abort();
    expect((await done).code).toBe(0);
    const first = JSON.parse(lines[0] ?? "");
    expect(first).toMatchObject({ type: "ADDED", name: "reviews" });
  });
});

async function waitFor(ok: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}
