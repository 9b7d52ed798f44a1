// The dashboard's HTTP server: the page (static files), JSON views, a Server-Sent Events stream of changes,
// and the buttons' control requests. It acts with the user's credentials, so it guards them:
// - Host must name this server (a DNS-rebinding page cannot reach it under another name);
// - a POST needs the per-process token embedded in the page (another site cannot read the page, so cannot
//   learn it), a JSON body (a cross-site form cannot send one), and no foreign Origin;
// - the page may not be framed (no clickjacking of the buttons) and loads nothing from elsewhere (CSP).
import { timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Canary, CONTROL_ACTIONS, type ControlAction } from "../../api/canary.js";
import type { CanaryEvent } from "../kube.js";
import { type ControlAnswer, detailView, listItem } from "./api.js";

/** What the server needs of the cluster: a watcher's cache and a way to send a control request. */
export interface Backend {
  context: string;
  /** "namespace shop" or "all namespaces" */
  scope: string;
  canaries(): Canary[];
  canary(key: string): Canary | undefined;
  events(key: string): CanaryEvent[];
  problem(): string | undefined;
  control(namespace: string, name: string, action: ControlAction, reason?: string): Promise<ControlAnswer>;
}

export interface DashboardOptions {
  /** per-process secret the page sends back with every POST */
  token: string;
  /** the Host header values this server answers to; undefined: any (--allow-remote) */
  hosts: () => ReadonlySet<string> | undefined;
  now?: () => Date;
  /** how long changes are gathered before they are pushed (the page must update within 2 s) */
  debounceMs?: number;
}

/** The static files of the page, by URL path. */
export const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/charts.js": { file: "charts.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/**
 * Where the page's files are: src/cli/dashboard/assets in the package, from src (tests) and from dist
 * alike (both are three levels below the package root), so the build needs no copy step.
 */
export const ASSETS_DIR = new URL("../../../src/cli/dashboard/assets/", import.meta.url);

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const MAX_BODY = 4_096;
const HEARTBEAT_MS = 15_000;

interface Client {
  res: ServerResponse;
  /** the Canary whose page is open, if any */
  key?: string;
}

export interface Dashboard {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** a Canary changed (key), or everything may have (undefined) */
  notify(key: string | undefined): void;
  close(): void;
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
};

