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
  // The caller may have given up while the backend was starting: send nothing at all. (Creating the
  // request and destroying it at once would emit 'error' — "socket hang up" — on the next tick.)
  if (a.signal?.aborted) return Promise.resolve({ kind: "cancelled" });
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
    // The error listener goes on before anything can destroy the request: a ClientRequest destroyed
    // (by abort, timeout or the peer) emits 'error', and an 'error' nobody listens to kills the process
    // that hosts the simulator — in the e2e suite, the whole test world.
    req.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ECONNREFUSED") finish({ kind: "connect-failure", message: err.message });
      else finish({ kind: "reset", message: err.message });
    });
    const onAbort = () => {
      finish({ kind: "cancelled" });
      req.destroy();
    };
    a.signal?.addEventListener("abort", onAbort, { once: true });
    if (a.timeoutMs !== undefined) {
      timer = setTimeout(() => {
        finish({ kind: "timeout" });
        req.destroy();
      }, a.timeoutMs);
    }
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
      // A response cut short without 'end' (socket closed mid-body) must still settle the attempt.
      res.on("close", () => {
        if (!res.complete) finish({ kind: "reset", message: "upstream closed mid-response" });
      });
    });
    req.end(a.body);
  });
}
