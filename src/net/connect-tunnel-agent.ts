// HTTPS through an HTTP(S) proxy needs a CONNECT tunnel, which axios does not do by itself (it would
// send the TLS request in clear to the proxy). This agent opens the tunnel and runs TLS to the target
// inside it, with Node's modules only, so AlertProvider `spec.proxy` works for https webhook URLs.
import { request as httpRequest, type IncomingMessage } from "node:http";
import {
  type AgentOptions,
  Agent as HttpsAgent,
  request as httpsRequest,
  type RequestOptions,
} from "node:https";
import { isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";
import { redact } from "./redact.js";
import { basicAuthorization, decodeUserinfo } from "./url-credentials.js";

/** How long the proxy may take to open the tunnel; the caller's own deadline usually ends it sooner. */
const CONNECT_TIMEOUT_MS = 10_000;

export class ConnectTunnelAgent extends HttpsAgent {
  private readonly proxyAuthorization: string | undefined;

  /**
   * `proxy`: http://[user:pass@]host:port or https://...; `options`: TLS options for the target (e.g. ca);
   * `signal`: the request's abort signal, which also ends a CONNECT still waiting for the proxy.
   */
  constructor(
    private readonly proxy: URL,
    options: AgentOptions = {},
    private readonly signal?: AbortSignal,
  ) {
    // One tunnel per request: a pooled TLS socket would outlive the CONNECT it was opened through.
    super({ ...options, keepAlive: false });
    this.proxyAuthorization =
      proxy.username || proxy.password
        ? basicAuthorization(decodeUserinfo(proxy.username), decodeUserinfo(proxy.password))
        : undefined;
  }

  override createConnection(
    options: RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? "localhost";
    const port = Number(options.port ?? 443);
    const target = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const secureProxy = this.proxy.protocol === "https:";
    let settled = false;
    const onAbort = () => connectRequest.destroy(new Error("aborted"));
    const settle = (err: Error | null, stream?: Duplex) => {
      if (settled) return;
      settled = true;
      this.signal?.removeEventListener("abort", onAbort);
      // Node's agent reads the stream only when err is null.
      callback?.(err, stream as Duplex);
    };
    const connectRequest = (secureProxy ? httpsRequest : httpRequest)({
      host: this.proxy.hostname,
      port: this.proxy.port || (secureProxy ? 443 : 80),
      method: "CONNECT",
      path: target,
      headers: {
        host: target,
        ...(this.proxyAuthorization ? { "proxy-authorization": this.proxyAuthorization } : {}),
      },
      agent: false,
      timeout: CONNECT_TIMEOUT_MS,
    });
    connectRequest.once("connect", (res: IncomingMessage, socket: Socket, head: Buffer) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        settle(new Error(`proxy refused the tunnel to ${target}: HTTP ${res.statusCode}`));
        return;
      }
      if (head.length > 0) socket.unshift(head);
      const tlsSocket = tlsConnect({
        socket,
        // The certificate is checked against the target host, not the proxy.
        host,
        servername: options.servername ?? (isIP(host) === 0 ? host : undefined),
        ca: options.ca,
        cert: options.cert,
        key: options.key,
        rejectUnauthorized: options.rejectUnauthorized ?? true,
      });
      settle(null, tlsSocket);
    });
    connectRequest.once("timeout", () =>
      connectRequest.destroy(new Error(`proxy did not open the tunnel within ${CONNECT_TIMEOUT_MS} ms`)),
    );
    connectRequest.once("error", (err: Error) => settle(new Error(`proxy: ${redact(err.message)}`)));
    if (this.signal?.aborted) onAbort();
    else this.signal?.addEventListener("abort", onAbort, { once: true });
    connectRequest.end();
    return undefined;
  }
}
