// Capacity of the test world's mesh simulator: how many Canaries (each a primary and a canary version of a
// workload, with traffic) it carries before it, not Serin, becomes the bottleneck. No cluster needed.
//
// For each N on a ladder (10, 25, 50, 100, ...) it starts a fresh simulator in its own process: N
// namespaces, each with workload versions `catalog-primary` (catalog:v1) and `catalog` (catalog:v2) behind
// Service `catalog`, served by the simulator's BackendManager and recorded by its MeshTelemetry (both
// reporters, Istio's labels). It sends two requests to each Canary's Service, all Canaries at once, to bring
// its versions up ("firstRequests": what creating a version adds to request latency), then QPS requests/s to
// every Canary from this process (each client at its own offset in the second) for RAMP (5 s, not
// measured: clients connecting) + DURATION seconds, and measures:
//   - request latency p50/p99/max (client side), failures and non-200 answers;
//   - CPU (% of one core) of the simulator process, of its backend processes and of this load generator,
//     and RSS of the simulator and its backends, from /proc;
//   - GET /metrics: series, render time in the simulator, fetch time and bytes.
// It stops at the first N whose p99 exceeds 100 ms (or that fails >1% of requests) and prints the largest
// N that did not.
//
//   node --import tsx bench/mesh-capacity.ts [--sidecar proxy|minimal] [--xds-scope mesh|namespace]
//                                             [--backends shared|per-version] [--max N] [--ladder 10,50,...]
//                                             [--duration S] [--ramp S] [--qps Q] [--keep-going]
//   node --import tsx bench/mesh-capacity.ts --render-only 100,1000
//   node --import tsx bench/mesh-capacity.ts --scrape 1000 [--interval 1,2,5] [--shards 32] [--window S] [--warm S]
//                                             [--targets sharded|single|both]
//
// --scrape N: a real Prometheus (test/env/prometheus.ts) scraping N Canaries' worth of series (2 workloads x
// 2 reporters x 3 codes, each Canary with its own client workload, as the per-namespace load does) from
// the simulator's admin server, while 1 request/s per workload version keeps being recorded (so series
// change between scrapes, as under load). Once with the single /metrics target and once with the
// per-sidecar shards (/metrics/shard/<i>, one target each), at each scrape interval (timeout = interval):
// per-target scrape_duration_seconds (last and max over the window), up, scrape_samples_scraped,
// scrape_body_size_bytes, failed scrapes (timeouts), Prometheus' CPU and RSS, this process' CPU (the
// admin server) and whether Prometheus holds every series.
//
// --backends per-version brings back the old layout (one Node process per workload version) for a before/
// after comparison. --render-only times /metrics rendering for N Canaries' worth of series (2 workloads x
// 2 reporters x 3 codes), with the new renderer and with prom-client (what telemetry.ts used before).
//
// --sidecar proxy (default): the simulator process runs the REAL mesh proxy (test/mesh/simulator.ts
// startStaticMesh: MeshProxy, Envoy semantics, BackendManager, MeshTelemetry) over a static Envoy config in
// istiod's form, as istiod generates it for Serin's VirtualService: for Canary i, namespace `cap-i` with
// Services `app-i` (selects the primary, like Flagger's apex), `app-i-primary` and `app-i-canary`, route
// config "80" whose `app-i` virtual host has Serin's single unnamed route, weighted_clusters 90/10 to
// `outbound|80||app-i-primary.cap-i.svc.cluster.local` / `outbound|80||app-i-canary...`, timeout 0s and
// Istio's default retry policy (shape copied from test/mesh/xds/fixtures/*.json); one EDS cluster
// (LEAST_REQUEST, circuit breakers at max, panic threshold 0) and one endpoint (one static pod, distinct IP)
// per Service; pods `app-i-primary` (catalog:v1) and `app-i` (catalog:v2), ready, with an app label.
// Callers: one source identity per namespace (workload webapp, app=webapp), Host `app-i.cap-i`.
//   --xds-scope mesh (default): one snapshot with every Canary's Services, the same for every caller
//     (istiod without a Sidecar resource sends every sidecar the whole mesh; the only per-namespace
//     difference, the short-name domains of the caller's own namespace, is left out: callers use
//     `app-i.cap-i`), compiled once;
//   --xds-scope namespace: each caller namespace gets its own snapshot with its namespace's Services only
//     (a Sidecar with egress `./*`), short names included; N snapshots compiled.
// The warm-up requests go to `app-i-primary.cap-i` and `app-i-canary.cap-i` (so both versions' backends
// exist and every namespace's sidecar is connected before the measurement; they add 2 series per Canary).
// --sidecar minimal: the former stand-in (pick a version round robin, forward to BackendManager, record
// both reporters in MeshTelemetry; no Envoy config), for comparison.
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Counter, Histogram, Registry } from "prom-client";
import { startPrometheus } from "../test/env/prometheus.js";
import { createAdminServer, metricsTargets } from "../test/mesh/admin.js";
import { BackendManager, type BackendSpec } from "../test/mesh/backends.js";
import {
  type Behaviour,
  behaviourKey,
  type ImageCatalogue,
  loadImageCatalogue,
} from "../test/mesh/behaviour.js";
import type {
  ClusterJson,
  ClusterLoadAssignmentJson,
  RouteJson,
  VirtualHostJson,
  XdsSnapshot,
} from "../test/mesh/envoy/xds-json.js";
import { serviceFqdn } from "../test/mesh/hosts.js";
import { startLoad } from "../test/mesh/load.js";
import type { MeshState, PodInfo, ServiceInfo } from "../test/mesh/model.js";
import { type PeerInfo, peerFromLabels } from "../test/mesh/peer.js";
import { type SidecarIdentity, startStaticMesh } from "../test/mesh/simulator.js";
import { podOf, serviceOf, stateOf } from "../test/mesh/state-builders.js";
import {
  DURATION_BUCKETS_MS,
  LABEL_NAMES,
  type LabelName,
  MeshTelemetry,
  type RequestRecord,
  requestLabels,
} from "../test/mesh/telemetry.js";
import {
  clusterName,
  edsCluster,
  ISTIO_DEFAULT_RETRY,
  loadAssignment,
  PASSTHROUGH,
  routeConfig,
  routeTo,
  snapshotOf,
} from "../test/mesh/xds-builders.js";

