// Fault injection for e2e tests. The test world's processes belong to the vitest main process (global
// setup), while test files run in workers: this small loopback HTTP server lets a worker stop and start
// kube-apiserver and Prometheus. Every stop carries a deadline after which the world restores itself, so
// a test that dies mid-fault cannot leave the next test files without an API server.
import http from "node:http";
import { listenLoopback } from "../mesh/listen.js";
import type { Environment } from "./environment.js";

export interface WorldAdmin {
  url: string;
  /** Starts whatever is stopped (teardown, or between files). */
  restoreAll(): Promise<void>;
  close(): Promise<void>;
}

interface Component {
  stop(signal: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  running(): boolean;
}

const DEFAULT_RESTORE_AFTER_MS = 90_000;
const SIGNALS = new Set(["SIGTERM", "SIGKILL", "SIGINT"]);

export async function startWorldAdmin(env: Environment, log = (_: string) => {}): Promise<WorldAdmin> {
  const components: Record<string, Component> = {
    apiserver: {
      stop: (signal) => env.cluster.stopApiServer(signal),
      start: () => env.cluster.startApiServer(),
      running: () => env.cluster.apiServerRunning(),
    },
    prometheus: {
      stop: (signal) => env.prometheus.stopServer(signal),
      start: () => env.prometheus.startServer(),
      running: () => env.prometheus.running(),
    },
  };
  const restoreTimers = new Map<string, NodeJS.Timeout>();
  const restore = async (name: string) => {
    const timer = restoreTimers.get(name);
    if (timer) clearTimeout(timer);
    restoreTimers.delete(name);
    await components[name]?.start();
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://world");
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && url.pathname === "/status") {
      reply(
        200,
        Object.fromEntries(Object.entries(components).map(([k, c]) => [k, { running: c.running() }])),
      );
      return;
    }
    const m = /^\/(apiserver|prometheus)\/(stop|start)$/.exec(url.pathname);
    const component = m?.[1];
    const verb = m?.[2];
    if (req.method !== "POST" || component === undefined || verb === undefined) {
      reply(404, { error: "POST /{apiserver|prometheus}/{stop|start}, GET /status" });
      return;
    }
    const c = components[component];
    if (c === undefined) return reply(404, { error: component });
    const t0 = Date.now();
    if (verb === "stop") {
      const signal = (url.searchParams.get("signal") ?? "SIGTERM").toUpperCase();
      if (!SIGNALS.has(signal)) return reply(400, { error: `signal ${signal}` });
      const restoreAfterMs = Number(url.searchParams.get("restoreAfterMs") ?? DEFAULT_RESTORE_AFTER_MS);
      log(`world admin: stopping ${component} (${signal}; back at the latest in ${restoreAfterMs} ms)`);
      c.stop(signal as NodeJS.Signals)
        .then(() => {
          const old = restoreTimers.get(component);
          if (old) clearTimeout(old);
          restoreTimers.set(
            component,
            setTimeout(() => {
              log(`world admin: restoring ${component} after its deadline`);
              restore(component).catch((err: unknown) => log(`world admin: restore failed: ${String(err)}`));
            }, restoreAfterMs),
          );
          reply(200, { component, stopped: true, ms: Date.now() - t0 });
        })
        .catch((err: unknown) => reply(500, { error: String(err) }));
      return;
    }
    log(`world admin: starting ${component}`);
    restore(component)
      .then(() => reply(200, { component, running: true, ms: Date.now() - t0 }))
      .catch((err: unknown) => reply(500, { error: String(err) }));
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    async restoreAll() {
      for (const name of Object.keys(components)) await restore(name);
    },
    async close() {
      for (const t of restoreTimers.values()) clearTimeout(t);
      restoreTimers.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
