// Callers that give up mid-request must never take the simulator down: in the e2e suite it runs inside
// the test runner's main process, so one unhandled 'error' ends the whole test world.
import http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { meshRequest } from "./client.js";
import { startLoad } from "./load.js";
import type { MeshState } from "./model.js";
import { seededRng } from "./rng.js";
import { type MeshSimulator, startStaticMesh } from "./simulator.js";
import { flaggerCatalog, stateOf } from "./state-builders.js";
import { sendUpstream } from "./upstream.js";
import { clusterName, meshXds, routeTo } from "./xds-builders.js";

const NS = "shop";
const webapp = { workload: "webapp", namespace: NS, labels: { app: "webapp" } };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A request through the proxy that its caller abandons (socket destroyed) on `abandon()`. */
function abandonedRequest(proxyUrl: string): { sent: Promise<void>; abandon(): void } {
  const u = new URL(proxyUrl);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    path: "/",
    headers: {
      host: `catalog.${NS}`,
      "x-mesh-source-workload": "webapp",
      "x-mesh-source-namespace": NS,
      "x-mesh-source-labels": "app=webapp",
    },
  });
  req.on("error", () => {}); // our own destroy
  req.on("response", (res) => res.resume());
  return {
    sent: new Promise<void>((resolve) => req.end(() => resolve())),
    abandon: () => req.destroy(),
  };
}

describe("mesh simulator: callers that give up", () => {
  it("survives a client that leaves while the simulator starts its backend, and serves the next request", async () => {
    const parts = flaggerCatalog(NS);
    const state: MeshState = stateOf(parts);
    const mesh: MeshSimulator = await startStaticMesh({
      state: () => state,
      config: meshXds({ ...parts, routes: { catalog: [routeTo(clusterName("catalog-primary", NS))] } }),
      rng: seededRng(7),
      keepRecentRecords: 1000,
    });
    cleanups.push(() => mesh.stop());
    const unhandled: unknown[] = [];
    const onError = (err: unknown) => unhandled.push(err);
    process.on("uncaughtException", onError);
    cleanups.push(async () => {
      process.off("uncaughtException", onError);
    });

    const first = abandonedRequest(mesh.proxyUrl);
    await first.sent;
    // The backend process is forked but not listening yet: that is "starting".
    await until("backend starting", () => mesh.debugState().backends.some((b) => b.port === undefined));
    first.abandon();
    await until("backend up", () => mesh.debugState().backends.every((b) => b.port !== undefined));
    // Give the abandoned attempt time to reach sendUpstream (and, before the fix, to crash).
    await until("the abandoned request recorded as DC at the source", () =>
      mesh.telemetry
        .recentRecords()
        .some((r) => r.reporter === "source" && r.response_code === "0" && r.response_flags === "DC"),
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled).toEqual([]);

    const next = await meshRequest(mesh.proxyUrl, { host: `catalog.${NS}`, source: webapp });
    expect(next.status).toBe(200);
    expect(next.version).toBe("catalog:v1");
  });

  it("sendUpstream with an already-aborted signal answers 'cancelled' without touching the network", async () => {
    const agent = new http.Agent();
    cleanups.push(async () => agent.destroy());
    const gone = new AbortController();
    gone.abort();
    // Port 1: nothing listens there; a request actually sent would end as connect-failure.
    const result = await sendUpstream({
      port: 1,
      method: "GET",
      path: "/",
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: undefined,
      signal: gone.signal,
      agent,
    });
    expect(result).toEqual({ kind: "cancelled" });
    // Aborted while in flight: settles as cancelled, and the destroyed request's 'error' is handled.
    const server = http.createServer(() => {
      /* never answers */
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const a = server.address();
    const later = new AbortController();
    const pending = sendUpstream({
      port: a && typeof a === "object" ? a.port : 0,
      method: "GET",
      path: "/",
      headers: {},
      body: Buffer.alloc(0),
      timeoutMs: undefined,
      signal: later.signal,
      agent,
    });
    setTimeout(() => later.abort(), 50);
    expect(await pending).toEqual({ kind: "cancelled" });
  });

  it("the load generator counts a response cut short as failed and still stops", async () => {
    const server = http.createServer((req, res) => {
      if (req.url === "/cut") {
        res.writeHead(200, { "content-length": "100" });
        res.write("partial");
        setTimeout(() => res.socket?.destroy(), 20);
        return;
      }
      res.end("ok");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const a = server.address();
    const url = `http://127.0.0.1:${a && typeof a === "object" ? a.port : 0}`;
    const run = startLoad({ proxyUrl: url, host: "x", qps: 50, maxRequests: 5, path: "/cut" });
    const result = await Promise.race([
      run.done,
      new Promise<"hung">((r) => setTimeout(() => r("hung"), 3_000)),
    ]);
    expect(result).not.toBe("hung");
    if (result === "hung") return;
    expect(result.sent).toBe(5);
    expect(result.failed).toBe(5);
    expect(result.completed).toBe(0);
  });
});
