// One request through the mesh proxy as a given source workload (node:http: undici's fetch drops Host).
import http from "node:http";
import { assertLoopback, type LoadSource } from "./load.js";
import { formatLabelList, SOURCE_HEADERS } from "./peer.js";

export interface MeshRequest {
  host: string;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** undefined = an unknown caller (no x-mesh-source-* headers). */
  source?: LoadSource;
  timeoutMs?: number;
}

export interface MeshResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The answering backend's version (x-sim-version), undefined for mesh-local replies. */
  version: string | undefined;
  /** The answering pod (x-sim-pod). */
  pod: string | undefined;
}

export function sourceHeaders(source: LoadSource): Record<string, string> {
  const h: Record<string, string> = {
    [SOURCE_HEADERS.workload]: source.workload,
    [SOURCE_HEADERS.labels]: formatLabelList(source.labels ?? { app: source.workload }),
  };
  if (source.namespace) h[SOURCE_HEADERS.namespace] = source.namespace;
  if (source.serviceAccount) h[SOURCE_HEADERS.serviceAccount] = source.serviceAccount;
  return h;
}

export function meshRequest(proxyUrl: string, r: MeshRequest): Promise<MeshResponse> {
  const base = assertLoopback(proxyUrl);
  const headers: Record<string, string> = {
    ...r.headers,
    ...(r.source ? sourceHeaders(r.source) : {}),
    host: r.host,
  };
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname.replace(/^\[|\]$/g, ""),
      port: base.port,
      path: r.path ?? "/",
      method: r.method ?? "GET",
      headers,
    });
    req.setTimeout(r.timeoutMs ?? 30_000, () => req.destroy(new Error("mesh request timed out")));
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) || undefined;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          version: one(res.headers["x-sim-version"]),
          pod: one(res.headers["x-sim-pod"]),
        });
      });
    });
    req.end(r.body);
  });
}
