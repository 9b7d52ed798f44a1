// How Serin scales with the number of Canaries (Flagger users report slowdowns beyond ~50-70 canaries
// per controller, fluxcd/flagger#638). On the project's real test world — kube-apiserver + etcd +
// controller-manager + scheduler + kwok, a real Prometheus scraping the mesh simulator, and Serin as its
// own process with the serin ServiceAccount's token — it creates N namespaces with the catalog example
// (analysis.interval 10s), then pushes a new image to all N targets with one `kubectl set image` and
// measures:
//   - init: time until all N Canaries are Initialized, and each Canary's apply → Initialized latency;
//   - detection: push → Progressing per Canary (the Promoted condition's lastTransitionTime, stamped by
//     Serin when it starts the run), from the line kubectl prints after patching each target (can be
//     slightly negative: Serin may stamp before kubectl's line arrives) and from the command's start;
//   - step cadence: gaps between the status.lastTransitionTime of weights 10 → 20 → 30, over the interval
//     (1.0 is perfect, 1.1 means steps come 10% late);
//   - Serin's RSS (VmRSS) at start / after init / at the end, its /metrics at the end, its log's warnings.
// State is read by polling `kubectl get canaries -A -o json` once per second (one call for all N).
//
//   npx tsx bench/many-canaries.ts [N] [--traffic] [--keep]
//
// Default: Canaries with `metrics: []` and no traffic. The shipped metrics need traffic to pass, and the
// mesh simulator runs one Node process per workload version it serves (~75 MB, ~0.5 s of CPU to start):
// at N=40 that is 80 backends, 40 of them started at the same moment when every canary gets its first
// 10%, on a 2-core machine — the measurement would be of the harness, not of Serin. `--traffic` keeps the
// example's metrics and sends 2 qps per namespace from the webapp (labels app=webapp), for small N.
// `--keep` keeps the environment dir (logs) after teardown. Everything is bounded: ~8 minutes in total.
import { execFile, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { kubectlPath } from "../test/env/cluster.js";
import { type Environment, startEnvironment } from "../test/env/environment.js";
import { sleep } from "../test/env/processes.js";
import { scrapeIntervalForCanaries } from "../test/env/prometheus.js";
import { repoRoot } from "../test/env/toolchain.js";
import type { LoadResult, LoadRun } from "../test/mesh/load.js";
import { startMeshSimulator } from "../test/mesh/simulator.js";
import { applyCatalog, webappTraffic } from "../test/support/catalog.js";
import { Kubectl } from "../test/support/kube.js";
import { buildSerin, type SerinProcess, startSerin } from "../test/support/serin-process.js";
import { parsePromText, sumSeries } from "./fleet/kube-admin.js";
import { summarizeLog } from "./fleet/log-summary.js";
import { rssMb } from "./fleet/proc.js";
import { spread } from "./fleet/stats.js";

const execFileAsync = promisify(execFile);

// ---------------------------------------------------------------------------------------------- settings

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith("--"));
const N = positional[0] === undefined ? 40 : Number(positional[0]);
if (!Number.isInteger(N) || N < 1 || N > 500) {
  process.stderr.write(`usage: npx tsx bench/many-canaries.ts [N] [--traffic] [--keep]   (N: 1..500)\n`);
  process.exit(2);
}
const TRAFFIC = args.includes("--traffic");
const KEEP = args.includes("--keep");
const INTERVAL = "10s";
const INTERVAL_MS = 10_000;
const QPS_PER_NAMESPACE = 2;
const NEW_IMAGE = "istioinaction/catalog:v2";
const BUDGET_MS = 8 * 60_000;
/** Phases stop waiting here, leaving time to report and tear down before the hard abort. */
const SOFT_BUDGET_MS = BUDGET_MS - 75_000;

const t0 = Date.now();
const softDeadline = t0 + SOFT_BUDGET_MS;
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
const say = (text: string) => process.stdout.write(`[${elapsed().padStart(4)}] ${text}\n`);

// ---------------------------------------------------------------------------------------------- helpers

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

interface CanaryItem {
  metadata: { name: string; namespace: string };
  status?: {
    phase?: string;
    canaryWeight?: number;
    failedChecks?: number;
    lastTransitionTime?: string;
    conditions?: Condition[];
  };
}

