// Load generator: steady, open-loop QPS to one host through the mesh proxy, as a given source workload.
// Loopback only, always bounded (duration and/or request count), stops on its own.
import http from "node:http";
import { performance } from "node:perf_hooks";
import { formatLabelList, SOURCE_HEADERS } from "./peer.js";

export interface LoadSource {
  workload: string;
  namespace?: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
}

export interface LoadOptions {
  /** The mesh simulator's proxy URL (must be a loopback address). */
  proxyUrl: string;
  /** Host header: `catalog`, `catalog.shop` or the FQDN. */
  host: string;
  /** Requests per second (sent on schedule whether or not earlier ones answered). */
  qps: number;
  /** Stop after this long. At least one of durationMs / maxRequests is required. */
  durationMs?: number;
  /** Stop after sending this many. */
  maxRequests?: number;
  /** Stop early when aborted. */
  signal?: AbortSignal;
  path?: string;
  method?: string;
  headers?: Record<string, string>;
  /** Default: workload `webapp` in the namespace of `host` (or "default") with labels app=webapp. */
  source?: LoadSource;
  /** Per-request client timeout. Default 30 s. */
  timeoutMs?: number;
  /** Requests allowed in flight; beyond it a scheduled request is skipped and counted as dropped. */
  maxInFlight?: number;
  /** Called for every completed response (e.g. to pool latencies of many runs for one quantile). */
  onResponse?: (r: { status: number; version: string; latencyMs: number }) => void;
}

export interface LoadResult {
  sent: number;
  completed: number;
  /** Requests that got no HTTP response (connection error, client timeout). */
  failed: number;
  /** Scheduled requests skipped because maxInFlight were pending. */
  dropped: number;
  /** Responses by status code, e.g. {"200": 950, "500": 50}. */
  byStatus: Record<string, number>;
  /** Responses by the backend version that answered (x-sim-version), "none" for mesh-local replies. */
  byVersion: Record<string, number>;
  /** "version status" -> count, e.g. {"catalog:v2 500": 12}. */
  byVersionStatus: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  elapsedMs: number;
}

export interface LoadRun {
  /** Resolves when the run ends by itself (duration, count, signal) and in-flight requests settle. */
  done: Promise<LoadResult>;
  /** End now (pending requests are awaited, not cancelled). */
  stop(): Promise<LoadResult>;
  /** Counts so far. */
  snapshot(): LoadResult;
}

const HARD_LIMIT_MS = 30 * 60_000;

