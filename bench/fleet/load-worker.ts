// Child process of bench/fleet.ts: the load generator (test/mesh/load.ts), one steady open-loop run per
// namespace from the webapp (labels app=webapp) to its catalog, in a process of its own so that its CPU
// is measured apart and it never delays the bench's watch. Messages: {t:"start", proxyUrl, namespaces,
// qps, durationMs} → {t:"started"}; {t:"stop"} → {t:"result", ...} and exit; {t:"snapshot"} → {t:"snapshot", ...}.
import { type LoadResult, type LoadRun, startLoad } from "../../test/mesh/load.js";

export interface LoadSummary {
  sent: number;
  completed: number;
  failed: number;
  dropped: number;
  byStatus: Record<string, number>;
  latencyMs: { p50: number; p99: number; max: number };
  /** CPU seconds of this process so far */
  cpuS: number;
}

/** New webapp sidecars per second at the start (below istiod's 25 new xDS streams per second). */
const STARTS_PER_SECOND = 20;

const runs: LoadRun[] = [];
let latencies: number[] = [];

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

function summarize(results: LoadResult[], window: number[]): LoadSummary {
  const s: LoadSummary = {
    sent: 0,
    completed: 0,
    failed: 0,
    dropped: 0,
    byStatus: {},
    latencyMs: { p50: Number.NaN, p99: Number.NaN, max: Number.NaN },
    cpuS: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  };
  for (const r of results) {
    s.sent += r.sent;
    s.completed += r.completed;
    s.failed += r.failed;
    s.dropped += r.dropped;
    for (const [code, n] of Object.entries(r.byStatus)) s.byStatus[code] = (s.byStatus[code] ?? 0) + n;
  }
  const sorted = [...window].sort((a, b) => a - b);
  s.latencyMs = { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? Number.NaN };
  return s;
}

process.on(
  "message",
  (m: { t: string; proxyUrl?: string; namespaces?: string[]; qps?: number; durationMs?: number }) => {
    if (m.t === "start") {
      const namespaces = m.namespaces ?? [];
      const qps = m.qps ?? 1;
      // Spread the runs' starts: each namespace's first request connects its webapp sidecar to istiod,
      // which accepts ~25 new xDS streams per second on 2 cores (PILOT_MAX_REQUESTS_PER_SECOND's default,
      // 15 + 5 x GOMAXPROCS) and answers the rest ResourceExhausted; real pods do not all start at once.
      const spreadMs = Math.max(1000 / qps, (namespaces.length / STARTS_PER_SECOND) * 1000);
      namespaces.forEach((ns, i) => {
        setTimeout(
          () => {
            // As test/support/catalog.ts webappTraffic, with every response's latency pooled here.
            const run = startLoad({
              proxyUrl: m.proxyUrl ?? "",
              host: `catalog.${ns}`,
              qps,
              durationMs: m.durationMs ?? 600_000,
              source: { workload: "webapp", namespace: ns, labels: { app: "webapp" } },
              onResponse: (r) => latencies.push(r.latencyMs),
            });
            runs.push(run);
          },
          Math.floor((i / Math.max(1, namespaces.length)) * spreadMs),
        );
      });
      setTimeout(() => process.send?.({ t: "started" }), spreadMs + 10);
      return;
    }
    if (m.t === "snapshot") {
      // Latency quantiles over the requests completed since the previous snapshot.
      const window = latencies;
      latencies = [];
      process.send?.({
        t: "snapshot",
        summary: summarize(
          runs.map((r) => r.snapshot()),
          window,
        ),
      });
      return;
    }
    if (m.t === "stop") {
      void Promise.all(runs.map((r) => r.stop())).then((results) => {
        process.send?.({ t: "result", summary: summarize(results, latencies) }, () => process.exit(0));
      });
    }
  },
);

process.on("disconnect", () => process.exit(0));