// ---------------------------------------------------------------------------------------------- settings

const argv = process.argv.slice(2);
function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}
const ROLE = flag("role") ?? "main";
const BACKENDS = flag("backends") === "per-version" ? "per-version" : "shared";
const MAX = Number(flag("max") ?? 1000);
const DURATION_S = Number(flag("duration") ?? 20);
const QPS = Number(flag("qps") ?? 1);
const RAMP_S = Number(flag("ramp") ?? 5);
const P99_LIMIT_MS = 100;
const SIDECAR: "proxy" | "minimal" = flag("sidecar") === "minimal" ? "minimal" : "proxy";
const XDS_SCOPE: "mesh" | "namespace" = flag("xds-scope") === "namespace" ? "namespace" : "mesh";
/** Go on up the ladder after the first N over the limit (to see how latency grows). */
const KEEP_GOING = argv.includes("--keep-going");
const LADDER = (
  flag("ladder") ??
  (SIDECAR === "proxy" ? "50,100,200,400,600,800,1000" : "10,25,50,100,200,300,400,500,600,700,800,1000")
)
  .split(",")
  .map(Number)
  .filter((n) => Number.isInteger(n) && n > 0 && n <= MAX);

const SELF = fileURLToPath(import.meta.url);
const ns = (i: number) => `cap-${i}`;
const VERSIONS = [
  { workload: "catalog-primary", hash: "p1", image: "catalog:v1" },
  { workload: "catalog", hash: "c2", image: "catalog:v2" },
] as const;

// ---------------------------------------------------------------------------------------------- /proc

const TICKS_PER_S = 100;

function procStat(pid: number): { ppid: number; cpuS: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S };
  } catch {
    return undefined;
  }
}

function rssMB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(Number(d));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(d));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

interface Usage {
  simCpuS: number;
  backendCpuS: number;
  simRssMB: number;
  backendRssMB: number;
  backendProcs: number;
}

