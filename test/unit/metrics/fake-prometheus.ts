// A real HTTP server on 127.0.0.1 that answers /api/v1/query like Prometheus does, for the metric client
// and check runner tests. Each request is recorded with its decoded PromQL.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";

export interface RecordedQuery {
  method: string;
  path: string;
  /** the `query` parameter, decoded the way Prometheus (Go's url.ParseQuery) decodes it */
  query: string | null;
  headers: IncomingHttpHeaders;
}

export type Reply =
  | { status?: number; json: unknown }
  | { status: number; text: string }
  /** never answer: the client must time out */
  | "hang";

export type Handler = (query: string | null, req: RecordedQuery) => Reply;

export class FakePrometheus {
  readonly requests: RecordedQuery[] = [];
  private readonly hanging = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly address: string,
  ) {}

  /** `tls`: serve https with this key and certificate (e.g. a self-signed one) instead of http. */
  static async start(handler: Handler, tls?: { key: string; cert: string }): Promise<FakePrometheus> {
    let self: FakePrometheus | undefined;
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const rec: RecordedQuery = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams.get("query"),
        headers: req.headers,
      };
      self?.requests.push(rec);
      const reply = handler(rec.query, rec);
      if (reply === "hang") {
        self?.hanging.add(res);
        return;
      }
      if ("json" in reply) {
        res.writeHead(reply.status ?? 200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(reply.json));
      } else {
        res.writeHead(reply.status, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(reply.text);
      }
    };
    const server: Server = tls ? createTlsServer(tls, listener) : createServer(listener);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    self = new FakePrometheus(server, `${tls ? "https" : "http"}://127.0.0.1:${port}`);
    return self;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An address nothing listens on: bind a port, then release it. */
export async function closedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Prometheus' instant-vector answer; values are strings on the wire. */
export const vector = (...values: string[]) => ({
  status: "success" as const,
  data: {
    resultType: "vector",
    result: values.map((v, i) => ({
      metric: { series: String(i) },
      value: [1_735_725_600.123, v] as [number, string],
    })),
  },
});

export const scalar = (value: string) => ({
  status: "success" as const,
  data: { resultType: "scalar", result: [1_735_725_600.123, value] as [number, string] },
});

/** Prometheus' answer to an unparsable query (HTTP 400). */
export const badData = (error: string) => ({ status: "error" as const, errorType: "bad_data", error });

/** An instant vector with labelled series: `series([{ destination_workload: "catalog" }, "99.5"], ...)`. */
export const series = (...samples: Array<[Record<string, string>, string]>) => ({
  status: "success" as const,
  data: {
    resultType: "vector",
    result: samples.map(([metric, v]) => ({ metric, value: [1_735_725_600.123, v] as [number, string] })),
  },
});

/**
 * A test file's fake servers: `serve(handler)` starts one (TLS with a key and certificate), and every
 * one started is closed after each test.
 */
export function fakePrometheusServers(): (
  handler: Handler,
  tls?: { key: string; cert: string },
) => Promise<FakePrometheus> {
  const servers: FakePrometheus[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (handler, tls) => {
    const s = await FakePrometheus.start(handler, tls);
    servers.push(s);
    return s;
  };
}
