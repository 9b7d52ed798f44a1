// The simulated applications: one child process (started by backends.ts) hosting many virtual backends,
// one real HTTP server on its own loopback port per workload version. Requests still cross a real process
// boundary and real sockets, as with a real pod, but creating a version costs a listen(), not a process
// start. Driven over IPC:
//   parent -> child  {t:"create", id, cfg, startedAt}   child -> parent  {t:"up", id, port} | {t:"fail", id, error}
//   parent -> child  {t:"close", id}                    child -> parent  {t:"closed", id}
//   child -> parent  {t:"stats", s: [[id, requests, errors], ...]}   (cumulative, about once a second when changed)
// Exits when the parent goes away (IPC disconnect), so no process outlives the simulator, even on SIGKILL.

import type { Server } from "node:http";
import http from "node:http";
import { type BackendConfig, planResponse } from "./backend-plan.js";

interface VirtualBackend {
  id: number;
  cfg: BackendConfig;
  /** ms since epoch when this version started (cold start and bursts count from here). */
  startedAt: number;
  server: Server;
  requests: number;
  errors: number;
  reported: number;
}

const backends = new Map<number, VirtualBackend>();

function send(msg: unknown): void {
  if (process.send && process.connected) process.send(msg);
}

function respond(b: VirtualBackend, req: http.IncomingMessage, res: http.ServerResponse): void {
  const now = Date.now();
  const { delayMs, status } = planResponse(b.cfg, req.url ?? "/", now, b.startedAt, Math.random);
  b.requests++;
  if (status >= 500) b.errors++;
  const timer = setTimeout(() => {
    const pod = typeof req.headers["x-mesh-pod"] === "string" ? req.headers["x-mesh-pod"] : "";
    const body = JSON.stringify({
      version: b.cfg.version,
      image: b.cfg.image,
      workload: b.cfg.workload,
      namespace: b.cfg.namespace,
      pod,
      status,
      method: req.method,
      path: req.url,
      host: req.headers.host,
      headers: req.headers,
    });
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-sim-version": b.cfg.version,
      "x-sim-workload": b.cfg.workload,
      "x-sim-pod": pod,
    });
    res.end(body);
  }, delayMs);
  res.on("close", () => clearTimeout(timer));
}

function create(id: number, cfg: BackendConfig, startedAt: number): void {
  const server = http.createServer();
  const b: VirtualBackend = { id, cfg, startedAt, server, requests: 0, errors: 0, reported: 0 };
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.resume();
    req.on("end", () => respond(b, req, res));
  });
  server.keepAliveTimeout = 30_000;
  backends.set(id, b);
  server.once("error", (err) => {
    backends.delete(id);
    send({ t: "fail", id, error: String(err) });
  });
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    send({ t: "up", id, port: addr && typeof addr === "object" ? addr.port : 0 });
  });
}

/** Stop accepting; requests in flight finish (a behaviour change must not reset them), idle sockets close. */
function close(id: number): void {
  const b = backends.get(id);
  backends.delete(id);
  if (!b) {
    send({ t: "closed", id });
    return;
  }
  b.server.close(() => send({ t: "closed", id }));
  b.server.closeIdleConnections();
  setTimeout(() => b.server.closeAllConnections(), 10_000).unref();
}

process.on("message", (raw: unknown) => {
  if (typeof raw !== "object" || raw === null) return;
  const m = raw as { t?: unknown; id?: unknown; cfg?: unknown; startedAt?: unknown };
  if (typeof m.id !== "number") return;
  if (m.t === "create" && typeof m.cfg === "object" && m.cfg !== null) {
    create(m.id, m.cfg as BackendConfig, typeof m.startedAt === "number" ? m.startedAt : Date.now());
  } else if (m.t === "close") {
    close(m.id);
  }
});

// Served counts, pushed (not polled) so the parent's list() stays synchronous.
const statsTimer = setInterval(() => {
  const s: Array<[number, number, number]> = [];
  for (const b of backends.values()) {
    if (b.requests === b.reported) continue;
    b.reported = b.requests;
    s.push([b.id, b.requests, b.errors]);
  }
  if (s.length > 0) send({ t: "stats", s });
}, 1_000);
statsTimer.unref();

const shutdown = () => {
  for (const b of backends.values()) {
    b.server.close();
    b.server.closeAllConnections();
  }
  process.exit(0);
};
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
send({ t: "ready" });
