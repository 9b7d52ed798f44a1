// Fleet scale (issue 10): N Canaries with traffic on one controller, one push, and what it costs. For each
// N of a ladder, a fresh test world (kube-apiserver + etcd + controller-manager + scheduler + kwok,
// istiod, a real Prometheus scraping the mesh simulator's shards at the tests' interval for that many
// Canaries, the mesh simulator and the load generator each in a process of their own), Serin as its own
// process with the serin ServiceAccount's token, and — when FLAGGER_BIN names a Flagger binary — Flagger
// beside it on identical `flagger.app/v1beta1` Canaries in namespaces of its own (its CRDs and RBAC from
// the same Flagger module, its own ServiceAccount), one Canary per namespace (the catalog example, as
// shipped but with `--replicas` pods, `--interval` and progressDeadlineSeconds 600; its metrics when traffic is on, `metrics: []`
// with --no-traffic).
//
// Measured, per controller:
//   - detection: push → first status write seen Progressing, per Canary (the push is dated by the answer
//     to its PATCH; status writes by the arrival of their watch event at the bench: the same clock and
//     method for both controllers, ms resolution);
//   - step drift: each scheduled step (weights 20 … 50 and the promotion) minus (previous step + interval);
//     weight 10 waits for the canary pods and is not on the schedule (first step shown apart);
//   - push → Succeeded per Canary;
//   - RSS: at start (ready, no Canary) and peak (1 s samples of VmRSS; VmHWM too), from /proc;
//   - CPU seconds of the controller (utime + stime) during the rollout, per rollout step taken;
//   - API requests, counted by the API server: one APF FlowSchema per controller identity and
//     `apiserver_flowcontrol_dispatched_requests_total{flow_schema}` (bench/fleet/apf.ts), during the
//     rollout (push → every Canary finished) per Canary, and while idle (a fixed window after every Canary
//     is Initialized, traffic on) per Canary-minute.
// And the world's health over the rollout: CPU of each of its processes, Prometheus' mesh scrapes (slowest
// vs its timeout, failed, done/due), request latency at the load generator — to tell whether the world or
// the controller saturated.
//
//   npx tsx bench/fleet.ts [--ladder 100,500,1000] [--traffic QPS-per-canary (default 1)] [--no-traffic]
//                          [--interval 10s] [--idle 60s] [--replicas 1] [--keep] [--serin-args "..."]
//                          [--flagger-args "..."] [--budget-min 20] [--scrape-interval S]
//                          [--sidecar-scope namespace|mesh]
//                          [--serin-entry PATH [--serin-node-args "..."]]
//   FLAGGER_BIN=/path/to/flagger npx tsx bench/fleet.ts --ladder 100
//
// Goals (issue 10) are printed with PASS/FAIL, never asserted.
import { loadavg } from "node:os";
import { join } from "node:path";
import { startEnvironment } from "./../test/env/environment.js";
import { sleep } from "./../test/env/processes.js";
import { scrapeIntervalForCanaries } from "./../test/env/prometheus.js";
import { repoRoot } from "./../test/env/toolchain.js";
import { buildSerin, startSerin } from "./../test/support/serin-process.js";
import {
  apiLatency,
  dispatchedRequests,
  type Identity,
  installFlowSchemas,
  meanLatencyMs,
  throttled,
} from "./fleet/apf.js";
import { installFlagger, startFlagger } from "./fleet/flagger.js";
import { KubeAdmin, parsePromText, sumSeries } from "./fleet/kube-admin.js";
import { type LoadProcess, type LoadSummary, startLoadProcess } from "./fleet/load.js";
import { summarizeLog } from "./fleet/log-summary.js";
import { startMeshProcess } from "./fleet/mesh-process.js";
import { cpuPressure, procStat, RssSampler } from "./fleet/proc.js";
import { firstLine, fixed, p50p99max, quantile } from "./fleet/stats.js";
import { CanaryTracker, type RolloutFigures, rolloutFigures } from "./fleet/tracker.js";
import {
  type Controller,
  createFleet,
  ensureNodeCapacity,
  pushImage,
  scopeSidecarsToTheirNamespace,
} from "./fleet/workloads.js";
import { cpuByComponent, cpuDelta, type ScrapeHealth, scrapeHealth, worldComponents } from "./fleet/world.js";

