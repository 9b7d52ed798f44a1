// The dashboard's HTTP server with a fake backend (no cluster): the page and its files, the JSON views, the
// event stream's framing and timing, and the guards on the buttons (token, Origin, Host, JSON); the pure
// views (weight and metric series, control answers) and the refusal of a non-loopback address.
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlAction } from "../../../src/api/canary.js";
import { parseArgs } from "../../../src/cli/args.js";
import type { ControlResult } from "../../../src/cli/control.js";
import { controlAnswer, detailView, keyOf, listItem } from "../../../src/cli/dashboard/api.js";
import { isLoopback, loopbackHosts, runDashboard } from "../../../src/cli/dashboard/run.js";
import {
  type Backend,
  createDashboard,
  type Dashboard,
  sseFrame,
} from "../../../src/cli/dashboard/server.js";
import type { Io } from "../../../src/cli/io.js";
import type { CanaryEvent, Session } from "../../../src/cli/kube.js";
import { failed, NOW, progressing } from "./fixtures.js";

const TOKEN = "t0ken-for-tests";
const KEY = keyOf(progressing);
const EVENT: CanaryEvent = {
  uid: "e1",
  namespace: "shop",
  canary: "catalog-release",
  type: "Warning",
  reason: "Halted",
  message: "request-duration 612ms > 500ms",
  count: 2,
  time: "2026-11-27T20:05:52Z",
};

const calls: Array<{ namespace: string; name: string; action: ControlAction; reason?: string }> = [];
const backend: Backend = {
  context: "kind-test",
  scope: "namespace shop",
  canaries: () => [progressing, failed],
  canary: (key) => [progressing, failed].find((c) => keyOf(c) === key),
  events: (key) => (key === KEY ? [EVENT] : []),
  problem: () => undefined,
  control: async (namespace, name, action, reason) => {
    calls.push({ namespace, name, action, ...(reason !== undefined ? { reason } : {}) });
    if (name === "forbidden")
      return {
        status: 403,
        body: { action, id: "1-a", error: "forbidden: context kind-test may not patch" },
      };
    return { status: 200, body: { action, id: "1-a", outcome: "done", message: `${action} ${name}: done` } };
  },
};

let server: Server;
let dashboard: Dashboard;
let port = 0;
let host = "";

