// Every webhook call is bounded (retries and backoff included), stops at once when aborted (in flight
// or between retries), and never prints credentials from the URL or the gate's answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EffectiveWebhook } from "../../../src/api/defaults.js";
import {
  attemptTimeoutMs,
  DEFAULT_HOOK_TIMEOUT_MS,
  HOOK_CALL_CAP_MS,
  hookBudgetMs,
  retryBackoffMs,
} from "../../../src/webhooks/budget.js";
import { callHook, callHooks } from "../../../src/webhooks/client.js";
import { webhook } from "./webhook.js";

let server: Server;
let base = "";
const hanging = new Set<ServerResponse>();
const closedRequests: string[] = [];
let hits = 0;

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    hits++;
    req.resume();
    if (req.url === "/hang") {
      hanging.add(res);
      res.on("close", () => closedRequests.push(req.url ?? ""));
      return;
    }
    if (req.url === "/busy") return res.writeHead(503).end();
    if (req.url === "/echo-secrets")
      return res
        .writeHead(500)
        .end("denied: Authorization: Bearer tok-999999 from http://admin:s3cret@gate?token=abcdef");
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  server.close();
});

const hook = (path: string, extra: Partial<EffectiveWebhook> = {}): EffectiveWebhook =>
  webhook("gate", `${base}${path}`, extra);
const payload = { name: "catalog-release", namespace: "shop", phase: "Progressing", checksum: "abc" };

describe("webhook call budget", () => {
  it("is every attempt's timeout plus the backoff sleeps, capped", () => {
    expect([1, 2, 3, 4, 5, 6, 100].map(retryBackoffMs)).toEqual([500, 1000, 2000, 4000, 5000, 5000, 5000]);
    expect(hookBudgetMs({ timeoutMs: 1000, retries: 0 })).toBe(1000);
    expect(hookBudgetMs({ timeoutMs: 1000, retries: 2 })).toBe(1000 * 3 + 500 + 1000);
    expect(hookBudgetMs({ timeoutMs: 10_000, retries: 1_000_000_000 })).toBe(HOOK_CALL_CAP_MS);
    expect(hookBudgetMs({ timeoutMs: 2 ** 45, retries: 0 })).toBe(HOOK_CALL_CAP_MS);
    expect(attemptTimeoutMs({ timeoutMs: 0 })).toBe(DEFAULT_HOOK_TIMEOUT_MS);
    expect(attemptTimeoutMs({ timeoutMs: 2 ** 45 })).toBe(HOOK_CALL_CAP_MS);
    expect(HOOK_CALL_CAP_MS).toBe(600_000);
  });

  it.each([
    ["timeout 0s", { timeoutMs: 0, retries: 0 }],
    ["a huge timeout", { timeoutMs: 2 ** 45, retries: 0 }],
    ["huge retries", { timeoutMs: 100, retries: 1_000_000_000 }],
    ["huge timeout and retries", { timeoutMs: 2 ** 40, retries: Number.MAX_SAFE_INTEGER }],
  ])("a server that never answers, with %s, is given up at the cap", async (_label, extra) => {
    const started = Date.now();
    const result = await callHook(hook("/hang", extra), payload, { capMs: 700 });
    const took = Date.now() - started;
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^gate: /);
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(1_500);
  });

  it("a 2^31 ms timeout does not turn into a 1 ms one", async () => {
    const started = Date.now();
    const result = await callHook(hook("/hang", { timeoutMs: 2 ** 31 }), payload, { capMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.ok).toBe(false);
  });

  it("says how many attempts it made when the overall deadline ends the retries", async () => {
    const result = await callHook(hook("/busy", { retries: 100, timeoutMs: 200 }), payload, { capMs: 1_200 });
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(
      /^gate: no success within 1200 ms \(\d+ attempts\); last answer: HTTP 503$/,
    );
  });
});

describe("webhook call abort", () => {
  it("an abort stops a call in flight within ~100 ms and closes the request", async () => {
    const ac = new AbortController();
    const before = closedRequests.length;
    setTimeout(() => ac.abort(), 150);
    const started = Date.now();
    const result = await callHook(hook("/hang", { timeoutMs: 60_000, retries: 5 }), payload, {
      signal: ac.signal,
    });
    const took = Date.now() - started;
    expect(result).toEqual({ ok: false, message: "gate: aborted" });
    expect(took).toBeLessThan(150 + 100);
    await new Promise((r) => setTimeout(r, 50));
    expect(closedRequests.length).toBeGreaterThan(before);
  });

  it("an abort during the sleep between retries ends it within ~100 ms, with no further attempt", async () => {
    const ac = new AbortController();
    hits = 0;
    // The first answer (503) comes at once; the call then sleeps 500 ms before retrying.
    setTimeout(() => ac.abort(), 150);
    const started = Date.now();
    const result = await callHook(hook("/busy", { retries: 10 }), payload, { signal: ac.signal });
    expect(result).toEqual({ ok: false, message: "gate: aborted" });
    expect(Date.now() - started).toBeLessThan(150 + 100);
    expect(hits).toBe(1);
  });

  it("an already aborted signal sends nothing; callHooks reports every hook aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    hits = 0;
    const result = await callHooks(
      [hook("/hang", { name: "a" }), hook("/busy", { name: "b" })],
      "confirm-promotion",
      payload,
      { signal: ac.signal },
    );
    expect(result).toEqual({ ok: false, message: "a: aborted; b: aborted" });
    expect(hits).toBe(0);
  });
});

describe("webhook credentials", () => {
  it("never prints userinfo, tokens or Authorization values, from the URL or the answer", async () => {
    const unreachable = await callHook(
      hook("", { url: "http://user:s3cret@127.0.0.1:1/?token=abcdef" }),
      payload,
    );
    expect(unreachable.ok).toBe(false);
    const answered = await callHook(hook("/echo-secrets"), payload);
    expect(answered.ok).toBe(false);
    expect(answered.message).toMatch(/^gate: HTTP 500 denied: /);
    for (const message of [unreachable.message, answered.message]) {
      expect(message).not.toContain("s3cret");
      expect(message).not.toContain("abcdef");
      expect(message).not.toContain("tok-999999");
    }
  });
});