// ---------------------------------------------------------------------------------------------- settings

const USAGE =
  'usage: npx tsx bench/fleet.ts [--ladder 100,500,1000] [--traffic QPS] [--no-traffic] [--interval 10s] [--idle 60s] [--replicas 1] [--keep] [--serin-args "..."] [--flagger-args "..."] [--budget-min 20] [--scrape-interval S] [--sidecar-scope namespace|mesh] [--serin-entry PATH] [--serin-node-args "..."]';

function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const inline = args.find((a) => a.startsWith(`${name}=`));
  return inline?.slice(name.length + 1);
}
function flag(name: string): boolean {
  return process.argv.slice(2).includes(name);
}
function seconds(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`${what}: not a duration: ${text}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n / 1000 : m[2] === "m" ? n * 60 : n;
}

const LADDER = (option("--ladder") ?? "100,500,1000").split(",").map((s) => Number(s.trim()));
if (LADDER.some((n) => !Number.isInteger(n) || n < 1 || n > 3000)) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
const TRAFFIC = !flag("--no-traffic");
const QPS = Number(option("--traffic") ?? "1");
const INTERVAL = option("--interval") ?? "10s";
const INTERVAL_MS = seconds(INTERVAL, "--interval") * 1000;
const IDLE_S = seconds(option("--idle") ?? "60s", "--idle");
const REPLICAS = Number(option("--replicas") ?? "1");
const KEEP = flag("--keep");
const BUDGET_MS = Number(option("--budget-min") ?? "20") * 60_000;
const SERIN_ARGS = (option("--serin-args") ?? "").split(/\s+/).filter((s) => s !== "");
const FLAGGER_ARGS = (option("--flagger-args") ?? "").split(/\s+/).filter((s) => s !== "");
const FLAGGER_BIN = process.env.FLAGGER_BIN || undefined;
/**
 * Another build of Serin to measure (e.g. a worktree of an older commit compiled with tsc:
 * `--serin-entry /work/wt-before/dist/main.js`), run with `--serin-node-args` (default none) instead of
 * production's NODE_OPTIONS; default: this tree's bundle, built first.
 */
const SERIN_ENTRY = option("--serin-entry");
const SERIN_NODE_ARGS = (option("--serin-node-args") ?? "").split(/\s+/).filter((s) => s !== "");
/** The mesh job's scrape interval (= timeout); default the tests' rule for that many Canaries. */
const SCRAPE_S =
  option("--scrape-interval") === undefined
    ? undefined
    : seconds(option("--scrape-interval") ?? "", "--scrape-interval");
const NEW_IMAGE = "istioinaction/catalog:v2";
/** `namespace` (default): a mesh-wide Sidecar scopes each sidecar to its namespace (workloads.ts); `mesh`: none. */
const SIDECAR_SCOPE = option("--sidecar-scope") ?? "namespace";
/** Traffic warms up (each namespace's sidecar connects to istiod) before the idle window. */
const WARMUP_MS = 20_000;
if (
  !(QPS > 0) ||
  !Number.isInteger(REPLICAS) ||
  REPLICAS < 1 ||
  !["namespace", "mesh"].includes(SIDECAR_SCOPE)
) {
  process.stderr.write(`${USAGE}\n`);
  process.exit(2);
}
process.chdir(repoRoot); // `--import tsx` of the child processes resolves from here

const t0 = Date.now();
const say = (text: string) =>
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${text}\n`);

// ---------------------------------------------------------------------------------------------- teardown

type Stop = { name: string; stop: () => Promise<void> | void };
let stops: Stop[] = [];
async function teardown(): Promise<void> {
  const list = stops.reverse();
  stops = [];
  for (const { name, stop } of list) {
    try {
      await stop();
    } catch (err) {
      say(`stopping ${name} failed: ${firstLine(err)}`);
    }
  }
}
process.on("SIGINT", () => void teardown().then(() => process.exit(130)));

// ---------------------------------------------------------------------------------------------- one N