export function assertLoopback(url: string): URL {
  const u = new URL(url);
  const h = u.hostname.replace(/^\[|\]$/g, "");
  const ok = h === "localhost" || h === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
  if (!ok) throw new Error(`load generator: ${url} is not a loopback address`);
  return u;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

function defaultNamespace(host: string): string {
  const parts = host.split(".");
  return parts.length >= 2 && parts[1] ? parts[1] : "default";
}

export function startLoad(o: LoadOptions): LoadRun {
  const base = assertLoopback(o.proxyUrl);
  if (!(o.qps > 0)) throw new Error("load generator: qps must be > 0");
  if (o.durationMs === undefined && o.maxRequests === undefined) {
    throw new Error("load generator: give durationMs and/or maxRequests");
  }
  const durationMs = Math.min(o.durationMs ?? HARD_LIMIT_MS, HARD_LIMIT_MS);
  const maxRequests = o.maxRequests ?? Number.POSITIVE_INFINITY;
  const maxInFlight = o.maxInFlight ?? 1000;
  // Request i is due at i/qps seconds; those due at or after durationMs are never sent.
  const scheduled = Math.ceil((durationMs / 1000) * o.qps);
  const src = o.source ?? { workload: "webapp", labels: { app: "webapp" } };
  const headers: Record<string, string> = {
    ...o.headers,
    host: o.host,
    [SOURCE_HEADERS.workload]: src.workload,
    [SOURCE_HEADERS.namespace]: src.namespace ?? defaultNamespace(o.host),
    [SOURCE_HEADERS.labels]: formatLabelList(src.labels ?? { app: src.workload }),
  };
  if (src.serviceAccount) headers[SOURCE_HEADERS.serviceAccount] = src.serviceAccount;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const latencies: number[] = [];
  const r: LoadResult = {
    sent: 0,
    completed: 0,
    failed: 0,
    dropped: 0,
    byStatus: {},
    byVersion: {},
    byVersionStatus: {},
    latencyMs: { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN },
    elapsedMs: 0,
  };
  const bump = (m: Record<string, number>, k: string) => {
    m[k] = (m[k] ?? 0) + 1;
  };
  const t0 = performance.now();
  let inFlight = 0;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  let settle: (() => void) | undefined;
  const drained = new Promise<void>((resolve) => {
    settle = resolve;
  });

  const snapshot = (): LoadResult => {
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      ...r,
      byStatus: { ...r.byStatus },
      byVersion: { ...r.byVersion },
      byVersionStatus: { ...r.byVersionStatus },
      latencyMs: {
        p50: quantile(sorted, 0.5),
        p90: quantile(sorted, 0.9),
        p99: quantile(sorted, 0.99),
        max: sorted[sorted.length - 1] ?? Number.NaN,
      },
      elapsedMs: performance.now() - t0,
    };
  };

  const maybeSettle = () => {
    if (ended && inFlight === 0) settle?.();
  };

  const sendOne = () => {
    r.sent++;
    inFlight++;
    const start = performance.now();
    const req = http.request({
      host: base.hostname.replace(/^\[|\]$/g, ""),
      port: base.port,
      path: o.path ?? "/",
      method: o.method ?? "GET",
      headers,
      agent,
    });
    // Each request is counted exactly once: a response cut short (no 'end') or an error after the
    // response started must neither leave it in flight forever (stop() would never return) nor count twice.
    let counted = false;
    const failed = () => {
      if (counted) return;
      counted = true;
      r.failed++;
      inFlight--;
      maybeSettle();
    };
    req.on("error", failed);
    req.setTimeout(o.timeoutMs ?? 30_000, () => req.destroy(new Error("client timeout")));
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => {
        if (counted) return;
        counted = true;
        const status = String(res.statusCode ?? 0);
        const v = res.headers["x-sim-version"];
        const version = typeof v === "string" && v ? v : "none";
        r.completed++;
        bump(r.byStatus, status);
        bump(r.byVersion, version);
        bump(r.byVersionStatus, `${version} ${status}`);
        const latencyMs = performance.now() - start;
        latencies.push(latencyMs);
        o.onResponse?.({ status: res.statusCode ?? 0, version, latencyMs });
        inFlight--;
        maybeSettle();
      });
      res.on("error", failed);
      res.on("close", () => {
        if (!res.complete) failed();
      });
    });
    req.end();
  };

  const end = () => {
    if (ended) return;
    ended = true;
    if (timer) clearTimeout(timer);
    o.signal?.removeEventListener("abort", end);
    maybeSettle();
  };

  const tick = () => {
    timer = undefined;
    if (ended) return;
    const elapsed = performance.now() - t0;
    const due = Math.min(Math.floor((elapsed / 1000) * o.qps) + 1, maxRequests, scheduled);
    while (r.sent + r.dropped < due) {
      if (inFlight >= maxInFlight) r.dropped++;
      else sendOne();
    }
    if (r.sent + r.dropped >= Math.min(maxRequests, scheduled) || elapsed >= durationMs) return end();
    const nextAt = ((r.sent + r.dropped) / o.qps) * 1000;
    timer = setTimeout(tick, Math.max(0, Math.min(nextAt - elapsed, durationMs - elapsed)));
  };

  if (o.signal?.aborted) end();
  else {
    o.signal?.addEventListener("abort", end, { once: true });
    tick();
  }

  const done = drained.then(() => {
    agent.destroy();
    return snapshot();
  });
  return {
    done,
    stop: () => {
      end();
      return done;
    },
    snapshot,
  };
}

/** Run to completion. */
export function runLoad(o: LoadOptions): Promise<LoadResult> {
  return startLoad(o).done;
}