beforeAll(async () => {
  const hosts = new Set<string>();
  dashboard = createDashboard(backend, { token: TOKEN, hosts: () => hosts, now: () => NOW, debounceMs: 50 });
  server = createServer(dashboard.handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  for (const h of loopbackHosts("127.0.0.1", port)) hosts.add(h);
  host = `127.0.0.1:${port}`;
});
afterAll(async () => {
  dashboard.close();
  await new Promise((resolve) => server.close(resolve));
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request (fetch cannot set Host or Origin freely). */
function call(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: { host, ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call(
    "POST",
    path,
    { "content-type": "application/json", "x-serin-token": TOKEN, origin: `http://${host}`, ...headers },
    JSON.stringify(body),
  );

describe("dashboard server: the page and its files", () => {
  it("serves the page with the token embedded, and forbids framing and foreign content", async () => {
    const r = await call("GET", "/");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toContain("text/html");
    expect(r.body).toContain(`<meta name="serin-token" content="${TOKEN}"`);
    expect(r.body).toContain('name="viewport"');
    expect(r.body).toContain('<script type="module" src="/app.js">');
    expect(r.headers["x-frame-options"]).toBe("DENY");
    expect(r.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
    expect(r.headers["content-security-policy"]).toContain("script-src 'self'");
  });

  it.each([
    ["/app.js", "text/javascript", "EventSource"],
    ["/charts.js", "text/javascript", "export function weightChart"],
    ["/style.css", "text/css", "@media (max-width: 640px)"],
  ])("serves %s", async (path, type, content) => {
    const r = await call("GET", path);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toContain(type);
    expect(r.body).toContain(content);
  });

  it("serves nothing else: no path out of the assets", async () => {
    for (const path of ["/nope.js", "/../package.json", "/%2e%2e/server.ts", "/index.html"])
      expect((await call("GET", path)).status).toBe(404);
  });

  it("answers only to its own Host: a DNS-rebinding page cannot read it", async () => {
    const r = await call("GET", "/api/canaries", { host: `evil.example:${port}` });
    expect(r.status).toBe(421);
    expect((await call("GET", "/", { host: `localhost:${port}` })).status).toBe(200);
  });
});

describe("dashboard server: JSON views", () => {
  it("lists the Canaries with the CLI's table cells", async () => {
    const r = await call("GET", "/api/canaries");
    const body = JSON.parse(r.body);
    expect(body.context).toBe("kind-test");
    expect(body.items.map((i: { key: string }) => i.key)).toEqual(["shop/catalog-release", "shop/reviews"]);
    expect(body.items[0].summary.canaryWeight).toBe(30);
    expect(body.items[0].text.harm).toBe("1,406 req, 3 failed, 12 slow");
    expect(r.headers["cache-control"]).toBe("no-store");
  });

  it("gives a Canary's page: summary, weight and metric series, Events, history", async () => {
    const body = JSON.parse((await call("GET", "/api/canaries/shop/catalog-release")).body);
    expect(body).toEqual(detailView(progressing, [EVENT], NOW));
    expect(body.events).toEqual([EVENT]);
    expect((await call("GET", "/api/canaries/shop/gone")).status).toBe(404);
  });
});

describe("dashboard views (pure)", () => {
  it("the weight series keeps only changes, ending at the current weight", () => {
    const view = detailView(progressing, [], NOW);
    const ws = view.weights.map((p) => p.weight);
    expect(ws.at(-1)).toBe(30);
    for (let i = 1; i < ws.length; i++) expect(ws[i]).not.toBe(ws[i - 1]);
    const times = view.weights.map((p) => Date.parse(p.time));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it("a check taken at the same time as the decision on it comes before that decision's weight", () => {
    const t = "2026-11-27T20:06:12Z";
    const status = progressing.status ?? {};
    const c = {
      ...progressing,
      status: {
        ...status,
        lastTransitionTime: t,
        canaryWeight: 20,
        decisions: [
          {
            seq: 1,
            time: "2026-11-27T20:06:02Z",
            phase: "Progressing",
            canaryWeight: 10,
            reason: "a",
            events: [],
          },
          { seq: 2, time: t, phase: "Progressing", canaryWeight: 20, reason: "b", events: [] },
        ],
        run: {
          ...status.run,
          revision: "7d9f5c",
          checks: [{ time: t, canaryWeight: 10, verdict: "passed" as const, metrics: [] }],
        },
      },
    };
    expect(detailView(c, [], NOW).weights).toEqual([
      { time: "2026-11-27T20:06:02Z", weight: 10 },
      { time: t, weight: 20 },
    ]);
  });

  it("a metric series per metric, with the threshold and each check's canary and primary", () => {
    const view = detailView(progressing, [], NOW);
    const duration = view.metrics.find((m) => m.name === "request-duration");
    expect(duration?.max).toBe(500);
    expect(duration?.threshold).toBe("<= 500");
    expect(duration?.points.length).toBe(view.explain.checks.length);
    expect(duration?.points.some((p) => p.verdict === "failed")).toBe(true);
    expect(listItem(failed, NOW).text.phase).toBe("Failed");
  });

  it("a control answer says the outcome, or the API's refusal with its status", () => {
    const describe = (err: unknown, verb: string) => `${verb}: ${(err as Error).message}`;
    const forbidden = Object.assign(new Error("nope"), { code: 403 });
    const refused: ControlResult = { id: "1-a", kind: "refused", error: forbidden };
    expect(controlAnswer("abort", "c", 30_000, refused, describe)).toEqual({
      status: 403,
      body: { action: "abort", id: "1-a", error: "patch: nope" },
    });
    const control = {
      id: "1-a",
      action: "retry",
      at: "2026-11-27T20:00:00Z",
      result: "ignored: only a failed run",
    };
    expect(
      controlAnswer("retry", "c", 30_000, { id: "1-a", kind: "answered", control }, describe).body,
    ).toMatchObject({
      outcome: "ignored",
      message: "retry c: ignored: only a failed run",
    });
    const timeout = controlAnswer("pause", "c", 30_000, { id: "1-a", kind: "timeout" }, describe);
    expect(timeout.status).toBe(504);
    expect(timeout.body.error).toContain("did not answer within 30s");
  });
});

describe("dashboard server: the event stream", () => {
  it("frames each event as `event:` and one `data:` line, and pushes a change within the debounce", async () => {
    expect(sseFrame("item", { a: "x\ny" })).toBe('event: item\ndata: {"a":"x\\ny"}\n\n');
    const frames: string[] = [];
    let buffer = "";
    const seen = new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: `/api/events?canary=${encodeURIComponent(KEY)}`, headers: { host } },
        (res) => {
          expect(res.headers["content-type"]).toContain("text/event-stream");
          res.setEncoding("utf8");
          let notifiedAt = 0;
          res.on("data", (chunk: string) => {
            buffer += chunk;
            const parts = buffer.split("\n\n");
            buffer = parts.pop() ?? "";
            frames.push(...parts);
            // the state at once (retry, list, detail), then a notified change
            if (notifiedAt === 0 && frames.length >= 3) {
              notifiedAt = Date.now();
              dashboard.notify(KEY);
            } else if (notifiedAt > 0 && frames.length >= 5) {
              req.destroy();
              resolve(Date.now() - notifiedAt);
            }
          });
        },
      );
      req.on("error", reject);
      req.end();
    });
    const ms = await seen;
    expect(ms).toBeLessThan(500);
    expect(frames[0]).toBe("retry: 1000");
    expect(frames.slice(1).map((f) => f.split("\n")[0])).toEqual([
      "event: list",
      "event: detail",
      "event: item",
      "event: detail",
    ]);
    for (const f of frames.slice(1)) {
      const [, data] = f.split("\n");
      expect(data?.startsWith("data: ")).toBe(true);
      expect(() => JSON.parse(data?.slice(6) ?? "")).not.toThrow();
    }
    expect(JSON.parse(frames[4]?.split("\n")[1]?.slice(6) ?? "").key).toBe(KEY);
  });
});

describe("dashboard server: the buttons' requests", () => {
  const path = "/api/canaries/shop/catalog-release/actions";

  it("sends a control request with the token, and returns the controller's answer", async () => {
    calls.length = 0;
    const r = await post(path, { action: "abort", reason: "5xx on checkout" });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ outcome: "done", message: "abort catalog-release: done" });
    expect(calls).toEqual([
      { namespace: "shop", name: "catalog-release", action: "abort", reason: "5xx on checkout" },
    ]);
  });

  it("returns the API's refusal (403) for the page to show", async () => {
    const r = await post("/api/canaries/shop/forbidden/actions", { action: "pause" });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toContain("forbidden");
  });

  it.each([
    ["no token", { "x-serin-token": "" }, "missing or wrong dashboard token"],
    ["a wrong token", { "x-serin-token": "guess" }, "missing or wrong dashboard token"],
    ["another site's Origin", { origin: "https://evil.example" }, "cross-site request refused"],
    ["a cross-site fetch", { "sec-fetch-site": "cross-site" }, "cross-site request refused"],
    ["a form post", { "content-type": "application/x-www-form-urlencoded" }, "must be application/json"],
  ])("refuses a request with %s, sending nothing", async (_what, headers, message) => {
    calls.length = 0;
    const r = await post(path, { action: "abort" }, headers);
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error).toContain(message);
    expect(calls).toEqual([]);
  });

  it("refuses an unknown action and a body that is not JSON", async () => {
    expect((await post(path, { action: "delete" })).status).toBe(400);
    const r = await call(
      "POST",
      path,
      { "content-type": "application/json", "x-serin-token": TOKEN, origin: `http://${host}` },
      "abort",
    );
    expect(r.status).toBe(400);
  });
});

describe("kubectl serin dashboard: options and address", () => {
  it("parses its flags, with 127.0.0.1:7070 and a browser by default", () => {
    expect(parseArgs(["dashboard"])).toMatchObject({
      kind: "run",
      options: { command: "dashboard", address: "127.0.0.1", port: 7070, allowRemote: false, open: true },
    });
    expect(parseArgs(["dashboard", "-A", "--port", "0", "--no-open", "--address=::1"])).toMatchObject({
      options: { allNamespaces: true, port: 0, open: false, address: "::1" },
    });
  });

  it("knows loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "localhost"]) expect(isLoopback(a)).toBe(true);
    for (const a of ["0.0.0.0", "192.168.1.5", "::", "example.com"]) expect(isLoopback(a)).toBe(false);
    expect(loopbackHosts("127.0.0.1", 7070)).toEqual(
      new Set(["127.0.0.1:7070", "localhost:7070", "[::1]:7070"]),
    );
  });

  it("refuses a non-loopback address without --allow-remote, saying why", async () => {
    const err: string[] = [];
    const io: Io = { out: () => {}, err: (t) => void err.push(t), tty: false, now: () => NOW };
    const session = { context: "prod" } as unknown as Session;
    const options = parseArgs(["dashboard", "--address", "0.0.0.0"]);
    if (options.kind !== "run") throw new Error("not parsed");
    expect(await runDashboard(session, options.options, io)).toBe(1);
    expect(err.join("")).toContain("refusing to listen on 0.0.0.0: the dashboard acts with your credentials");
    expect(err.join("")).toContain("--allow-remote");
  });
});
