import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertLoopback, runLoad, startLoad } from "./load.js";

let server: http.Server;
let url: string;
const seen: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push(req.headers);
    const status = req.url === "/fail" ? 500 : 200;
    res.writeHead(status, { "x-sim-version": "app:v1" });
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const a = server.address();
  url = `http://127.0.0.1:${a && typeof a === "object" ? a.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("load generator", () => {
  it("only targets loopback addresses and must be bounded", () => {
    expect(() => assertLoopback("http://127.0.0.1:1")).not.toThrow();
    expect(() => assertLoopback("http://127.8.0.3:1")).not.toThrow();
    expect(() => assertLoopback("http://localhost:1")).not.toThrow();
    expect(() => assertLoopback("http://[::1]:1")).not.toThrow();
    expect(() => assertLoopback("http://10.0.0.1:1")).toThrow(/loopback/);
    expect(() => assertLoopback("http://example.com")).toThrow(/loopback/);
    expect(() => startLoad({ proxyUrl: url, host: "x", qps: 10 })).toThrow(/durationMs/);
    expect(() => startLoad({ proxyUrl: url, host: "x", qps: 0, durationMs: 10 })).toThrow(/qps/);
  });

  it("sends at a steady rate for the duration, as the given source", async () => {
    seen.length = 0;
    const r = await runLoad({
      proxyUrl: url,
      host: "catalog.shop",
      qps: 50,
      durationMs: 1000,
      source: { workload: "webapp", labels: { app: "webapp", version: "v1" } },
    });
    expect(r.sent).toBe(50);
    expect(r.completed).toBe(50);
    expect(r.byStatus).toEqual({ "200": 50 });
    expect(r.byVersion).toEqual({ "app:v1": 50 });
    expect(r.elapsedMs).toBeGreaterThan(950);
    expect(r.elapsedMs).toBeLessThan(2000);
    expect(seen[0]).toMatchObject({
      host: "catalog.shop",
      "x-mesh-source-workload": "webapp",
      "x-mesh-source-namespace": "shop",
      "x-mesh-source-labels": "app=webapp,version=v1",
    });
  });

  it("stops on maxRequests or on abort, counting statuses", async () => {
    const capped = await runLoad({ proxyUrl: url, host: "x", qps: 500, maxRequests: 30, path: "/fail" });
    expect(capped.sent).toBe(30);
    expect(capped.byVersionStatus).toEqual({ "app:v1 500": 30 });
    const ac = new AbortController();
    const run = startLoad({ proxyUrl: url, host: "x", qps: 100, durationMs: 60_000, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    const r = await run.done;
    expect(r.sent).toBeGreaterThan(20);
    expect(r.sent).toBeLessThan(45);
    expect(r.completed).toBe(r.sent);
  });
});