function usage(simPid: number): Usage {
  const kids = descendants(simPid);
  return {
    simCpuS: procStat(simPid)?.cpuS ?? 0,
    backendCpuS: kids.reduce((a, p) => a + (procStat(p)?.cpuS ?? 0), 0),
    simRssMB: rssMB(simPid),
    backendRssMB: kids.reduce((a, p) => a + rssMB(p), 0),
    backendProcs: kids.length,
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** Share of time runnable tasks waited for a CPU (PSI "some" avg10, %): other work on the machine. */
function cpuPressure(): number | undefined {
  try {
    const m = /some avg10=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Kernel TCP counters (whole machine): accept queues that overflowed, SYNs sent again. */
function tcpCounters(): { listenOverflows: number; synRetrans: number } {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    const i = lines.findIndex((l) => l.startsWith("TcpExt:"));
    const names = (lines[i] ?? "").split(" ");
    const values = (lines[i + 1] ?? "").split(" ");
    const get = (n: string) => Number(values[names.indexOf(n)] ?? 0);
    return { listenOverflows: get("ListenOverflows"), synRetrans: get("TCPSynRetrans") };
  } catch {
    return { listenOverflows: 0, synRetrans: 0 };
  }
}

const r0 = (x: number) => Math.round(x);
const r1 = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------------------- render only

/** The same records into the new MeshTelemetry and into prom-client (what telemetry.ts used before). */
async function renderOnly(n: number): Promise<void> {
  const t = new MeshTelemetry();
  const reg = new Registry();
  const c = new Counter({
    name: "istio_requests_total",
    help: "x",
    labelNames: LABEL_NAMES,
    registers: [reg],
  });
  const h = new Histogram({
    name: "istio_request_duration_milliseconds",
    help: "x",
    labelNames: LABEL_NAMES,
    buckets: DURATION_BUCKETS_MS,
    registers: [reg],
  });
  const src = peerFromLabels("webapp", "default", { app: "webapp" }, "default");
  let records = 0;
  const recs: Array<[RequestRecord, number]> = [];
  for (let i = 0; i < n; i++) {
    for (const v of VERSIONS) {
      const d = peerFromLabels(v.workload, ns(i), { app: v.workload }, "default");
      const service = { host: `catalog.${ns(i)}.svc.cluster.local`, name: "catalog", namespace: ns(i) };
      for (const reporter of ["source", "destination"] as const) {
        for (const code of [200, 500, 503]) {
          for (const ms of [3, 40, 700]) {
            recs.push([
              { reporter, source: src, destination: d, service, responseCode: code, flags: [] },
              ms,
            ]);
          }
        }
      }
    }
  }
  let t0 = performance.now();
  for (const [r, ms] of recs) t.record(r, ms);
  const recordNew = (performance.now() - t0) / recs.length;
  t0 = performance.now();
  for (const [r, ms] of recs) {
    const l = requestLabels(r) as Record<LabelName, string>;
    c.inc(l);
    h.observe(l, ms);
    records++;
  }
  const recordOld = (performance.now() - t0) / recs.length;
  const time = async (f: () => Promise<{ length: number }> | { length: number }) => {
    const a = performance.now();
    const out = await f();
    return { ms: performance.now() - a, bytes: out.length };
  };
  const first = await time(() => t.renderBuffer());
  const chunks = await time(() => {
    const c = t.renderChunks();
    return { length: c.length };
  });
  const again = await time(() => t.renderBuffer());
  // a scrape after 1 request per Canary version (the others idle)
  for (let i = 0; i < recs.length; i += 18) {
    const rec = recs[i];
    if (rec) t.record(rec[0], rec[1]);
  }
  const partly = await time(() => t.renderBuffer());
  for (let i = 0; i < recs.length; i += 18) {
    const rec = recs[i];
    if (rec) t.record(rec[0], rec[1]);
  }
  const partlyChunks = await time(() => ({ length: t.renderChunks().length }));
  const asString = await time(() => t.metrics());
  const old = await time(() => reg.metrics());
  process.stdout.write(
    `${JSON.stringify({
      canaries: n,
      series: t.seriesCount(),
      records,
      bytesMB: r1(first.bytes / 1e6),
      renderMs: {
        first: r0(first.ms),
        unchangedChunks: r1(chunks.ms),
        unchanged: r0(again.ms),
        afterOneRequestPerVersion: r0(partly.ms),
        afterOneRequestPerVersionChunks: r0(partlyChunks.ms),
        asString: r0(asString.ms),
        promClient: r0(old.ms),
      },
      recordUs: { new: r1(recordNew * 1000), promClient: r1(recordOld * 1000) },
    })}\n`,
  );
}

// ---------------------------------------------------------------------------------------------- scrape

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function promQuery(url: string, q: string): Promise<PromSample[]> {
  const u = new URL("/api/v1/query", url);
  u.searchParams.set("query", q);
  const res = await fetch(u);
  const body = (await res.json()) as { status: string; data?: { result: PromSample[] }; error?: string };
  if (body.status !== "success" || !body.data) throw new Error(`${q}: ${body.error ?? body.status}`);
  return body.data.result;
}

/** Per-target values of a query, keyed by the target's metrics path (scrape path or "/metrics"). */
async function perTarget(url: string, q: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of await promQuery(url, q)) {
    const inst = r.metric.instance ?? "";
    const shard = /\/shard\/(\d+)$/.exec(inst);
    out.set(shard ? `shard/${shard[1]}` : "metrics", Number(r.value[1]));
  }
  return out;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    min: s[0] ?? Number.NaN,
    p50: quantile(s, 0.5),
    max: s[s.length - 1] ?? Number.NaN,
  };
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Records N Canaries' label sets, then keeps 1 request/s per workload version coming (both reporters). */
function scrapeWorld(n: number, shards: number): { telemetry: MeshTelemetry; stop: () => void } {
  const telemetry = new MeshTelemetry(0, shards);
  const reqs: RequestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const client = peerFromLabels("webapp", ns(i), { app: "webapp" }, "default");
    const service = { host: `catalog.${ns(i)}.svc.cluster.local`, name: "catalog", namespace: ns(i) };
    for (const v of VERSIONS) {
      const d = peerFromLabels(v.workload, ns(i), { app: v.workload }, "default");
      for (const code of [200, 500, 503]) {
        for (const reporter of ["source", "destination"] as const) {
          const r: RequestRecord = {
            reporter,
            source: client,
            destination: d,
            service,
            responseCode: code,
            flags: [],
          };
          for (const ms of [3, 40, 700]) telemetry.record(r, ms);
          if (code === 200) reqs.push(r);
        }
      }
    }
  }
  // 1 rps per version = reqs.length/2 requests/s, each recorded by both reporters; every 100 ms a tenth.
  let cursor = 0;
  let tick = 0;
  const timer = setInterval(() => {
    const perTick = Math.ceil(reqs.length / 10);
    for (let k = 0; k < perTick; k++) {
      const r = reqs[cursor % reqs.length] as RequestRecord;
      cursor++;
      tick++;
      // one in 50 answers is a 500 (an existing series of the same sidecar)
      telemetry.record(tick % 50 === 0 ? { ...r, responseCode: 500 } : r, 5 + (tick % 40));
    }
  }, 100);
  return { telemetry, stop: () => clearInterval(timer) };
}

async function scrapePhase(
  n: number,
  telemetry: MeshTelemetry,
  host: string,
  mode: "single" | "sharded",
  intervalS: number,
  windowS: number,
): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), "serin-scrape-bench-"));
  const prom = await startPrometheus(dir, intervalS, {
    extraArgs: ["--enable-feature=extra-scrape-metrics"],
  });
  try {
    const targets =
      mode === "single"
        ? [{ target: host, metricsPath: "/metrics", labels: { instance: host } }]
        : metricsTargets(host, telemetry.shards);
    prom.setTargets("mesh", targets);
    // file_sd refresh (1 s), then every target's first scrape (spread over one interval), then the window.
    const warmS = Number(flag("warm") ?? Math.max(15, 3 * intervalS + 5));
    await new Promise((r) => setTimeout(r, warmS * 1000));
    const pid = prom.pid() as number;
    const p0 = procStat(pid)?.cpuS ?? 0;
    const s0 = process.cpuUsage();
    const w0 = performance.now();
    let rssMax = 0;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, rssMB(pid));
    }, 1000);
    await new Promise((r) => setTimeout(r, windowS * 1000));
    clearInterval(sampler);
    const wallS = (performance.now() - w0) / 1000;
    const promCpuPct = (((procStat(pid)?.cpuS ?? 0) - p0) / wallS) * 100;
    const s1 = process.cpuUsage(s0);
    const adminCpuPct = ((s1.user + s1.system) / 1e6 / wallS) * 100;
    const w = `${Math.round(windowS)}s`;
    const sel = `{job="mesh"}`;
    const [lastDur, maxDur, up, samplesScraped, bodyBytes, scrapes, okScrapes, seriesHeld] =
      await Promise.all([
        perTarget(prom.url, `scrape_duration_seconds${sel}`),
        perTarget(prom.url, `max_over_time(scrape_duration_seconds${sel}[${w}])`),
        perTarget(prom.url, `up${sel}`),
        perTarget(prom.url, `max_over_time(scrape_samples_scraped${sel}[${w}])`),
        perTarget(prom.url, `max_over_time(scrape_body_size_bytes${sel}[${w}])`),
        perTarget(prom.url, `count_over_time(up${sel}[${w}])`),
        perTarget(prom.url, `sum_over_time(up${sel}[${w}])`),
        promQuery(prom.url, "count(istio_requests_total)"),
      ]);
    const errors = new Set<string>();
    const t = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as {
      data: { activeTargets: Array<{ lastError?: string }> };
    };
    for (const a of t.data.activeTargets) if (a.lastError) errors.add(a.lastError.replace(/\d+/g, "N"));
    const nScrapes = [...scrapes.values()].reduce((a, b) => a + b, 0);
    const nOk = [...okScrapes.values()].reduce((a, b) => a + b, 0);
    const maxes = [...maxDur.values()];
    const perTargetLine = Object.fromEntries(
      [...lastDur.keys()].sort().map((k) => [
        k,
        {
          lastS: r3(lastDur.get(k) ?? Number.NaN),
          maxS: r3(maxDur.get(k) ?? Number.NaN),
          up: up.get(k),
          samples: samplesScraped.get(k),
          MB: r1((bodyBytes.get(k) ?? 0) / 1e6),
        },
      ]),
    );
    return {
      canaries: n,
      targets: mode,
      targetCount: targets.length,
      scrapeIntervalS: intervalS,
      scrapeTimeoutS: intervalS,
      windowS: r0(wallS),
      labelSets: telemetry.seriesCount(),
      scrapeDurationS: {
        last: Object.fromEntries(Object.entries(stats([...lastDur.values()])).map(([k, v]) => [k, r3(v)])),
        maxOverWindow: r3(Math.max(...maxes)),
        p50OfTargetMax: r3(stats(maxes).p50),
      },
      scrapes: nScrapes,
      /** One per target per interval; fewer = scrape loops running late (a scrape still going). */
      expectedScrapes: Math.floor((targets.length * windowS) / intervalS),
      failedScrapes: nOk === nScrapes ? 0 : nScrapes - nOk,
      anyOverTimeout: nOk < nScrapes || maxes.some((m) => m >= intervalS),
      targetsDownNow: [...up.values()].filter((v) => v !== 1).length,
      samplesPerScrape: stats([...samplesScraped.values()]),
      samplesPerRound: [...samplesScraped.values()].reduce((a, b) => a + b, 0),
      bytesPerScrapeMB: Object.fromEntries(
        Object.entries(stats([...bodyBytes.values()])).map(([k, v]) => [k, r1(v / 1e6)]),
      ),
      bytesPerRoundMB: r1([...bodyBytes.values()].reduce((a, b) => a + b, 0) / 1e6),
      prometheus: { cpuPct: r0(promCpuPct), rssMB: r0(rssMB(pid)), rssMaxMB: r0(rssMax) },
      adminServerCpuPct: r0(adminCpuPct),
      istioRequestsSeriesHeld: Number(seriesHeld[0]?.value[1] ?? 0),
      lastErrors: [...errors],
      perTarget: perTargetLine,
    };
  } finally {
    await prom.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function scrapeBench(n: number): Promise<void> {
  const shards = Number(flag("shards") ?? 32);
  const intervals = (flag("interval") ?? "1,2,5").split(",").map(Number);
  const which = flag("targets") ?? "both";
  const modes: Array<"single" | "sharded"> =
    which === "single" ? ["single"] : which === "sharded" ? ["sharded"] : ["sharded", "single"];
  const { telemetry, stop } = scrapeWorld(n, shards);
  const admin = createAdminServer(telemetry, () => ({ sidecars: [], services: [], pods: [], backends: [] }));
  await new Promise<void>((r) => admin.listen(0, "127.0.0.1", () => r()));
  const a = admin.address();
  const host = `127.0.0.1:${a && typeof a === "object" ? a.port : 0}`;
  process.stdout.write(
    `# scrape: ${n} Canaries, ${telemetry.seriesCount()} label sets, ${telemetry.partitions().length} sidecars ` +
      `over ${shards} shards, intervals ${intervals.join(",")} s; prometheus ${host}\n`,
  );
  try {
    for (const intervalS of intervals) {
      for (const mode of modes) {
        const windowS = Number(flag("window") ?? Math.max(30, 6 * intervalS));
        const line = await scrapePhase(n, telemetry, host, mode, intervalS, windowS);
        process.stdout.write(`${JSON.stringify(line)}\n`);
      }
    }
  } finally {
    stop();
    admin.closeAllConnections();
    admin.close();
  }
}

// ---------------------------------------------------------------------------------------------- static xDS

/** Canary i's workloads, Services and pods (Flagger's layout: apex `app-i` selects the primary). */
interface CanaryWorld {
  namespace: string;
  app: string;
  services: ServiceInfo[];
  pods: PodInfo[];
  clusterIps: Map<string, string>;
}

const appOf = (i: number) => `app-${i}`;

function canaryWorld(i: number): CanaryWorld {
  const namespace = ns(i);
  const app = appOf(i);
  const primary = podOf({
    deployment: `${app}-primary`,
    namespace,
    hash: "p1",
    labels: { app: `${app}-primary`, version: "v1" },
    image: "catalog:v1",
  });
  const canary = podOf({
    deployment: app,
    namespace,
    hash: "c2",
    labels: { app, version: "v2" },
    image: "catalog:v2",
  });
  const services = [
    serviceOf(app, namespace, { app: `${app}-primary` }),
    serviceOf(`${app}-canary`, namespace, { app }),
    serviceOf(`${app}-primary`, namespace, { app: `${app}-primary` }),
  ];
  // ClusterIPs as kube-apiserver would assign them (10.96.0.0/12): one more domain per virtual host.
  const clusterIps = new Map(
    services.map((s, k) => {
      const n = i * 3 + k + 10;
      return [s.name, `10.96.${Math.floor(n / 250) % 256}.${(n % 250) + 1}`];
    }),
  );
  return { namespace, app, services, pods: [primary, canary], clusterIps };
}

const selects = (sel: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!sel && Object.entries(sel).every(([k, v]) => labels[k] === v);

/** Istio's virtual host domains: FQDN, FQDN., short name (caller's own namespace only), ns.svc, ns, ClusterIP. */
function istioVirtualHost(
  svc: ServiceInfo,
  clusterIp: string | undefined,
  routes: RouteJson[],
  clientNamespace: string | undefined,
): VirtualHostJson {
  const fqdn = serviceFqdn(svc.name, svc.namespace);
  const domains = [fqdn, `${fqdn}.`];
  if (clientNamespace === svc.namespace) domains.push(svc.name);
  domains.push(`${svc.name}.${svc.namespace}.svc`, `${svc.name}.${svc.namespace}`);
  if (clusterIp) domains.push(clusterIp);
  return { name: `${fqdn}:80`, domains, routes, include_request_attempt_count: true };
}

/** Serin's VirtualService (one unnamed HTTP route, primary/canary weights) as istiod translates it. */
function serinWeightedRoute(w: CanaryWorld, primaryWeight: number): RouteJson {
  return {
    match: { prefix: "/" },
    route: {
      weighted_clusters: {
        clusters: [
          { name: clusterName(`${w.app}-primary`, w.namespace), weight: primaryWeight },
          { name: clusterName(`${w.app}-canary`, w.namespace), weight: 100 - primaryWeight },
        ],
      },
      timeout: "0s",
      retry_policy: ISTIO_DEFAULT_RETRY,
      max_grpc_timeout: "0s",
    },
    metadata: {
      filter_metadata: {
        istio: { config: `/apis/networking.istio.io/v1/namespaces/${w.namespace}/virtual-service/${w.app}` },
      },
    },
    decorator: { operation: `${w.app}:80/*` },
  } as RouteJson;
}

/** istiod's route config "80", clusters and endpoints for these Canaries, seen from `clientNamespace`. */
function canariesXds(worlds: CanaryWorld[], clientNamespace: string | undefined, version = 1): XdsSnapshot {
  const vhosts: VirtualHostJson[] = [];
  const clusters: ClusterJson[] = [PASSTHROUGH];
  const endpoints: ClusterLoadAssignmentJson[] = [];
  for (const w of worlds) {
    for (const svc of w.services) {
      const fqdn = serviceFqdn(svc.name, svc.namespace);
      const name = clusterName(svc.name, svc.namespace);
      clusters.push(
        edsCluster(name, {
          alt_stat_name: `${name};`,
          common_lb_config: { healthy_panic_threshold: {} },
          metadata: {
            filter_metadata: {
              istio: { services: [{ host: fqdn, name: svc.name, namespace: svc.namespace }] },
            },
          },
        } as Partial<ClusterJson>),
      );
      endpoints.push(
        loadAssignment(
          name,
          w.pods.filter((p) => selects(svc.selector, p.labels)),
          3000,
        ),
      );
      const routes =
        svc.name === w.app
          ? [serinWeightedRoute(w, 90)]
          : [
              {
                ...routeTo(name),
                decorator: { operation: `${fqdn}:80/*` },
              } as RouteJson,
            ];
      vhosts.push(istioVirtualHost(svc, w.clusterIps.get(svc.name), routes, clientNamespace));
    }
  }
  return snapshotOf({ routes: [routeConfig(80, vhosts)], clusters, endpoints, version });
}

async function staticProxyMesh(n: number): Promise<{
  proxyUrl: string;
  metricsUrl: string;
  telemetry: MeshTelemetry;
  stop: () => Promise<void>;
}> {
  const t0 = performance.now();
  const worlds = Array.from({ length: n }, (_, i) => canaryWorld(i));
  const state: MeshState = stateOf({
    services: worlds.flatMap((w) => w.services),
    pods: worlds.flatMap((w) => w.pods),
  });
  let config: (identity: SidecarIdentity) => XdsSnapshot;
  if (XDS_SCOPE === "mesh") {
    const all = canariesXds(worlds, undefined);
    config = () => all;
  } else {
    const byNs = new Map(worlds.map((w) => [w.namespace, w]));
    const snapshots = new Map<string, XdsSnapshot>();
    config = (id) => {
      let snap = snapshots.get(id.namespace);
      if (!snap) {
        const w = byNs.get(id.namespace);
        snap = canariesXds(w ? [w] : [], id.namespace);
        snapshots.set(id.namespace, snap);
      }
      return snap;
    };
  }
  const buildMs = performance.now() - t0;
  const mesh = await startStaticMesh({ config, state: () => state });
  process.stderr.write(
    `# static mesh: ${n} Canaries, ${state.pods.length} pods, ${state.services.length} Services, ` +
      `xds-scope ${XDS_SCOPE}, config built in ${r0(buildMs)} ms\n`,
  );
  return { proxyUrl: mesh.proxyUrl, metricsUrl: mesh.metricsUrl, telemetry: mesh.telemetry, stop: mesh.stop };
}

// ---------------------------------------------------------------------------------------------- mesh role

interface MeshReady {
  t: "ready";
  proxyUrl: string;
  metricsUrl: string;
  via: string;
}

async function meshRole(): Promise<void> {
  const { proxyUrl, metricsUrl, telemetry, stop } =
    SIDECAR === "proxy" ? await staticProxyMesh(Number(flag("n") ?? 0)) : await directMesh();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const ready: MeshReady = {
    t: "ready",
    proxyUrl,
    metricsUrl,
    via: SIDECAR === "proxy" ? `MeshProxy/static-xds/${XDS_SCOPE}` : "minimal",
  };
  process.send?.(ready);
  process.on("message", (m: { t?: string }) => {
    if (m.t === "render") {
      const a = performance.now();
      const chunks = telemetry.renderChunks();
      process.send?.({
        t: "rendered",
        ms: performance.now() - a,
        bytes: chunks.reduce((n, c) => n + c.length, 0),
        series: telemetry.seriesCount(),
        loopDelayMaxMs: loopDelay.max / 1e6,
        loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      });
    } else if (m.t === "stop") {
      void stop().then(() => process.exit(0));
    }
  });
  process.on("disconnect", () => void stop().then(() => process.exit(0)));
}

/** A minimal client+server sidecar pair: round robin over the two versions, both reporters recorded. */
async function directMesh(): Promise<{
  proxyUrl: string;
  metricsUrl: string;
  telemetry: MeshTelemetry;
  stop: () => Promise<void>;
}> {
  const catalogue: ImageCatalogue = loadImageCatalogue();
  const telemetry = new MeshTelemetry();
  const backends = new BackendManager();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });
  const src = peerFromLabels("webapp", "default", { app: "webapp" }, "default");
  const behaviour = (image: string): Behaviour => {
    const p = catalogue[image] ?? {};
    return {
      version: image,
      image,
      errorRate: p.errorRate ?? 0,
      errorStatus: p.errorStatus ?? 500,
      latencyMs: p.latencyMs ?? 0,
      latencyJitterMs: p.latencyJitterMs ?? 0,
      slowFraction: p.slowFraction ?? 0,
      slowMs: p.slowMs ?? 0,
      startupDelayMs: p.startupDelayMs ?? 0,
      bursts: p.bursts ?? [],
      incidents: [],
    };
  };
  const rr = new Map<string, number>();
  const peers = new Map<string, PeerInfo>();
  const server = http.createServer((req, res) => {
    const start = performance.now();
    const host = (req.headers.host ?? "").split(":")[0] ?? "";
    const namespace = host.split(".")[1] ?? "default";
    const turn = rr.get(namespace) ?? 0;
    rr.set(namespace, turn + 1);
    const v = VERSIONS[turn % VERSIONS.length] ?? VERSIONS[0];
    const b = behaviour(v.image);
    const spec: BackendSpec = {
      key: `${namespace}/${v.workload}/${v.hash}/${behaviourKey(b)}`,
      namespace,
      workload: v.workload,
      behaviour: b,
    };
    let peer = peers.get(`${namespace}/${v.workload}`);
    if (!peer) {
      peer = peerFromLabels(v.workload, namespace, { app: v.workload }, "default");
      peers.set(`${namespace}/${v.workload}`, peer);
    }
    const dest = peer;
    const service = { host: `catalog.${namespace}.svc.cluster.local`, name: "catalog", namespace };
    const record = (reporter: "source" | "destination", code: number, ms: number) =>
      telemetry.record(
        { reporter, source: src, destination: dest, service, responseCode: code, flags: [] },
        ms,
      );
    req.resume();
    req.on("end", async () => {
      const port = backends.portOf(spec.key) ?? (await backends.ensure(spec));
      const attemptStart = performance.now();
      const up = http.request({ host: "127.0.0.1", port, path: req.url, method: req.method, agent }, (ur) => {
        const chunks: Buffer[] = [];
        ur.on("data", (c: Buffer) => chunks.push(c));
        ur.on("end", () => {
          const status = ur.statusCode ?? 502;
          record("destination", status, performance.now() - attemptStart);
          record("source", status, performance.now() - start);
          res.writeHead(status, { "x-sim-version": String(ur.headers["x-sim-version"] ?? "") });
          res.end(Buffer.concat(chunks));
        });
      });
      up.on("error", () => {
        record("source", 503, performance.now() - start);
        res.writeHead(503);
        res.end();
      });
      up.end();
    });
  });
  const admin = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": telemetry.contentType });
    res.cork();
    for (const c of telemetry.renderChunks()) res.write(c);
    res.end();
  });
  const listen = (s: http.Server) =>
    new Promise<number>((resolve) =>
      s.listen(0, "127.0.0.1", () => {
        const a = s.address();
        resolve(a && typeof a === "object" ? a.port : 0);
      }),
    );
  await backends.whenReady();
  const proxyPort = await listen(server);
  const adminPort = await listen(admin);
  return {
    proxyUrl: `http://127.0.0.1:${proxyPort}`,
    metricsUrl: `http://127.0.0.1:${adminPort}/metrics`,
    telemetry,
    stop: async () => {
      server.closeAllConnections();
      admin.closeAllConnections();
      server.close();
      admin.close();
      agent.destroy();
      await backends.stopAll();
    },
  };
}

