// A minimal forward proxy on 127.0.0.1 for tests: absolute-form requests for http targets and
// CONNECT tunnels for https targets, optionally requiring Proxy-Authorization. It records what it saw.
import { createServer, request, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";

export interface ProxiedRequest {
  method: string;
  /** absolute URL (plain http) or host:port (CONNECT) */
  target: string;
  proxyAuthorization: string | undefined;
}

export class LocalProxy {
  readonly seen: ProxiedRequest[] = [];
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  /** `requiredAuthorization`: the exact Proxy-Authorization value to accept; others get 407. */
  static async start(requiredAuthorization?: string): Promise<LocalProxy> {
    let self: LocalProxy | undefined;
    const allowed = (value: string | undefined) =>
      requiredAuthorization === undefined || value === requiredAuthorization;
    const server = createServer((req, res) => {
      const auth = req.headers["proxy-authorization"];
      self?.seen.push({ method: req.method ?? "", target: req.url ?? "", proxyAuthorization: auth });
      if (!allowed(auth)) return res.writeHead(407).end();
      const { "proxy-authorization": _drop, ...headers } = req.headers;
      const upstream = request(req.url ?? "", { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    server.on("connect", (req, client: Socket, head: Buffer) => {
      const auth = req.headers["proxy-authorization"];
      self?.seen.push({ method: "CONNECT", target: req.url ?? "", proxyAuthorization: auth });
      self?.sockets.add(client);
      if (!allowed(auth)) {
        client.end("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n");
        return;
      }
      const [host, port] = (req.url ?? "").split(":");
      const upstream = connect(Number(port), host ?? "127.0.0.1", () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      self?.sockets.add(upstream);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
    server.on("connection", (s: Socket) => self?.sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new LocalProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return self;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
