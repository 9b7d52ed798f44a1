// sendAlerts against local servers: delivery (directly, through spec.proxy, address from a Secret),
// a short fixed deadline, abort, and no address or credential in any outcome or log line.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CanaryAlert } from "../../../src/api/canary.js";
import { basicAuthorization } from "../../../src/net/url-credentials.js";
import { ALERT_DEADLINE_MS, type AlertContext, sendAlerts } from "../../../src/notifier/alerts.js";
import type { Alert } from "../../../src/notifier/payloads.js";
import { createLogger } from "../../../src/observability/logger.js";
import { LocalProxy } from "../net/local-proxy.js";
import { selfSignedCert } from "../net/tls-fixture.js";

let chat: Server;
let chatUrl = "";
const posted: Array<{ path: string; body: string }> = [];
const hanging = new Set<ServerResponse>();

beforeAll(async () => {
  chat = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      posted.push({ path: req.url ?? "", body });
      if (req.url?.startsWith("/hang")) {
        hanging.add(res);
        return;
      }
      if (req.url?.startsWith("/reject")) return res.writeHead(404).end("no_service");
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => chat.listen(0, "127.0.0.1", r));
  chatUrl = `http://127.0.0.1:${(chat.address() as AddressInfo).port}`;
});
afterAll(() => {
  for (const res of hanging) res.destroy();
  chat.closeAllConnections();
  chat.close();
});
afterEach(() => {
  posted.length = 0;
});

const alert: Alert = {
  subject: "catalog-release.shop",
  message: "Rolling back",
  severity: "error",
  fields: {},
};
const subscription: CanaryAlert = { name: "on-call", severity: "error", providerRef: { name: "slack" } };

function context(
  spec: Record<string, unknown>,
  secrets: Record<string, Record<string, string>> = {},
): AlertContext & { logs: () => string } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return {
    log: createLogger("info", dest),
    findProvider: (namespace, name) => ({
      apiVersion: "serin.dev/v1beta1",
      kind: "AlertProvider",
      metadata: { name, namespace },
      spec: { type: "slack", ...spec },
    }),
    readSecret: async (namespace, name) => secrets[`${namespace}/${name}`],
    logs: () => lines.join(""),
  };
}

describe("sendAlerts", () => {
  it("posts the alert to the provider address", async () => {
    const outcomes = await sendAlerts(
      context({ address: `${chatUrl}/services/T/B/tok-hook-1` }),
      "shop",
      [subscription],
      alert,
    );
    expect(outcomes).toEqual([{ alert: "on-call", provider: "shop/slack", sent: true, message: "HTTP 200" }]);
    expect(posted.map((p) => p.path)).toEqual(["/services/T/B/tok-hook-1"]);
  });

  it("reads the address from the Secret (key address) and names the Secret when it is missing", async () => {
    const ctx = context(
      { secretRef: { name: "slack-url" } },
      { "shop/slack-url": { address: `${chatUrl}/from-secret\n` } },
    );
    expect((await sendAlerts(ctx, "shop", [subscription], alert))[0]?.sent).toBe(true);
    expect(posted.map((p) => p.path)).toEqual(["/from-secret"]);
    const missing = await sendAlerts(context({ secretRef: { name: "gone" } }), "shop", [subscription], alert);
    expect(missing[0]).toMatchObject({ sent: false, message: "Secret gone (namespace shop) not found" });
    const noKey = await sendAlerts(
      context({ secretRef: { name: "s" } }, { "shop/s": { url: "x" } }),
      "shop",
      [subscription],
      alert,
    );
    expect(noKey[0]?.message).toBe('Secret s (namespace shop) has no key "address"');
  });

  it("goes through spec.proxy (with proxy credentials) for a plain-http address", async () => {
    const proxy = await LocalProxy.start(basicAuthorization("pu", "proxy-s3cret"));
    try {
      const ctx = context({
        address: `${chatUrl}/services/T/B/tok-hook-2`,
        proxy: proxy.url.replace("http://", "http://pu:proxy-s3cret@"),
      });
      const outcomes = await sendAlerts(ctx, "shop", [subscription], alert);
      expect(outcomes[0]?.sent).toBe(true);
      expect(proxy.seen.map((s) => s.target)).toEqual([`${chatUrl}/services/T/B/tok-hook-2`]);
      expect(posted.map((p) => p.path)).toEqual(["/services/T/B/tok-hook-2"]);
    } finally {
      await proxy.close();
    }
  });

  it("opens a CONNECT tunnel through spec.proxy for an https address", async () => {
    const proxy = await LocalProxy.start();
    const secure = createHttpsServer(selfSignedCert(), (_req, res) => res.writeHead(200).end("ok"));
    await new Promise<void>((r) => secure.listen(0, "127.0.0.1", r));
    const target = `127.0.0.1:${(secure.address() as AddressInfo).port}`;
    try {
      const ctx = context({ address: `https://${target}/services/T/B/tok-hook-3`, proxy: proxy.url });
      const [outcome] = await sendAlerts(ctx, "shop", [subscription], alert);
      expect(proxy.seen).toEqual([{ method: "CONNECT", target, proxyAuthorization: undefined }]);
      // The test server's certificate is self-signed, so verification (kept on for alerts) refuses it.
      expect(outcome?.sent).toBe(false);
      expect(outcome?.message).toMatch(new RegExp(`^could not reach https://${target}: `));
      expect(outcome?.message).not.toContain("tok-hook-3");
    } finally {
      secure.closeAllConnections();
      secure.close();
      await proxy.close();
    }
  });

  it("gives up at its deadline, and at once when aborted", async () => {
    expect(ALERT_DEADLINE_MS).toBe(10_000);
    const ctx = context({ address: `${chatUrl}/hang/tok-hook-4` });
    let started = Date.now();
    const [late] = await sendAlerts(ctx, "shop", [subscription], alert, { deadlineMs: 200 });
    expect(Date.now() - started).toBeLessThan(200 + 150);
    expect(late).toMatchObject({ sent: false, message: "not sent within 200 ms" });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    started = Date.now();
    const [aborted] = await sendAlerts(ctx, "shop", [subscription], alert, { signal: ac.signal });
    expect(Date.now() - started).toBeLessThan(50 + 100);
    expect(aborted).toMatchObject({ sent: false, message: "aborted" });
  });

  it("never prints the address, its token or proxy credentials, in outcomes or logs", async () => {
    const ctx = context({
      address: "http://hookuser:s3cret@127.0.0.1:1/services/T/B/tok-hook-5",
      proxy: "http://pu:proxy-s3cret@127.0.0.1:1",
    });
    const rejected = context({ address: `${chatUrl}/reject/tok-hook-6` });
    const outcomes = [
      ...(await sendAlerts(ctx, "shop", [subscription], alert)),
      ...(await sendAlerts(rejected, "shop", [subscription], alert)),
    ];
    expect(outcomes.map((o) => o.sent)).toEqual([false, false]);
    expect(outcomes[1]?.message).toBe(`rejected by ${chatUrl}: HTTP 404`);
    const everything = JSON.stringify(outcomes) + ctx.logs() + rejected.logs();
    for (const secret of ["s3cret", "tok-hook-5", "tok-hook-6", "proxy-s3cret", "hookuser"])
      expect(everything).not.toContain(secret);
  });

  it("skips subscriptions whose severity does not want the alert", async () => {
    const outcomes = await sendAlerts(context({ address: `${chatUrl}/x` }), "shop", [subscription], {
      ...alert,
      severity: "info",
    });
    expect(outcomes).toEqual([]);
    expect(posted).toEqual([]);
  });
});
