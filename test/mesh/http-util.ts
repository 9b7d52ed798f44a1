// Header and path manipulation done by the sidecar: hop-by-hop stripping, VirtualService `headers`
// operations, `rewrite`.
import type http from "node:http";
import type { HeaderOperations, HttpMatchRequest, HttpRoute } from "./istio-types.js";
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

const isInternal = (k: string) => k.startsWith(":") || k.toLowerCase() === "host";
const isAuthority = (k: string) => k.toLowerCase() === ":authority" || k.toLowerCase() === "host";

/**
 * Apply one `headers.request` / `headers.response` block in place: set (overwrite), add (append), remove.
 * Returns an authority rewrite when `set`/`add` name `:authority` or `host` (set wins).
 */
export function applyHeaderOps(
  headers: Record<string, string | string[]>,
  ops: HeaderOperations | undefined,
): string | undefined {
  if (!ops) return undefined;
  let authority: string | undefined;
  let setAuthority: string | undefined;
  for (const [k, v] of Object.entries(ops.set ?? {})) {
    if (isAuthority(k)) setAuthority = v;
    if (isInternal(k)) continue;
    headers[k.toLowerCase()] = v;
  }
  for (const [k, v] of Object.entries(ops.add ?? {})) {
    if (isAuthority(k)) authority = v;
    if (isInternal(k)) continue;
    const key = k.toLowerCase();
    const prev = headers[key];
    if (prev === undefined) headers[key] = v;
    else if (Array.isArray(prev)) headers[key] = [...prev, v];
    else headers[key] = `${prev},${v}`;
  }
  for (const k of ops.remove ?? []) {
    if (isInternal(k)) continue;
    delete headers[k.toLowerCase()];
  }
  return setAuthority ?? authority;
}

function splitQuery(path: string): [string, string] {
  const q = path.indexOf("?");
  return q < 0 ? [path, ""] : [path.slice(0, q), path.slice(q)];
}

/**
 * The upstream path after `rewrite`: `uriRegexRewrite` replaces every match in the path (not the query);
 * `uri` swaps the matched prefix (`/` when the route had no uri match, as Envoy does) or the whole path
 * for exact / regex matches.
 */
export function rewritePath(
  route: HttpRoute | undefined,
  entry: HttpMatchRequest | undefined,
  path: string,
): string {
  const rw = route?.rewrite;
  if (!rw) return path;
  const [p, query] = splitQuery(path);
  if (rw.uriRegexRewrite) {
    try {
      const re = new RegExp(rw.uriRegexRewrite.match, "g");
      const replacement = rw.uriRegexRewrite.rewrite.replace(/\\(\d)/g, "$$$1");
      return p.replace(re, replacement) + query;
    } catch {
      return path;
    }
  }
  if (rw.uri === undefined || rw.uri === "") return path;
  const uri = entry?.uri;
  if (uri?.exact !== undefined || uri?.regex !== undefined) return rw.uri + query;
  const prefix = uri?.prefix ?? "/";
  const rest = p.toLowerCase().startsWith(prefix.toLowerCase()) ? p.slice(prefix.length) : p;
  return rw.uri + rest + query;
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