// ---------------------------------------------------------------------------------------------- main role

function tableRow(r: StepResult): string {
  const l = r.line as {
    rps: number;
    failed: number;
    non200: number;
    latencyMs: { p50: number; p99: number; max: number };
    cpuPct: { simulator: number; backends: number; loadGenerator: number };
    rssMB: { simulator: number; backends: number };
    simulatorEventLoopDelayMs: { p99: number; max: number };
    loadavg: number[];
    loadavgBefore: number[];
    cpuPressurePct: number | undefined;
    tcp: { listenOverflows: number; synRetrans: number };
  };
  return `| ${r.n} | ${l.rps} | ${l.latencyMs.p50} | ${l.latencyMs.p99} | ${l.latencyMs.max} | ${l.failed} | ${l.non200} | ${l.cpuPct.simulator} | ${l.rssMB.simulator} | ${l.cpuPct.backends} | ${l.rssMB.backends} | ${l.cpuPct.loadGenerator} | ${l.simulatorEventLoopDelayMs.p99}/${l.simulatorEventLoopDelayMs.max} | ${l.loadavgBefore.join(" ")} -> ${l.loadavg.join(" ")} | ${l.cpuPressurePct ?? "-"} | ${l.tcp.listenOverflows}/${l.tcp.synRetrans} | ${r.ok ? "yes" : "no"} |`;
}

