// AlertProvider spec.proxy plumbing: plain http through axios' absolute-form proxying, https through
// a CONNECT tunnel with TLS to the target inside it (certificate still verified).
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import axios from "axios";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectTunnelAgent } from "../../../src/net/connect-tunnel-agent.js";
import { proxyRoute } from "../../../src/net/proxy.js";
import { basicAuthorization } from "../../../src/net/url-credentials.js";
import { LocalProxy } from "./local-proxy.js";
import { selfSignedCert } from "./tls-fixture.js";

let plain: Server;
let secure: Server;
let plainUrl = "";
let secureUrl = "";
const listen = async (s: Server) => {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return (s.address() as AddressInfo).port;
};

beforeAll(async () => {
  plain = createHttpServer((req, res) => res.writeHead(200).end(`plain ${req.url}`));
  secure = createHttpsServer(selfSignedCert(), (req, res) => res.writeHead(200).end(`secure ${req.url}`));
  plainUrl = `http://127.0.0.1:${await listen(plain)}`;
  secureUrl = `https://127.0.0.1:${await listen(secure)}`;
});
afterAll(() => {
  for (const s of [plain, secure]) {
    s.closeAllConnections();
    s.close();
  }
});

describe("proxyRoute", () => {
  it("sends plain http in absolute form through the proxy, with its credentials", async () => {
    const proxy = await LocalProxy.start(basicAuthorization("pu", "pp"));
    try {
      const route = proxyRoute(proxy.url.replace("http://", "http://pu:pp@"), `${plainUrl}/hook`);
      if (!route.ok) throw new Error(route.error);
      const res = await axios.post(`${plainUrl}/hook`, {}, { proxy: route.proxy });
      expect(res.data).toBe("plain /hook");
      expect(proxy.seen).toEqual([
        { method: "POST", target: `${plainUrl}/hook`, proxyAuthorization: basicAuthorization("pu", "pp") },
      ]);
    } finally {
      await proxy.close();
    }
  });

  it("tunnels https with CONNECT and still verifies the target's certificate", async () => {
    const proxy = await LocalProxy.start();
    try {
      const agent = new ConnectTunnelAgent(new URL(proxy.url), { ca: selfSignedCert().cert });
      const res = await axios.get(`${secureUrl}/x`, { httpsAgent: agent, proxy: false });
      expect(res.data).toBe("secure /x");
      expect(proxy.seen[0]).toMatchObject({ method: "CONNECT", target: secureUrl.replace("https://", "") });
      // Without the CA the tunnel opens but TLS to the target refuses the self-signed certificate.
      const untrusted = new ConnectTunnelAgent(new URL(proxy.url));
      const err = await axios.get(`${secureUrl}/x`, { httpsAgent: untrusted, proxy: false }).catch((e) => e);
      expect(String(err?.code ?? err)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    } finally {
      await proxy.close();
    }
  });

  it("reports a refused tunnel and an invalid proxy URL without printing credentials", async () => {
    const proxy = await LocalProxy.start("Basic nope");
    try {
      const agent = new ConnectTunnelAgent(new URL(proxy.url.replace("http://", "http://u:s3cret@")));
      const err = await axios.get(`${secureUrl}/`, { httpsAgent: agent, proxy: false }).catch((e) => e);
      expect(String(err?.message)).toContain("HTTP 407");
      expect(String(err?.message)).not.toContain("s3cret");
    } finally {
      await proxy.close();
    }
    const bad = proxyRoute("::not a url s3cret", plainUrl);
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).not.toContain("s3cret");
    const ftp = proxyRoute("ftp://u:s3cret@proxy:2121", plainUrl);
    expect(ftp).toEqual({ ok: false, error: "proxy ftp://proxy:2121 must be an http:// or https:// URL" });
  });

  it("an abort ends a tunnel the proxy has not opened yet", async () => {
    const accepted: Socket[] = [];
    let closed = 0;
    const silent = createTcpServer((socket) => {
      accepted.push(socket);
      // Read (and drop) what comes, so the client's close is seen.
      socket.resume();
      socket.on("close", () => closed++);
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const proxyUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    try {
      const ac = new AbortController();
      const agent = new ConnectTunnelAgent(new URL(proxyUrl), {}, ac.signal);
      setTimeout(() => ac.abort(), 50);
      const started = Date.now();
      const err = await axios
        .get(`${secureUrl}/`, { httpsAgent: agent, proxy: false, signal: ac.signal })
        .catch((e) => e);
      expect(err?.code).toBe("ERR_CANCELED");
      expect(Date.now() - started).toBeLessThan(50 + 100);
      await new Promise((r) => setTimeout(r, 50));
      expect(accepted.length).toBe(1);
      expect(closed).toBe(1);
    } finally {
      for (const s of accepted) s.destroy();
      silent.close();
    }
  });
});
