// One HTTP attempt from the sidecar to a backend process on loopback.
import http from "node:http";

export type AttemptResult =
  | { kind: "response"; status: number; headers: http.IncomingHttpHeaders; body: Buffer }
  | { kind: "connect-failure"; message: string }
  | { kind: "reset"; message: string }
  | { kind: "timeout" }
  | { kind: "cancelled" };

export interface AttemptRequest {
  port: number;
  method: string;
  path: string;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
  /** Per-attempt limit (perTryTimeout); undefined = none. */
  timeoutMs: number | undefined;
  /** Aborted when the whole request gives up (route timeout, client gone). */
  signal: AbortSignal | undefined;
  agent: http.Agent;
}

export function sendUpstream(a: AttemptRequest): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      a.signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const req = http.request({
      host: "127.0.0.1",
      port: a.port,
      method: a.method,
      path: a.path,
      headers: a.headers,
      agent: a.agent,
    });
    const onAbort = () => {
      finish({ kind: "cancelled" });
      req.destroy();
    };
    if (a.signal?.aborted) {
      onAbort();
      return;
    }
    a.signal?.addEventListener("abort", onAbort, { once: true });
    if (a.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        finish({ kind: "timeout" });
        req.destroy();
      }, a.timeoutMs);
    }
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") finish({ kind: "connect-failure", message: err.message });
      else finish({ kind: "reset", message: err.message });
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        finish({
          kind: "response",
          status: res.statusCode ?? 502,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on("error", (err) => finish({ kind: "reset", message: err.message }));
      res.on("aborted", () => finish({ kind: "reset", message: "upstream aborted" }));
    });
    req.end(a.body);
  });
}