function get(url: string): Promise<{ status: number; ms: number; bytes: number; body: string }> {
  const a = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - a, bytes: body.length, body: "" });
        });
      })
      .on("error", reject);
  });
}

function request(
  proxyUrl: string,
  host: string,
  namespace?: string,
): Promise<{ status: number; ms: number }> {
  const u = new URL(proxyUrl);
  const a = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: "/",
        headers: {
          host,
          "x-mesh-source-workload": "webapp",
          "x-mesh-source-labels": "app=webapp",
          ...(namespace ? { "x-mesh-source-namespace": namespace } : {}),
        },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - a }));
      },
    );
    req.setTimeout(120_000, () => req.destroy());
    req.on("error", () => resolve({ status: 0, ms: performance.now() - a }));
    req.end();
  });
}

function ask<T>(child: ChildProcess, msg: object, reply: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { t?: string }) => {
      if (m.t !== reply) return;
      child.off("message", on);
      resolve(m as T);
    };
    child.on("message", on);
    child.send(msg);
  });
}

interface StepResult {
  n: number;
  ok: boolean;
  line: Record<string, unknown>;
}

async function step(n: number): Promise<StepResult> {
  // Load average before this step's simulator starts: other work on the machine.
  const loadBefore = loadavg().map(r1);
  const tcp0 = tcpCounters();
  const child = fork(
    SELF,
    ["--role", "mesh", "--n", String(n), "--sidecar", SIDECAR, "--xds-scope", XDS_SCOPE],
    {
      execArgv: process.execArgv,
      env: { ...process.env, SERIN_MESH_BACKENDS: BACKENDS },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    },
  );
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const t0 = performance.now();
  const ready = await new Promise<MeshReady>((resolve, reject) => {
    child.once("message", (m: MeshReady) => resolve(m));
    child.once("exit", () => reject(new Error("mesh process exited")));
  });
  const simPid = child.pid as number;
  const startupS = (performance.now() - t0) / 1000;
  // First request to each Canary's Service, all at once, as when N new versions appear together.
  const before = usage(simPid);
  const w0 = performance.now();
  // Two rounds, each to every Canary at once: minimal sidecar: round robin alternates the versions; real
  // proxy: the primary's then the canary's Service (both backends up, every namespace's sidecar connected).
  const warmHost = (i: number, round: number) =>
    SIDECAR === "proxy" ? `${appOf(i)}-${round === 0 ? "primary" : "canary"}.${ns(i)}` : `catalog.${ns(i)}`;
  const firsts: Array<{ status: number; ms: number }> = [];
  for (let round = 0; round < 2; round++) {
    firsts.push(
      ...(await Promise.all(
        Array.from({ length: n }, (_, i) =>
          request(ready.proxyUrl, warmHost(i, round), SIDECAR === "proxy" ? ns(i) : undefined),
        ),
      )),
    );
  }
  const warmNon200 = firsts.filter((f) => f.status !== 200).length;
  const warmS = (performance.now() - w0) / 1000;
  const firstSorted = firsts.map((f) => f.ms).sort((a, b) => a - b);
  const warmUsage = usage(simPid);
  await new Promise((r) => setTimeout(r, 2_000)); // let the warm-up burst drain
  // Steady load.
  const lat: number[] = [];
  const timed: Array<[number, number]> = [];
  let non2xx = 0;
  // Requests sent during the ramp (clients connecting, first requests) are not measured.
  let l0 = Number.POSITIVE_INFINITY;
  // Each Canary's client starts at its own offset within the first second: N independent 1 rps clients,
  // not one burst of N requests every second.
  const runs = await Promise.all(
    Array.from(
      { length: n },
      (_, i) =>
        new Promise<ReturnType<typeof startLoad>>((resolve) =>
          setTimeout(
            () =>
              resolve(
                startLoad({
                  proxyUrl: ready.proxyUrl,
                  host: SIDECAR === "proxy" ? `${appOf(i)}.${ns(i)}` : `catalog.${ns(i)}`,
                  qps: QPS,
                  durationMs: (RAMP_S + DURATION_S) * 1000,
                  source: { workload: "webapp", namespace: ns(i), labels: { app: "webapp" } },
                  timeoutMs: 60_000,
                  onResponse: (r) => {
                    const sentAt = performance.now() - r.latencyMs;
                    if (sentAt < l0) return;
                    lat.push(r.latencyMs);
                    timed.push([sentAt - l0, r.latencyMs]);
                    if (r.status !== 200) non2xx++;
                  },
                }),
              ),
            (i * 1000) / n / QPS,
          ),
        ),
    ),
  );
  await new Promise((r) => setTimeout(r, RAMP_S * 1000));
  const cpu0 = usage(simPid);
  const self0 = process.cpuUsage();
  l0 = performance.now();
  // Sample RSS midway (steady state), /metrics at the end.
  await new Promise((r) => setTimeout(r, (DURATION_S * 1000) / 2));
  const mid = usage(simPid);
  const results = await Promise.all(runs.map((r) => r.done));
  const wallS = (performance.now() - l0) / 1000;
  const cpu1 = usage(simPid);
  const self1 = process.cpuUsage(self0);
  const scrape = await get(ready.metricsUrl);
  const rendered = await ask<{
    ms: number;
    bytes: number;
    series: number;
    loopDelayMaxMs: number;
    loopDelayP99Ms: number;
  }>(child, { t: "render" }, "rendered");
  const sent = lat.length;
  const failed = results.reduce((a, r) => a + r.failed + r.dropped, 0); // whole run, ramp included
  lat.sort((a, b) => a - b);
  // p99 per 5 s window: shows whether slow requests are spread (saturation) or a burst (a pause).
  const windows: number[] = [];
  for (let w = 0; w * 5000 < wallS * 1000; w++) {
    const xs = timed
      .filter(([t]) => t >= w * 5000 && t < (w + 1) * 5000)
      .map(([, ms]) => ms)
      .sort((a, b) => a - b);
    if (xs.length > 0) windows.push(r0(quantile(xs, 0.99)));
  }
  const p99 = quantile(lat, 0.99);
  const load1 = loadavg()[0] ?? 0;
  const loads = loadavg().map(r1);
  const tcp1 = tcpCounters();
  // Which version answered (x-sim-version), whole run: the 90/10 split of the weighted route.
  const byVersion: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const r of results) {
    for (const [k, v] of Object.entries(r.byVersion)) byVersion[k] = (byVersion[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.byStatus)) byStatus[k] = (byStatus[k] ?? 0) + v;
  }
  const pressure = cpuPressure();
  child.send({ t: "stop" });
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (child.exitCode === null) child.kill("SIGKILL");
  const ok = p99 <= P99_LIMIT_MS && failed <= sent * 0.01;
  return {
    n,
    ok,
    line: {
      canaries: n,
      sidecar: SIDECAR,
      backends: BACKENDS,
      via: ready.via,
      startupS: r1(startupS),
      firstRequests: {
        wallS: r1(warmS),
        p50Ms: r0(quantile(firstSorted, 0.5)),
        p99Ms: r0(quantile(firstSorted, 0.99)),
        maxMs: r0(firstSorted[firstSorted.length - 1] ?? Number.NaN),
        cpuS: r1(warmUsage.simCpuS + warmUsage.backendCpuS - before.simCpuS - before.backendCpuS),
        non200: warmNon200,
      },
      rps: r0(sent / wallS),
      measured: sent,
      failed,
      non200: non2xx,
      byStatus,
      byVersion,
      latencyMs: {
        p50: r1(quantile(lat, 0.5)),
        p99: r1(p99),
        max: r0(lat[lat.length - 1] ?? Number.NaN),
        p99Per5s: windows,
      },
      cpuPct: {
        simulator: r0(((cpu1.simCpuS - cpu0.simCpuS) / wallS) * 100),
        backends: r0(((cpu1.backendCpuS - cpu0.backendCpuS) / wallS) * 100),
        loadGenerator: r0(((self1.user + self1.system) / 1e6 / wallS) * 100),
      },
      rssMB: { simulator: r0(mid.simRssMB), backends: r0(mid.backendRssMB) },
      backendProcesses: mid.backendProcs,
      simulatorEventLoopDelayMs: { p99: r0(rendered.loopDelayP99Ms), max: r0(rendered.loopDelayMaxMs) },
      cpuMsPerRequest: {
        simulator: r1(((cpu1.simCpuS - cpu0.simCpuS) * 1000) / Math.max(1, sent)),
        backends: r1(((cpu1.backendCpuS - cpu0.backendCpuS) * 1000) / Math.max(1, sent)),
      },
      load1: r1(load1),
      loadavg: loads,
      loadavgBefore: loadBefore,
      cpuPressurePct: pressure,
      // Whole machine, whole step (warm-up included): SYNs dropped by full accept queues and resent
      // (1 s, 3 s, 7 s, 15 s ... later), which shows as multi-second request latency.
      tcp: {
        listenOverflows: tcp1.listenOverflows - tcp0.listenOverflows,
        synRetrans: tcp1.synRetrans - tcp0.synRetrans,
      },
      metrics: {
        series: rendered.series,
        renderMs: r0(rendered.ms),
        scrapeMs: r0(scrape.ms),
        bytesMB: r1(scrape.bytes / 1e6),
      },
      p99Ok: ok,
    },
  };
}

