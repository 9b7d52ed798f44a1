// One simulated application version: a real HTTP server in its own process, started by backends.ts.
// Configured by env SIM_BACKEND (JSON: behaviour + identity). Reports its port over IPC; exits when the
// parent goes away, so no process outlives the simulator.
import http from "node:http";

interface Config {
  namespace: string;
  workload: string;
  version: string;
  image: string;
  errorRate: number;
  errorStatus: number;
  latencyMs: number;
  latencyJitterMs: number;
  slowFraction: number;
  slowMs: number;
}

function readConfig(): Config {
  const raw: unknown = JSON.parse(process.env.SIM_BACKEND ?? "{}");
  const o = typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
  const num = (k: string) => (typeof o[k] === "number" ? (o[k] as number) : 0);
  const str = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : "unknown");
  return {
    namespace: str("namespace"),
    workload: str("workload"),
    version: str("version"),
    image: str("image"),
    errorRate: num("errorRate"),
    errorStatus: num("errorStatus") || 500,
    latencyMs: num("latencyMs"),
    latencyJitterMs: num("latencyJitterMs"),
    slowFraction: num("slowFraction"),
    slowMs: num("slowMs"),
  };
}

const cfg = readConfig();

function plan(path: string): { delayMs: number; status: number } {
  let delayMs = cfg.latencyMs + Math.random() * cfg.latencyJitterMs;
  if (cfg.slowFraction > 0 && Math.random() < cfg.slowFraction) delayMs += cfg.slowMs;
  let status = cfg.errorRate > 0 && Math.random() < cfg.errorRate ? cfg.errorStatus : 200;
  // httpbin-style helpers for tests: /status/503, /delay/250
  const m = /^\/(status|delay)\/(\d+)(?:[/?]|$)/.exec(path);
  if (m?.[1] === "status") status = Number(m[2]);
  if (m?.[1] === "delay") delayMs += Number(m[2]);
  return { delayMs, status };
}

const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const { delayMs, status } = plan(req.url ?? "/");
    const timer = setTimeout(() => {
      const pod = typeof req.headers["x-mesh-pod"] === "string" ? req.headers["x-mesh-pod"] : "";
      const body = JSON.stringify({
        version: cfg.version,
        image: cfg.image,
        workload: cfg.workload,
        namespace: cfg.namespace,
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
        "x-sim-version": cfg.version,
        "x-sim-workload": cfg.workload,
        "x-sim-pod": pod,
      });
      res.end(body);
    }, delayMs);
    res.on("close", () => clearTimeout(timer));
  });
});
server.keepAliveTimeout = 30_000;

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  const port = addr && typeof addr === "object" ? addr.port : 0;
  if (process.send) process.send({ port });
  else process.stdout.write(`${JSON.stringify({ port })}\n`);
});

const shutdown = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on("disconnect", shutdown);
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
