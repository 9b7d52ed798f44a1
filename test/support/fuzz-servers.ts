// Hostile local HTTP endpoints for the bad-input and credential e2e tests: one that accepts connections
// and never answers (a hung webhook or Prometheus), one that answers 401 to everything, and helpers
// to read Serin's own /metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface RecordedRequest {
  at: number;
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface TestServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** requests still waiting for an answer, by path (only the hanging server keeps any) */
  open(pathPrefix?: string): number;
  close(): Promise<void>;
}

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse, rec: RecordedRequest) => void,
): Promise<TestServer & { server: Server; pending: Map<IncomingMessage, string> }> {
  const requests: RecordedRequest[] = [];
  const pending = new Map<IncomingMessage, string>();
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const rec: RecordedRequest = {
        at: Date.now(),
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
      };
      requests.push(rec);
      handler(req, res, rec);
    });
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  // Never time out a request on our side: the client must give up by itself.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 0;
  server.timeout = 0;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    pending,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    open: (prefix = "") => [...pending.values()].filter((p) => p.startsWith(prefix)).length,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Accepts every request, reads it, and never answers; `open()` counts the requests the client still holds. */
export async function startHangingServer(): Promise<TestServer> {
  const s = await listen((req, _res, rec) => {
    s.pending.set(req, rec.url);
    req.socket.on("close", () => s.pending.delete(req));
  });
  return s;
}

/**
 * Answers 401 with a WWW-Authenticate challenge (a Prometheus behind auth, credentials refused). Under
 * /echo it answers 403 with a body that repeats the request line and its Authorization header, as
 * careless servers do: whatever the client sent comes back in the error text.
 */
export async function startUnauthorizedServer(): Promise<TestServer> {
  return listen((req, res, rec) => {
    if (rec.url.startsWith("/echo-json")) {
      // A Prometheus-style error that quotes the credentials it refused.
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: "error",
          errorType: "unauthorized",
          error: `bad credentials: authorization=${req.headers.authorization ?? "none"} url=${rec.url}`,
        }),
      );
      return;
    }
    if (rec.url.startsWith("/echo")) {
      res.writeHead(403, { "content-type": "text/plain" });
      res.end(`forbidden: ${rec.method} ${rec.url} authorization=${req.headers.authorization ?? "none"}`);
      return;
    }
    res.writeHead(401, {
      "content-type": "application/json",
      "www-authenticate": 'Basic realm="prometheus"',
    });
    res.end(JSON.stringify({ status: "error", errorType: "unauthorized", error: "bad credentials" }));
  });
}

/** Sum of a counter's series in a Prometheus text exposition, optionally only series whose labels contain `labelFilter`. */
export function counterSum(text: string, name: string, labelFilter = ""): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelFilter && !line.includes(labelFilter)) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(v)) sum += v;
  }
  return sum;
}

/** The series lines of one metric, for messages. */
export function seriesOf(text: string, name: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}