async function main(): Promise<void> {
  const scrapeN = flag("scrape");
  if (scrapeN !== undefined) {
    await scrapeBench(Number(scrapeN));
    return;
  }
  const renderN = flag("render-only");
  if (renderN !== undefined) {
    for (const n of renderN.split(",").map(Number)) await renderOnly(n);
    return;
  }
  if (ROLE === "mesh") {
    await meshRole();
    return;
  }
  process.stdout.write(
    `# mesh capacity: sidecar=${SIDECAR}${SIDECAR === "proxy" ? ` xds-scope=${XDS_SCOPE}` : ""} ` +
      `backends=${BACKENDS} qps/canary=${QPS} ramp=${RAMP_S}s duration=${DURATION_S}s ` +
      `p99 limit ${P99_LIMIT_MS} ms, ladder ${LADDER.join(",")}; ${cpus().length} CPUs, ` +
      `loadavg ${loadavg().map(r1).join(" ")}\n`,
  );
  let best: StepResult | undefined;
  let over = false;
  const rows: string[] = [];
  for (const n of LADDER) {
    const r = await step(n);
    process.stdout.write(`${JSON.stringify(r.line)}\n`);
    rows.push(tableRow(r));
    if (!r.ok) {
      over = true;
      if (!KEEP_GOING) break;
    } else if (!over) best = r;
  }
  process.stdout.write(
    "\n| N | rps | p50 ms | p99 ms | max ms | failed | non-200 | sim CPU % | sim RSS MB | backend CPU % | backend RSS MB | loadgen CPU % | loop delay p99/max ms | loadavg 1/5/15 (before -> after) | CPU pressure % | listen overflows / SYN resent | p99 ok |\n" +
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" +
      `${rows.join("\n")}\n`,
  );
  process.stdout.write(
    `# largest N with p99 <= ${P99_LIMIT_MS} ms: ${best ? best.n : "none"}${
      best && best.n === LADDER[LADDER.length - 1] ? " (top of the ladder)" : ""
    }\n`,
  );
}

await main();