interface SideResult {
  controller: Controller;
  figures: RolloutFigures;
  rssStartMb: number;
  rssPeakMb: number;
  hwmMb: number;
  cpuRolloutS: number;
  cpuInitS: number;
  apiRollout: number;
  apiIdle: number;
  apiInit: number;
  reconcileMeanMs?: number;
  log: { warnings: number; errors: number; top: string[] };
}

interface RunResult {
  n: number;
  sides: SideResult[];
  idleWindowS: number;
  rolloutWindowS: number;
  initS: number;
  finished: boolean;
  worldCpu: Map<string, number>;
  scrape?: ScrapeHealth;
  load?: LoadSummary;
  loadDuringRollout?: LoadSummary;
  throttled: { rejected: number; queuedSum: number; waits: number; nominalSeats: number };
  /** the API server's mean request latency during the rollout (every client), ms */
  apiLatencyMs: { writes: number; reads: number };
  loadavg: number[];
  pressure: number | undefined;
  notes: string[];
}

async function runOnce(n: number): Promise<RunResult> {
  const deadline = Date.now() + BUDGET_MS - 60_000;
  const notes: string[] = [];
  const controllers: Controller[] = FLAGGER_BIN ? ["serin", "flagger"] : ["serin"];
  const total = n * controllers.length;
  say(
    `== N=${n}${FLAGGER_BIN ? " (Serin and Flagger, each on its own N)" : ""}: interval ${INTERVAL}, ${TRAFFIC ? `example metrics, ${QPS} qps per Canary` : "metrics: [] and no traffic"}, replicas ${REPLICAS}; loadavg ${loadavg()[0]?.toFixed(2)}`,
  );
  const env = await startEnvironment({ keepDir: KEEP });
  stops.push({ name: "environment", stop: () => env.stop() });
  const kube = await KubeAdmin.fromKubeconfig(env.cluster.kubeconfigPath);
  stops.push({ name: "admin client", stop: () => kube.close() });

  const identities: Identity[] = [
    { name: "serin", serviceAccount: { namespace: "serin-system", name: "serin" } },
  ];
  if (FLAGGER_BIN)
    identities.push({ name: "flagger", serviceAccount: { namespace: "flagger-system", name: "flagger" } });
  await installFlowSchemas(kube, identities);
  const flaggerInstall = FLAGGER_BIN ? await installFlagger(env) : undefined;
  const nodes = await ensureNodeCapacity(kube, total * REPLICAS * 2);
  if (SIDECAR_SCOPE === "namespace") await scopeSidecarsToTheirNamespace(kube);

  const mesh = await startMeshProcess({
    kubeconfigPath: env.cluster.kubeconfigPath,
    xdsAddress: env.istiod.xdsAddress,
    logDir: env.dir,
  });
  stops.push({ name: "mesh simulator", stop: () => mesh.stop() });
  const targets = await mesh.metricsTargets();
  const scrapeS = SCRAPE_S ?? scrapeIntervalForCanaries(total);
  env.prometheus.setTargets("mesh", targets, { scrapeIntervalSeconds: scrapeS });

  const serin = await startSerin({
    kubeconfigPath: env.serinKubeconfigPath,
    metricsServer: env.prometheus.url,
    logDir: env.dir,
    extraArgs: ["--log-level=info", ...SERIN_ARGS],
    ...(SERIN_ENTRY === undefined ? {} : { entry: SERIN_ENTRY, nodeArgs: SERIN_NODE_ARGS }),
  });
  stops.push({ name: "serin", stop: () => serin.stop() });
  const pids: Record<Controller, number | undefined> = { serin: serin.process.pid, flagger: undefined };
  if (FLAGGER_BIN && flaggerInstall) {
    const flagger = await startFlagger({
      binary: FLAGGER_BIN,
      kubeconfigPath: flaggerInstall.kubeconfigPath,
      metricsServer: env.prometheus.url,
      logDir: env.dir,
      extraArgs: FLAGGER_ARGS,
    });
    stops.push({ name: "flagger", stop: () => flagger.stop() });
    pids.flagger = flagger.pid;
  }
  const samplers = new Map<Controller, RssSampler>();
  for (const c of controllers) {
    const sampler = new RssSampler(pids[c] as number);
    samplers.set(c, sampler);
    stops.push({ name: `${c} sampler`, stop: () => sampler.stop() });
  }
  await sleep(5_000); // settle after start-up (informers listed, first GC)
  const rssStart = new Map(controllers.map((c) => [c, samplers.get(c)?.takePeak() ?? Number.NaN]));
  const cpu = (c: Controller) => procStat(pids[c] as number)?.cpuS ?? Number.NaN;
  say(
    `world ready in ${((Date.now() - t0) / 1000).toFixed(0)}s (env ${env.dir}, ${nodes} kwok nodes, mesh scrape ${scrapeS}s over ${targets.length} shards, sidecar egress scope ${SIDECAR_SCOPE}); RSS at start: ${controllers.map((c) => `${c} ${fixed(rssStart.get(c), 0)} MB`).join(", ")}`,
  );

  // ---- watch the Canaries, create the fleet, wait for Initialized
  const trackers = new Map<Controller, CanaryTracker>();
  const nsOf = (c: Controller) =>
    Array.from(
      { length: n },
      (_, i) => `fleet-${c === "serin" ? "s" : "f"}-${String(i + 1).padStart(4, "0")}`,
    );
  for (const c of controllers) {
    const tracker = new CanaryTracker();
    trackers.set(c, tracker);
    for (const ns of nsOf(c)) tracker.track(ns, "catalog-release");
    const group = c === "serin" ? "serin.dev" : "flagger.app";
    const watch = kube.listWatch(`/apis/${group}/v1beta1/canaries`, (obj, at) => tracker.observe(obj, at));
    stops.push({ name: `${c} watch`, stop: () => watch.stop() });
    await watch.ready;
  }
  const api0 = await dispatchedRequests(kube, identities);
  const cpu0 = new Map(controllers.map((c) => [c, cpu(c)]));
  const createStart = Date.now();
  await Promise.all(
    controllers.map((c) =>
      createFleet(
        kube,
        c,
        nsOf(c),
        { interval: INTERVAL, metrics: TRAFFIC, replicas: REPLICAS },
        (ns, at) => {
          const t = trackers.get(c)?.track(ns, "catalog-release");
          if (t) t.createdAt = at;
        },
      ),
    ),
  );
  say(
    `created ${total} Canaries in ${((Date.now() - createStart) / 1000).toFixed(1)}s; waiting for Initialized`,
  );
  const tracksOf = (c: Controller) => trackers.get(c)?.all() ?? [];
  const initDeadline = Math.min(deadline, Date.now() + Math.max(180_000, total * 600));
  while (Date.now() < initDeadline) {
    if (controllers.every((c) => tracksOf(c).every((t) => t.initializedAt !== undefined))) break;
    await sleep(500);
  }
  const initS = (Date.now() - createStart) / 1000;
  const initCounts = controllers.map((c) => `${c} ${tracksOf(c).filter((t) => t.initializedAt).length}/${n}`);
  say(`Initialized after ${initS.toFixed(1)}s: ${initCounts.join(", ")}`);
  if (controllers.some((c) => tracksOf(c).some((t) => t.initializedAt === undefined)))
    notes.push(`not all Initialized in time (${initCounts.join(", ")})`);

  // ---- traffic, warm-up, idle window
  let load: LoadProcess | undefined;
  if (TRAFFIC) {
    load = await startLoadProcess({
      proxyUrl: mesh.proxyUrl,
      // Interleaved, so that both controllers' sidecars connect over the same span.
      namespaces: Array.from({ length: n }, (_, i) => controllers.map((c) => nsOf(c)[i] as string)).flat(),
      qps: QPS,
      durationMs: Math.max(60_000, deadline - Date.now()),
    });
    const started = load;
    stops.push({ name: "load", stop: () => started.kill() });
    say(
      `traffic: ${QPS} qps from webapp to each of ${total} catalogs (${(QPS * total).toFixed(0)} qps); ${WARMUP_MS / 1000}s warm-up`,
    );
    await sleep(WARMUP_MS);
  } else {
    await sleep(5_000);
  }
  const apiIdle0 = await dispatchedRequests(kube, identities);
  const idleStart = Date.now();
  say(`idle window: ${IDLE_S}s`);
  await sleep(IDLE_S * 1000);
  const apiIdle1 = await dispatchedRequests(kube, identities);
  const idleWindowS = (Date.now() - idleStart) / 1000;
  const cpuInit = new Map(controllers.map((c) => [c, cpu(c) - (cpu0.get(c) ?? 0)]));

  // ---- the push
  const components = worldComponents(env.dir, {
    "mesh simulator (+backends, xds bridge)": mesh.pid,
    "load generator": load?.pid,
    serin: pids.serin,
    flagger: pids.flagger,
  });
  const world0 = cpuByComponent(components);
  await load?.snapshot(); // latency window starts at the push
  const cpuPush = new Map(controllers.map((c) => [c, cpu(c)]));
  const api1 = await dispatchedRequests(kube, identities);
  const latency1 = await apiLatency(kube);
  // Interleaved, so that both controllers' targets are pushed over the same span.
  const order = Array.from({ length: n }, (_, i) =>
    controllers.map((c) => ({ c, ns: nsOf(c)[i] as string })),
  ).flat();
  const byNs = new Map(order.map(({ c, ns }) => [ns, c]));
  const pushStart = Date.now();
  await pushImage(
    kube,
    order.map((o) => o.ns),
    NEW_IMAGE,
    (ns, at) => {
      const c = byNs.get(ns);
      const t = c ? trackers.get(c)?.track(ns, "catalog-release") : undefined;
      if (t) t.pushedAt = at;
    },
  );
  say(
    `pushed ${NEW_IMAGE} to ${total} targets in ${((Date.now() - pushStart) / 1000).toFixed(1)}s; waiting for every rollout to end`,
  );
  const ended = (c: Controller) =>
    tracksOf(c)
      .filter((t) => t.initializedAt !== undefined)
      .every((t) => t.steps.has("succeeded") || t.steps.has("failed"));
  let lastReport = Date.now();
  while (Date.now() < deadline && !controllers.every(ended)) {
    await sleep(500);
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      const progress = controllers.map((c) => {
        const tr = tracksOf(c);
        return `${c}: ${tr.filter((t) => t.detectedAt).length} detected, ${tr.filter((t) => t.steps.has("succeeded")).length} succeeded, ${tr.filter((t) => t.steps.has("failed")).length} failed`;
      });
      say(`${progress.join("; ")}; loadavg ${loadavg()[0]?.toFixed(2)}`);
    }
  }
  const finished = controllers.every(ended);
  if (!finished) notes.push("out of time: not every rollout ended");
  await sleep(2_000); // trailing writes (events, last status) belong to the rollout
  const rolloutWindowS = (Date.now() - pushStart) / 1000;
  const api2 = await dispatchedRequests(kube, identities);
  const apiLatencyMs = meanLatencyMs(latency1, await apiLatency(kube));
  const world1 = cpuByComponent(components);
  const loadDuringRollout = await load?.snapshot();
  const scrape = TRAFFIC
    ? await scrapeHealth(env.prometheus.url, rolloutWindowS, scrapeS, targets.length)
    : undefined;
  const apf = await throttled(kube);
  const loadavgEnd = loadavg();
  const pressure = cpuPressure();

  // Serin's own view (reconcile time), best effort.
  let reconcileMeanMs: number | undefined;
  try {
    const m = parsePromText(
      await (await fetch(serin.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text(),
    );
    const count = sumSeries(m, "controller_runtime_reconcile_time_seconds_count");
    if (count > 0)
      reconcileMeanMs = (sumSeries(m, "controller_runtime_reconcile_time_seconds_sum") / count) * 1000;
  } catch (err) {
    notes.push(`serin /metrics: ${firstLine(err)}`);
  }

  const sides: SideResult[] = controllers.map((c) => {
    const sampler = samplers.get(c) as RssSampler;
    const logPath = join(env.dir, `${c}.log`);
    const log = c === "serin" ? summarizeLog(logPath) : { warnings: 0, errors: 0, top: [] as string[] };
    return {
      controller: c,
      figures: rolloutFigures(tracksOf(c), INTERVAL_MS),
      rssStartMb: rssStart.get(c) ?? Number.NaN,
      rssPeakMb: Math.max(sampler.takePeak(), 0),
      hwmMb: sampler.hwm(),
      cpuRolloutS: cpu(c) - (cpuPush.get(c) ?? 0),
      cpuInitS: cpuInit.get(c) ?? Number.NaN,
      apiRollout: (api2.get(c) ?? 0) - (api1.get(c) ?? 0),
      apiIdle: (apiIdle1.get(c) ?? 0) - (apiIdle0.get(c) ?? 0),
      apiInit: (apiIdle0.get(c) ?? 0) - (api0.get(c) ?? 0),
      ...(c === "serin" && reconcileMeanMs !== undefined ? { reconcileMeanMs } : {}),
      log,
    };
  });
  let loadTotal: LoadSummary | undefined;
  if (load) loadTotal = await load.stop().catch(() => undefined);

  for (const s of sides) {
    const odd = tracksOf(s.controller).filter((t) => t.phase !== "Succeeded" || t.maxFailedChecks > 0);
    if (odd.length > 0) {
      notes.push(`${s.controller}: ${odd.length} Canaries not Succeeded or with failed checks, e.g.`);
      for (const t of odd.slice(0, 4))
        notes.push(`  ${t.key}: ${t.phases.join(" → ")}; failedChecks ${t.maxFailedChecks}; "${t.message}"`);
    }
    for (const line of s.log.top) notes.push(`${s.controller} log: ${line}`);
  }
  if (KEEP) notes.push(`environment kept: ${env.dir}`);
  const result: RunResult = {
    n,
    sides,
    idleWindowS,
    rolloutWindowS,
    initS,
    finished,
    worldCpu: cpuDelta(world0, world1),
    ...(scrape ? { scrape } : {}),
    ...(loadTotal ? { load: loadTotal } : {}),
    ...(loadDuringRollout ? { loadDuringRollout } : {}),
    throttled: apf,
    apiLatencyMs,
    loadavg: loadavgEnd,
    pressure,
    notes,
  };
  say("tearing down");
  await teardown();
  return result;
}

// ---------------------------------------------------------------------------------------------- report

const mb = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : "n/a");

