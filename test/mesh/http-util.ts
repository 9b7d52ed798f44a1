// Request/response plumbing of the sidecar: hop-by-hop stripping, the simulator's own headers, bodies.
// (Envoy's header mutations and path rewrites are in envoy/.)
import type http from "node:http";
import { SOURCE_HEADERS } from "./peer.js";

export type HeaderMap = Record<string, string>;

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "content-length",
]);
const SIMULATOR_HEADERS = new Set<string>(Object.values(SOURCE_HEADERS));

/** Incoming headers as one string each (repeated values joined with ","), minus hop-by-hop. */
export function flattenHeaders(h: http.IncomingHttpHeaders, dropSimulatorHeaders: boolean): HeaderMap {
  const out: HeaderMap = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    if (dropSimulatorHeaders && SIMULATOR_HEADERS.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(",") : v;
  }
  return out;
}

/** Response headers to pass back (set-cookie kept as a list). */
export function responseHeaders(h: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = v;
  }
  return out;
}

export function readBody(req: http.IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) over = true;
      else chunks.push(c);
    });
    req.on("end", () => resolve(over ? undefined : Buffer.concat(chunks)));
    req.on("error", () => resolve(undefined));
  });
}