/** One SSE frame: `event:` and one `data:` line (JSON has no newlines), then a blank line. */
export const sseFrame = (event: string, data: unknown): string =>
  `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

export function createDashboard(b: Backend, o: DashboardOptions): Dashboard {
  const now = o.now ?? (() => new Date());
  const clients = new Set<Client>();
  const dirty = new Set<string | undefined>();
  let flushTimer: NodeJS.Timeout | undefined;
  const heartbeat = setInterval(() => {
    for (const c of clients) c.res.write(": keep-alive\n\n");
  }, HEARTBEAT_MS);
  heartbeat.unref();

  const listBody = () => ({
    context: b.context,
    scope: b.scope,
    ...(b.problem() ? { problem: b.problem() } : {}),
    items: b
      .canaries()
      .map((c) => listItem(c, now()))
      .sort((x, y) => x.key.localeCompare(y.key)),
  });
  const detailBody = (key: string) => {
    const c = b.canary(key);
    return c === undefined ? undefined : detailView(c, b.events(key), now());
  };

  /** Pushes what changed since the last flush: the whole list on a relist, else the Canaries that changed. */
  const flush = () => {
    flushTimer = undefined;
    const keys = [...dirty];
    dirty.clear();
    const all = keys.includes(undefined);
    const list = all ? sseFrame("list", listBody()) : "";
    const items = all
      ? ""
      : keys
          .map((key) => {
            const c = key === undefined ? undefined : b.canary(key);
            return sseFrame("item", c ? listItem(c, now()) : { key, deleted: true });
          })
          .join("");
    for (const client of clients) {
      client.res.write(list + items);
      if (client.key !== undefined && (all || keys.includes(client.key)))
        client.res.write(sseFrame("detail", detailBody(client.key) ?? { key: client.key, deleted: true }));
    }
  };

  const stream = (res: ServerResponse, url: URL) => {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": "text/event-stream; charset=utf-8",
      connection: "keep-alive",
    });
    const key = url.searchParams.get("canary") ?? undefined;
    const client: Client = { res, ...(key ? { key } : {}) };
    clients.add(client);
    // The current state first: a page that reconnects after a break is whole again at once.
    res.write(`retry: 1000\n\n${sseFrame("list", listBody())}`);
    if (key) res.write(sseFrame("detail", detailBody(key) ?? { key, deleted: true }));
    // the response, not the request: a GET request "closes" once read, the stream lives on
    res.on("close", () => clients.delete(client));
  };

  const page = async (res: ServerResponse, path: string) => {
    const asset = ASSETS[path];
    if (asset === undefined) return send(res, 404, { error: `no such page: ${path}` });
    let text = await readFile(new URL(asset.file, ASSETS_DIR), "utf8");
    if (asset.file === "index.html") text = text.replace("__SERIN_TOKEN__", o.token);
    res.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.type });
    res.end(text);
  };

  const action = async (req: IncomingMessage, res: ServerResponse, ns: string, name: string) => {
    const refusal = checkPost(req, o.token);
    if (refusal) return send(res, 403, { error: refusal });
    const body = await readJson(req);
    if (body === undefined) return send(res, 400, { error: "the body must be JSON: {action, reason}" });
    const act = body.action;
    if (typeof act !== "string" || !(CONTROL_ACTIONS as readonly string[]).includes(act))
      return send(res, 400, { error: `action must be one of ${CONTROL_ACTIONS.join(", ")}` });
    const reason = typeof body.reason === "string" ? body.reason : undefined;
    const answer = await b.control(ns, name, act as ControlAction, reason);
    send(res, answer.status, answer.body);
  };

  const route = async (req: IncomingMessage, res: ServerResponse) => {
    const hosts = o.hosts();
    if (hosts !== undefined && !hosts.has(req.headers.host ?? ""))
      return send(res, 421, {
        error: `this dashboard does not answer to host ${req.headers.host ?? "(none)"}`,
      });
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    if (req.method === "POST") {
      if (parts.length === 5 && parts[0] === "api" && parts[1] === "canaries" && parts[4] === "actions")
        return action(req, res, parts[2] ?? "", parts[3] ?? "");
      return send(res, 404, { error: "no such action" });
    }
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "method not allowed" });
    if (url.pathname === "/api/events") return stream(res, url);
    if (url.pathname === "/api/canaries") return send(res, 200, listBody());
    if (parts.length === 4 && parts[0] === "api" && parts[1] === "canaries") {
      const key = `${parts[2]}/${parts[3]}`;
      const view = detailBody(key);
      return view
        ? send(res, 200, view)
        : send(res, 404, { error: `canary ${parts[3]} not found in namespace ${parts[2]}` });
    }
    return page(res, url.pathname);
  };

  return {
    handle: (req, res) => {
      route(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { error: err instanceof Error ? err.message : String(err) });
        else res.end();
      });
    },
    notify: (key) => {
      dirty.add(key);
      flushTimer ??= setTimeout(flush, o.debounceMs ?? 100);
    },
    close: () => {
      clearInterval(heartbeat);
      if (flushTimer) clearTimeout(flushTimer);
      for (const c of clients) c.res.end();
      clients.clear();
    },
  };
}

/** Why a POST is refused (a cross-site request, a missing token), or undefined when it may go on. */
export function checkPost(req: IncomingMessage, token: string): string | undefined {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host ?? ""}`)
    return `cross-site request refused: Origin ${origin} is not this dashboard`;
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin")
    return `cross-site request refused: Sec-Fetch-Site ${String(site)}`;
  const given = Buffer.from(String(req.headers["x-serin-token"] ?? ""));
  const want = Buffer.from(token);
  if (given.length !== want.length || !timingSafeEqual(given, want))
    return "missing or wrong dashboard token: reload the page (the dashboard was restarted?)";
  if (!(req.headers["content-type"] ?? "").startsWith("application/json"))
    return "the request must be application/json";
  return undefined;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  let raw = "";
  for await (const chunk of req) {
    raw += String(chunk);
    if (raw.length > MAX_BODY) return undefined;
  }
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