function sideCells(r: RunResult, s: SideResult): string[] {
  const f = s.figures;
  const perCanary = (v: number) => (v / Math.max(1, r.n)).toFixed(1);
  const idlePerCanaryMinute = s.apiIdle / Math.max(1, r.n) / (r.idleWindowS / 60);
  return [
    p50p99max(f.detectionMs),
    p50p99max(f.driftMs),
    f.stepGapMaxMs > 0 ? `${(f.stepGapMaxMs / 1000).toFixed(1)} s` : "n/a",
    f.pushToSucceededMs.length > 0
      ? `${(quantile(f.pushToSucceededMs, 0.5) / 1000).toFixed(0)}/${(quantile(f.pushToSucceededMs, 1) / 1000).toFixed(0)} s`
      : "n/a",
    `${f.succeeded}/${f.canaries}${f.failed > 0 ? ` (${f.failed} failed)` : ""}`,
    `${mb(s.rssStartMb)} / ${mb(s.rssPeakMb)}`,
    `${((s.cpuRolloutS * 1000) / Math.max(1, f.steps)).toFixed(1)} ms (${s.cpuRolloutS.toFixed(1)} s / ${f.steps})`,
    perCanary(s.apiRollout),
    idlePerCanaryMinute.toFixed(2),
  ];
}

