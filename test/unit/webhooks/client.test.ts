import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EffectiveWebhook } from "../../../src/api/defaults.js";
import { callHook, callHooks } from "../../../src/webhooks/client.js";
import { webhook } from "./webhook.js";

let server: Server;
let base = "";
const received: Array<{ path: string; body: unknown }> = [];
let flakyCalls = 0;

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString();
    });
    req.on("end", () => resolve(text ? JSON.parse(text) : undefined));
  });
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    received.push({ path: req.url ?? "", body: await readBody(req) });
    if (req.url === "/ok") return res.writeHead(200).end("ok");
    if (req.url === "/accepted") return res.writeHead(202).end();
    if (req.url === "/denied") return res.writeHead(403).end("not approved yet");
    if (req.url === "/flaky") return res.writeHead(++flakyCalls < 3 ? 503 : 200).end();
    if (req.url === "/hang") return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const hook = (name: string, path: string, extra: Partial<EffectiveWebhook> = {}): EffectiveWebhook =>
  webhook(name, `${base}${path}`, extra);
const payload = { name: "catalog-release", namespace: "shop", phase: "Progressing", checksum: "abc" };

describe("webhook client (Flagger's protocol)", () => {
  it("POSTs name, namespace, phase, checksum and the hook's metadata", async () => {
    const result = await callHook(hook("gate", "/ok", { metadata: { cmd: "hey -z 1m" } }), payload);
    expect(result).toEqual({ ok: true, message: "gate: HTTP 200" });
    expect(received.at(-1)?.body).toEqual({ ...payload, metadata: { cmd: "hey -z 1m" } });
  });

  it("treats 202 as yes and 403 as no, with the answer in the message", async () => {
    expect((await callHook(hook("a", "/accepted"), payload)).ok).toBe(true);
    expect(await callHook(hook("gate", "/denied"), payload)).toEqual({
      ok: false,
      message: "gate: HTTP 403 not approved yet",
    });
  });

  it("retries as configured before saying no", async () => {
    flakyCalls = 0;
    expect((await callHook(hook("flaky", "/flaky", { retries: 0 }), payload)).ok).toBe(false);
    flakyCalls = 0;
    expect((await callHook(hook("flaky", "/flaky", { retries: 2 }), payload)).ok).toBe(true);
    expect(flakyCalls).toBe(3);
  });

  it("gives up after the hook's timeout", async () => {
    const started = Date.now();
    const result = await callHook(hook("slow", "/hang", { timeoutMs: 300 }), payload);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^slow: /);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("opens a gate only when every hook of that type says yes", async () => {
    const both = [
      hook("one", "/ok"),
      hook("two", "/denied"),
      hook("other-type", "/denied", { type: "rollout" }),
    ];
    const result = await callHooks(both, "confirm-promotion", payload);
    expect(result.ok).toBe(false);
    expect(result.message).toBe("two: HTTP 403 not approved yet");
    expect((await callHooks([hook("one", "/ok")], "confirm-promotion", payload)).ok).toBe(true);
  });
});