/** What the poller learnt about one Canary. */
interface Track {
  key: string;
  namespace: string;
  appliedAt?: number;
  initializedAt?: number;
  pushedAt?: number;
  /** when Serin started the run (Promoted condition → Unknown), or the poll that first saw it */
  detectedAt?: number;
  detectedFromPoll: boolean;
  /** earliest status.lastTransitionTime seen while Progressing at each weight */
  weightAt: Map<number, number>;
  maxFailedChecks: number;
  phases: string[];
  phase: string;
  message: string;
}

const tracks = new Map<string, Track>();
const pollCosts: number[] = [];
let pollErrors = 0;

function track(namespace: string): Track {
  const key = `${namespace}/catalog-release`;
  let t = tracks.get(key);
  if (t === undefined) {
    t = {
      key,
      namespace,
      detectedFromPoll: false,
      weightAt: new Map(),
      maxFailedChecks: 0,
      phases: [],
      phase: "",
      message: "",
    };
    tracks.set(key, t);
  }
  return t;
}

function parseTime(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

function observe(items: CanaryItem[], polledAt: number): void {
  for (const item of items) {
    const t = tracks.get(`${item.metadata.namespace}/${item.metadata.name}`);
    if (t === undefined) continue;
    const status = item.status ?? {};
    const phase = status.phase ?? "";
    const ltt = parseTime(status.lastTransitionTime);
    const promoted = status.conditions?.find((c) => c.type === "Promoted");
    t.phase = phase;
    t.message = promoted?.message ?? "";
    if (t.phases[t.phases.length - 1] !== phase) t.phases.push(phase);
    t.maxFailedChecks = Math.max(t.maxFailedChecks, status.failedChecks ?? 0);
    if (phase === "Initialized" && t.initializedAt === undefined) t.initializedAt = ltt ?? polledAt;
    if (t.pushedAt === undefined || phase === "Initialized" || phase === "") continue;
    if (t.detectedAt === undefined) {
      // Serin stamps the Promoted condition when it goes True (Initialized) → Unknown (Progressing).
      const stamped = parseTime(promoted?.lastTransitionTime);
      const plausible =
        phase === "Progressing" &&
        stamped !== undefined &&
        stamped >= t.pushedAt - 2_000 &&
        stamped <= polledAt;
      t.detectedAt = plausible ? stamped : polledAt;
      t.detectedFromPoll = !plausible;
    }
    if (phase === "Progressing" && ltt !== undefined) {
      const w = status.canaryWeight ?? 0;
      t.weightAt.set(w, Math.min(t.weightAt.get(w) ?? ltt, ltt));
    }
  }
}

async function pollOnce(kubeconfig: string): Promise<void> {
  const started = Date.now();
  try {
    const { stdout } = await execFileAsync(
      kubectlPath(),
      [`--kubeconfig=${kubeconfig}`, "get", "canaries", "-A", "-o", "json"],
      { maxBuffer: 256 * 1024 * 1024, timeout: 20_000, encoding: "utf8" },
    );
    const list = JSON.parse(stdout) as { items?: CanaryItem[] };
    observe(list.items ?? [], Date.now());
  } catch (err) {
    pollErrors++;
    say(`poll failed: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`);
  }
  pollCosts.push(Date.now() - started);
}

/** Polls once per second (start to start) until `done()` or `until`; true when done. */
async function pollUntil(
  kubeconfig: string,
  done: () => boolean,
  until: number,
  alongside?: () => Promise<void>,
): Promise<boolean> {
  while (Date.now() < until) {
    const started = Date.now();
    await Promise.all([pollOnce(kubeconfig), alongside?.()]);
    if (done()) return true;
    await sleep(Math.max(0, 1_000 - (Date.now() - started)));
  }
  return false;
}

/** The controller's /metrics as `series: value` pairs (comments dropped). */
async function scrape(serin: SerinProcess): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    const text = await (await fetch(serin.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
    for (const [series, value] of parsePromText(text)) out.set(series, value);
  } catch (err) {
    say(`could not scrape ${serin.metricsUrl}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return out;
}

/** The catalog example with its metrics removed (`metrics: []`), applied as applyCatalog does. */
function applyCatalogWithoutMetrics(k: Kubectl, namespace: string): void {
  const dir = join(repoRoot, "examples", "catalog");
  k.run(["apply", "-n", namespace, "-f", join(dir, "deployment.yaml"), "-f", join(dir, "service.yaml")]);
  const canary = readFileSync(join(dir, "canary.yaml"), "utf8")
    .replace("interval: 45s", `interval: ${INTERVAL}`)
    .replace(/\n {4}metrics:\n[\s\S]*$/, "\n    metrics: []\n");
  if (!canary.includes("metrics: []") || !canary.includes(`interval: ${INTERVAL}`))
    throw new Error("examples/catalog/canary.yaml changed shape: cannot remove its metrics");
  k.run(["apply", "-n", namespace, "-f", "-"], canary);
}

/**
 * `kubectl set image` on all N targets in one command (a file listing the N Deployments); kubectl prints
 * one line per Deployment right after patching it, in file order, which dates each target's push.
 */
async function pushImage(kubeconfig: string, dir: string, namespaces: string[]): Promise<number> {
  const file = join(dir, "bench-targets.json");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: namespaces.map((namespace) => ({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "catalog", namespace },
      })),
    }),
  );
  const started = Date.now();
  const child = spawn(kubectlPath(), [
    `--kubeconfig=${kubeconfig}`,
    "set",
    "image",
    "-f",
    file,
    `catalog=${NEW_IMAGE}`,
  ]);
  const lineTimes: number[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout.setEncoding("utf8");
  child.stderr.setEncoding("utf8");
  child.stdout.on("data", (chunk: string) => {
    const now = Date.now();
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      if (buffer.slice(0, nl).includes("image updated")) lineTimes.push(now);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  });
  child.stderr.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const finished = Date.now();
  if (code !== 0) throw new Error(`kubectl set image failed (${code}): ${stderr.trim()}`);
  const perTarget = lineTimes.length === namespaces.length;
  if (!perTarget)
    say(
      `kubectl printed ${lineTimes.length} lines for ${namespaces.length} targets: dating all pushes at the start`,
    );
  namespaces.forEach((ns, i) => {
    track(ns).pushedAt = perTarget ? (lineTimes[i] ?? started) : started;
  });
  return finished - started;
}

// ---------------------------------------------------------------------------------------------- teardown

const stops: Array<{ name: string; stop: () => Promise<void> }> = [];
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const { name, stop } of stops.reverse()) {
      await stop().catch((err: unknown) =>
        say(`stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  })();
  return cleaning;
}
const hardAbort = setTimeout(() => {
  say(`ABORT: the bench exceeded its ${BUDGET_MS / 60_000}-minute budget; tearing everything down`);
  void cleanup().then(() => process.exit(1));
}, BUDGET_MS);
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

// ---------------------------------------------------------------------------------------------- the run

async function main(): Promise<void> {
  say(
    `many-canaries: N=${N}, interval ${INTERVAL}, ${TRAFFIC ? `shipped metrics + ${QPS_PER_NAMESPACE} qps/namespace` : "metrics: [] (no traffic)"}; loadavg ${loadavg()[0]?.toFixed(2)}`,
  );
  say(
    "starting the test environment (kube-apiserver, etcd, controller-manager, scheduler, kwok, Prometheus)",
  );
  const env: Environment = await startEnvironment({ keepDir: KEEP });
  stops.push({ name: "environment", stop: () => env.stop() });
  buildSerin();
  const mesh = await startMeshSimulator({
    kubeconfigPath: env.cluster.kubeconfigPath,
    xdsAddress: env.istiod.xdsAddress,
  });
  stops.push({ name: "mesh simulator", stop: () => mesh.stop() });
  // One target per metrics shard (the sidecars hashed onto /metrics/shard/<i>): no scrape carries it all;
  // at hundreds of Canaries the interval grows (1 s up to 200, 5 s at 1,000: scrapeIntervalForCanaries).
  env.prometheus.setTargets("mesh", mesh.metricsTargets(), {
    scrapeIntervalSeconds: scrapeIntervalForCanaries(N),
  });
  const serin = await startSerin({
    kubeconfigPath: env.serinKubeconfigPath,
    metricsServer: env.prometheus.url,
    logDir: env.dir,
  });
  stops.push({ name: "serin", stop: () => serin.stop() });
  const serinPid = serin.process.pid;
  const serinLog = join(env.dir, "serin.log");
  const rssStart = rssMb(serinPid);
  const metricsStart = await scrape(serin);
  say(`ready: Serin pid ${serinPid}, RSS ${rssStart} MB, env ${env.dir}`);

  // ---- create N namespaces with the catalog example
  const k = new Kubectl(env.cluster.kubeconfigPath);
  const namespaces = Array.from({ length: N }, (_, i) => `bench-${String(i + 1).padStart(3, "0")}`);
  const createStart = Date.now();
  for (const ns of namespaces) {
    if (Date.now() > softDeadline) throw new Error("out of time while creating namespaces");
    k.run(["create", "namespace", ns]);
    if (TRAFFIC) applyCatalog(k, ns, { interval: INTERVAL });
    else applyCatalogWithoutMetrics(k, ns);
    track(ns).appliedAt = Date.now();
  }
  const createEnd = Date.now();
  say(
    `applied ${N} catalog examples in ${((createEnd - createStart) / 1000).toFixed(1)}s; waiting for Initialized`,
  );

  const all = () => [...tracks.values()];
  const allInitialized = await pollUntil(
    env.cluster.kubeconfigPath,
    () => all().every((t) => t.initializedAt !== undefined),
    Math.min(softDeadline, Date.now() + 180_000),
  );
  const initTimes = all().flatMap((t) => (t.initializedAt === undefined ? [] : [t.initializedAt]));
  const lastInit = initTimes.length > 0 ? Math.max(...initTimes) : Number.NaN;
  const initLatencies = all().flatMap((t) =>
    t.initializedAt !== undefined && t.appliedAt !== undefined ? [t.initializedAt - t.appliedAt] : [],
  );
  const rssInit = rssMb(serinPid);
  const metricsInit = await scrape(serin);
  say(
    allInitialized
      ? `all ${N} Initialized ${((lastInit - createStart) / 1000).toFixed(1)}s after the first apply; Serin RSS ${rssInit} MB`
      : `only ${initTimes.length}/${N} Initialized in time; going on with those`,
  );

  // ---- optional traffic, then the push
  const loads: LoadRun[] = [];
  if (TRAFFIC) {
    for (const ns of namespaces)
      loads.push(
        webappTraffic(mesh.proxyUrl, ns, QPS_PER_NAMESPACE, Math.max(10_000, softDeadline - Date.now())),
      );
    stops.push({ name: "load", stop: async () => void (await Promise.all(loads.map((l) => l.stop()))) });
    say(`traffic: ${QPS_PER_NAMESPACE} qps from webapp to each of ${N} catalogs; 15s warm-up`);
    await sleep(15_000);
  }
  say(`kubectl set image catalog=${NEW_IMAGE} on all ${N} targets (one command)`);
  const pushStarted = Date.now();
  const pushMs = await pushImage(env.cluster.kubeconfigPath, env.dir, namespaces);
  const pushed = all().filter((t) => t.initializedAt !== undefined);
  const terminal = (t: Track) =>
    t.detectedAt !== undefined && (t.phase === "Succeeded" || t.phase === "Failed");
  // Serin's queue depth, sampled with every poll (the brief's end-of-run sample alone is usually 0).
  const depthSamples: number[] = [];
  const sampleDepth = async () => {
    const m = await scrape(serin);
    depthSamples.push(sumSeries(m, "workqueue_depth"));
  };
  const finished = await pollUntil(
    env.cluster.kubeconfigPath,
    () => pushed.every(terminal),
    softDeadline,
    sampleDepth,
  );
  say(finished ? "every run finished" : "out of time waiting for the runs to finish");

  // ---- figures
  const rssEnd = rssMb(serinPid);
  const metricsEnd = await scrape(serin);
  let load: LoadResult | undefined;
  if (TRAFFIC) {
    const results = await Promise.all(loads.map((l) => l.stop()));
    load = results.reduce<LoadResult | undefined>((acc, r) => {
      if (acc === undefined) return { ...r, byStatus: { ...r.byStatus } };
      acc.sent += r.sent;
      acc.completed += r.completed;
      acc.failed += r.failed;
      acc.dropped += r.dropped;
      for (const [code, n] of Object.entries(r.byStatus)) acc.byStatus[code] = (acc.byStatus[code] ?? 0) + n;
      return acc;
    }, undefined);
  }
  const detections = pushed.flatMap((t) =>
    t.detectedAt !== undefined && t.pushedAt !== undefined ? [t.detectedAt - t.pushedAt] : [],
  );
  // An upper bound: from the start of the kubectl command (its own start-up and GETs included).
  const detectionsFromCommand = pushed.flatMap((t) =>
    t.detectedAt !== undefined ? [t.detectedAt - pushStarted] : [],
  );
  const gapRatios: number[] = [];
  const laterGapRatios: number[] = [];
  const firstStep: number[] = [];
  for (const t of pushed) {
    const at = (w: number) => t.weightAt.get(w);
    const pairs: Array<[number, number, number[]]> = [
      [10, 20, gapRatios],
      [20, 30, gapRatios],
      [30, 40, laterGapRatios],
      [40, 50, laterGapRatios],
    ];
    for (const [a, b, into] of pairs) {
      const ta = at(a);
      const tb = at(b);
      if (ta !== undefined && tb !== undefined) into.push((tb - ta) / INTERVAL_MS);
    }
    // The run's start stamps weight 0 and the Promoted condition alike; a fast 0 → 10 may hide weight 0 from the poll.
    const w0 = at(0) ?? (t.detectedFromPoll ? undefined : t.detectedAt);
    const w10 = at(10);
    if (w0 !== undefined && w10 !== undefined) firstStep.push(w10 - w0);
  }
  const phases = new Map<string, number>();
  for (const t of pushed) phases.set(t.phase, (phases.get(t.phase) ?? 0) + 1);
  const odd = pushed.filter((t) => t.phase !== "Succeeded" || t.maxFailedChecks > 0 || t.detectedFromPoll);
  if (odd.length > 0) {
    say(`${odd.length} canaries worth a look:`);
    for (const t of odd.slice(0, 10))
      process.stdout.write(
        `   ${t.key}: ${t.phases.join(" → ")}; failedChecks ${t.maxFailedChecks}${t.detectedFromPoll ? "; detection dated by the poll" : ""}; "${t.message}"\n`,
      );
  }
  const events = k.json<{ items: Array<{ reason?: string; involvedObject?: { kind?: string } }> }>([
    "get",
    "events",
    "-A",
    "--field-selector",
    "type=Warning",
  ]);
  const warningEvents = new Map<string, number>();
  for (const e of events.items) {
    const key = `${e.involvedObject?.kind ?? "?"}/${e.reason ?? "?"}`;
    warningEvents.set(key, (warningEvents.get(key) ?? 0) + 1);
  }
  const log = summarizeLog(serinLog);
  const reconciles = (m: Map<string, number>) => sumSeries(m, "controller_runtime_reconcile_total");
  const cpu = (m: Map<string, number>) => sumSeries(m, "process_cpu_seconds_total");
  const reconcileTimeSum = sumSeries(metricsEnd, "controller_runtime_reconcile_time_seconds_sum");
  const reconcileTimeCount = sumSeries(metricsEnd, "controller_runtime_reconcile_time_seconds_count");

  const lines: Array<[string, string]> = [
    ["canaries", String(N)],
    [
      "mode",
      TRAFFIC
        ? `shipped metrics, ${QPS_PER_NAMESPACE} qps/namespace from webapp (${N * QPS_PER_NAMESPACE} qps total)`
        : "metrics: [] and no traffic (checks pass trivially; the cadence is Serin's own)",
    ],
    ["analysis_interval_s", String(INTERVAL_MS / 1000)],
    ["create_all_s", ((createEnd - createStart) / 1000).toFixed(1)],
    ["initialized", `${initTimes.length}/${N}`],
    ["init_all_s (first apply → last Initialized)", ((lastInit - createStart) / 1000).toFixed(1)],
    ["init_after_last_apply_s", ((lastInit - createEnd) / 1000).toFixed(1)],
    ["init_latency_s p50/p95/max (apply → Initialized)", spread(initLatencies, 2, 1000)],
    ["push_kubectl_ms (one set image for all)", String(pushMs)],
    ["detect_ms p50/p95/max (kubectl's per-target 'image updated' → Progressing)", spread(detections, 0)],
    ["detect_ms p50/p95/max (start of the kubectl command → Progressing)", spread(detectionsFromCommand, 0)],
    ["first_step_s p50/p95/max (weight 0 → 10, waits for canary pods)", spread(firstStep, 2, 1000)],
    ["step_gap/interval p50/p95/max (weights 10→20→30)", spread(gapRatios, 3)],
    ["step_gap/interval p50/p95/max (weights 30→40→50)", spread(laterGapRatios, 3)],
    ["final_phases", [...phases.entries()].map(([p, n]) => `${p || "none"}=${n}`).join(" ")],
    ["canaries_with_failed_checks", String(pushed.filter((t) => t.maxFailedChecks > 0).length)],
    ["serin_rss_mb start/after_init/end", `${rssStart} / ${rssInit} / ${rssEnd}`],
    [
      "serin_cpu_s setup+init / rollout",
      `${(cpu(metricsInit) - cpu(metricsStart)).toFixed(1)} / ${(cpu(metricsEnd) - cpu(metricsInit)).toFixed(1)}`,
    ],
    [
      "reconciles setup+init / rollout (per canary)",
      `${reconciles(metricsInit) - reconciles(metricsStart)} / ${reconciles(metricsEnd) - reconciles(metricsInit)} (${((reconciles(metricsEnd) - reconciles(metricsInit)) / Math.max(1, pushed.length)).toFixed(1)})`,
    ],
    [
      "reconcile_time_mean_ms",
      reconcileTimeCount > 0 ? ((reconcileTimeSum / reconcileTimeCount) * 1000).toFixed(1) : "n/a",
    ],
  ];
  for (const [series, value] of metricsEnd) {
    if (series.startsWith("controller_runtime_reconcile_total") || series.startsWith("workqueue_"))
      lines.push([series, String(value)]);
  }
  if (![...metricsEnd.keys()].some((s) => s.startsWith("workqueue_depth")))
    lines.push([
      "workqueue_depth",
      "no series exported (the gauge is only set when a key waits in the queue)",
    ]);
  lines.push(["workqueue_depth max during rollout (sampled 1/s)", String(Math.max(0, ...depthSamples))]);
  lines.push(
    [
      "serin_log lines/warn/error/conflicts",
      `${log.lines} / ${log.warnings} / ${log.errors} / ${log.conflicts}`,
    ],
    ["warning_events", [...warningEvents.entries()].map(([r, n]) => `${r}=${n}`).join(" ") || "none"],
    ["kubectl_poll_ms p50/p95/max", spread(pollCosts, 0)],
    ["kubectl_poll_errors", String(pollErrors)],
    ["loadavg_1m at end", loadavg()[0]?.toFixed(2) ?? "n/a"],
    ["total_s", ((Date.now() - t0) / 1000).toFixed(0)],
  );
  if (load !== undefined)
    lines.push([
      "traffic sent/completed/failed/dropped (status codes)",
      `${load.sent} / ${load.completed} / ${load.failed} / ${load.dropped} (${JSON.stringify(load.byStatus)})`,
    ]);
  if (log.top.length > 0) {
    say("Serin log warnings/errors by message:");
    for (const l of log.top) process.stdout.write(`   ${l}\n`);
  }
  process.stdout.write("\n== figures (the machine may be shared: see loadavg)\n");
  for (const [name, value] of lines) process.stdout.write(`${name}: ${value}\n`);
  if (KEEP) process.stdout.write(`\nenvironment kept: ${env.dir} (Serin log: ${serinLog})\n`);
}

try {
  await main();
  say("tearing down");
  await cleanup();
  clearTimeout(hardAbort);
  process.exit(0);
} catch (err) {
  say(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await cleanup();
  clearTimeout(hardAbort);
  process.exit(1);
}