function printRun(r: RunResult): void {
  process.stdout.write(`\n== N=${r.n} (per controller)\n`);
  process.stdout.write(
    "| N | controller | detection p50/p99/max | tick drift p50/p99/max | step gap max | push→Succeeded p50/max | succeeded | RSS start / peak MB | CPU per step (rollout CPU / steps) | API requests per canary per rollout | idle API requests per canary-minute |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
  );
  for (const s of r.sides)
    process.stdout.write(`| ${r.n} | ${s.controller} | ${sideCells(r, s).join(" | ")} |\n`);
  for (const s of r.sides) {
    const f = s.figures;
    process.stdout.write(
      `${s.controller}: initialized ${f.initialized}/${f.canaries}; first step (w0→w10, waits for pods) ${p50p99max(f.firstStepMs)}; analysis ticks ${f.driftMs.length} (${f.spannedTicks} came more than half an interval late); canaries with failed checks ${f.withFailedChecks}; phases ${[...f.phases].map(([p, k]) => `${p}=${k}`).join(" ")}; VmHWM ${mb(s.hwmMb)} MB; CPU during create+init+idle ${s.cpuInitS.toFixed(1)} s; API requests during create+init ${s.apiInit} (${(s.apiInit / r.n).toFixed(1)}/canary)${s.reconcileMeanMs !== undefined ? `; reconcile mean ${s.reconcileMeanMs.toFixed(1)} ms` : ""}${s.controller === "serin" ? `; log warn/error ${s.log.warnings}/${s.log.errors}` : ""}\n`,
    );
  }
  const cpuPct = [...r.worldCpu.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${((s / r.rolloutWindowS) * 100).toFixed(0)}%`)
    .join(", ");
  process.stdout.write(
    `world during the rollout (${r.rolloutWindowS.toFixed(0)} s, % of one core): ${cpuPct}\n`,
  );
  if (r.scrape) {
    const s = r.scrape;
    process.stdout.write(
      `Prometheus mesh scrapes: interval = timeout ${s.intervalS}s over ${s.targets} shards; slowest ${fixed(s.maxDurationS, 2)} s; failed ${fixed(s.failed, 0)}; done/due ${fixed(s.done, 0)}/${s.due}; samples per round ${fixed(s.samplesPerRound, 0)}\n`,
    );
  }
  if (r.loadDuringRollout) {
    const l = r.loadDuringRollout;
    process.stdout.write(
      `requests during the rollout: latency p50/p99/max ${fixed(l.latencyMs.p50, 0)}/${fixed(l.latencyMs.p99, 0)}/${fixed(l.latencyMs.max, 0)} ms\n`,
    );
  }
  if (r.load) {
    const l = r.load;
    process.stdout.write(
      `traffic in total: sent ${l.sent}, completed ${l.completed}, failed ${l.failed}, dropped ${l.dropped}, by status ${JSON.stringify(l.byStatus)}\n`,
    );
  }
  process.stdout.write(
    `API server latency during the rollout (every client, mean): writes ${fixed(r.apiLatencyMs.writes, 1)} ms, GETs ${fixed(r.apiLatencyMs.reads, 1)} ms\n`,
  );
  process.stdout.write(
    `APF (the bench's level, ${r.throttled.nominalSeats} seats): rejected ${r.throttled.rejected}, wait ${r.throttled.queuedSum.toFixed(1)} s over ${r.throttled.waits} requests (mean ${((r.throttled.queuedSum / Math.max(1, r.throttled.waits)) * 1000).toFixed(1)} ms; includes waits for a seat while the server is busy); loadavg ${r.loadavg.map((v) => v.toFixed(2)).join(" ")}; CPU pressure avg10 ${fixed(r.pressure, 1)}%; all Initialized after ${r.initS.toFixed(0)} s; idle window ${r.idleWindowS.toFixed(0)} s; rollout window ${r.rolloutWindowS.toFixed(0)} s${r.finished ? "" : " (cut short)"}\n`,
  );
  for (const note of r.notes) process.stdout.write(`note: ${note}\n`);
}

function goalLines(r: RunResult): string[] {
  const serin = r.sides.find((s) => s.controller === "serin");
  const flagger = r.sides.find((s) => s.controller === "flagger");
  if (!serin) return [];
  const mark = (ok: boolean | undefined) => (ok === undefined ? "n/a " : ok ? "PASS" : "FAIL");
  const f = serin.figures;
  const absDrift = f.driftMs.map(Math.abs);
  const driftP99 = quantile(absDrift, 0.99);
  const detectP99 = quantile(f.detectionMs, 0.99);
  const lines = [
    `${mark(absDrift.length > 0 ? driftP99 <= 500 : undefined)} every step within 0.5 s of its schedule (p99 |drift| ${fixed(driftP99 / 1000, 2)} s over ${absDrift.length} analysis ticks; largest gap between steps ${fixed(f.stepGapMaxMs / 1000, 1)} s)`,
    `${mark(f.detectionMs.length > 0 ? detectP99 <= 1000 : undefined)} revision detected within 1 s (p99 ${fixed(detectP99 / 1000, 2)} s)`,
    `${mark(serin.rssPeakMb < 256)} RSS under 256 MB (peak ${mb(serin.rssPeakMb)} MB)`,
  ];
  if (flagger) {
    const ratio = serin.rssPeakMb / flagger.rssPeakMb;
    lines.push(
      `${mark(ratio <= 1.5)} RSS no more than 1.5x Flagger's (${mb(serin.rssPeakMb)} / ${mb(flagger.rssPeakMb)} MB = ${ratio.toFixed(2)}x)`,
    );
    const apiRatio = serin.apiRollout / Math.max(1, flagger.apiRollout);
    lines.push(
      `${mark(apiRatio <= 0.2)} API requests per rollout no more than 1/5 of Flagger's (${(serin.apiRollout / r.n).toFixed(1)} / ${(flagger.apiRollout / r.n).toFixed(1)} per canary = ${apiRatio.toFixed(3)})`,
    );
  } else {
    lines.push(
      "n/a  RSS ≤ 1.5x and API requests ≤ 1/5 of Flagger's: set FLAGGER_BIN to measure Flagger beside Serin",
    );
  }
  lines.push(
    `${mark(serin.apiIdle === 0)} zero idle API traffic (${serin.apiIdle} requests in ${r.idleWindowS.toFixed(0)} s with ${r.n} Canaries)`,
  );
  lines.push(
    `info CPU per rollout step: ${((serin.cpuRolloutS * 1000) / Math.max(1, f.steps)).toFixed(1)} ms (${serin.cpuRolloutS.toFixed(1)} CPU-s over ${f.steps} steps; ${((serin.cpuRolloutS / r.rolloutWindowS) * 100).toFixed(0)}% of a core during the rollout)`,
  );
  return lines;
}

// ---------------------------------------------------------------------------------------------- main

async function main(): Promise<void> {
  say(
    `fleet bench: ladder ${LADDER.join(", ")}; ${TRAFFIC ? `traffic ${QPS} qps per Canary, example metrics` : "no traffic, metrics: []"}; interval ${INTERVAL}; ${FLAGGER_BIN ? `Flagger: ${FLAGGER_BIN}` : "Serin alone (FLAGGER_BIN unset)"}; loadavg ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")}`,
  );
  if (SERIN_ENTRY === undefined) buildSerin();
  const results: RunResult[] = [];
  for (const n of LADDER) {
    try {
      const r = await runOnce(n);
      results.push(r);
      printRun(r);
    } catch (err) {
      say(`N=${n} FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      await teardown();
      break;
    }
  }
  if (results.length === 0) process.exit(1);
  process.stdout.write("\n== summary (the machine may be shared: see loadavg per N)\n");
  process.stdout.write(
    "| N | controller | detection p50/p99/max | tick drift p50/p99/max | step gap max | push→Succeeded p50/max | succeeded | RSS start / peak MB | CPU per step (rollout CPU / steps) | API requests per canary per rollout | idle API requests per canary-minute |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
  );
  for (const r of results)
    for (const s of r.sides)
      process.stdout.write(`| ${r.n} | ${s.controller} | ${sideCells(r, s).join(" | ")} |\n`);
  process.stdout.write("\n== goals (issue 10; printed, not asserted)\n");
  for (const r of results) {
    process.stdout.write(`N=${r.n}:\n`);
    for (const line of goalLines(r)) process.stdout.write(`  ${line}\n`);
  }
}

const hardAbort = setTimeout(
  () => {
    say("ABORT: over the total budget; tearing down");
    void teardown().then(() => process.exit(1));
  },
  BUDGET_MS * LADDER.length + 120_000,
);
try {
  await main();
  clearTimeout(hardAbort);
  await teardown();
  process.exit(0);
} catch (err) {
  say(`FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  await teardown();
  clearTimeout(hardAbort);
  process.exit(1);
}
