// Serin's memory at N Canaries (issue 10, "a memory diet"; docs/scale.md, "Memory"). On the project's
// test world (kube-apiserver + etcd + controller-manager + kwok, istiod, Prometheus; no mesh simulator,
// no traffic) it starts Serin as its own process with the serin ServiceAccount, then grows the fleet
// along a ladder of N (default 0, 100, 200): N namespaces with the catalog example (Deployment and
// Service applied with `kubectl apply`, so they carry last-applied and managedFields as users' objects
// do; the Canary with `metrics: []`). At each rung, once every Canary is Initialized and after a
// settling pause, it prints Serin's RSS (VmRSS; peak over the rung), V8 heap used/total, external
// memory, and the CPU seconds Serin spent on the rung. With --snapshot it also writes a heap snapshot
// per rung and prints where the heap goes (self size by node type and by constructor).
//
//   npx tsx bench/memory.ts [--ladder=0,100,200] [--rollout] [--entry=PATH] [--node-options="FLAGS"]
//                           [--env="K=V K=V"] [--snapshot] [--keep]
//
// --rollout: after the last rung, one `kubectl set image` pushes a new image to every target; it prints
// Serin's RSS peak and CPU seconds until every Canary is Succeeded (interval 10s, 5 steps + promotion).
// --entry runs another build (e.g. a checkout of an older commit: its dist/main.js) instead of this
// tree's bundle; --node-options replaces production's Node flags and --env production's other
// environment variables (both from deploy/deployment.yaml) — pass --node-options= or --env= (empty) for
// none. Same method for every build, so before/after compare.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { kubectlPath } from "../test/env/cluster.js";
import { type Environment, startEnvironment } from "../test/env/environment.js";
import { sleep } from "../test/env/processes.js";
import { repoRoot } from "../test/env/toolchain.js";
import {
  buildSerin,
  productionEnv,
  productionNodeOptions,
  SERIN_ENTRY,
  type SerinProcess,
  startSerin,
} from "../test/support/serin-process.js";

const execFileAsync = promisify(execFile);

const args = process.argv.slice(2);
const option = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const LADDER = (option("ladder") ?? "0,100,200").split(",").map(Number);
if (LADDER.some((n) => !Number.isInteger(n) || n < 0 || n > 2000) || LADDER.length === 0) {
  process.stderr.write(
    "usage: npx tsx bench/memory.ts [--ladder=0,100,200] [--rollout] [--entry=PATH] [--node-options=FLAGS] [--env=K=V...] [--snapshot] [--keep]\n",
  );
  process.exit(2);
}
const ENTRY = option("entry");
const NODE_OPTIONS = option("node-options");
const ENV = option("env");
const ROLLOUT = args.includes("--rollout");
const ROLLOUT_TIMEOUT_MS = 600_000;
const NEW_IMAGE = "istioinaction/catalog:v2";
const SNAPSHOT = args.includes("--snapshot");
const KEEP = args.includes("--keep");
const SETTLE_MS = 20_000;
const INIT_TIMEOUT_MS = 300_000;

const t0 = Date.now();
const say = (text: string) =>
  process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${text}\n`);

// ---------------------------------------------------------------------------------------------- process figures

function procStatus(pid: number, field: string): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${field}:`));
  return Number(line?.replace(/\D+/g, "")) / 1024;
}

/** user + system CPU seconds of the process so far */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function heapFigures(serin: SerinProcess): Promise<Record<string, number>> {
  const text = await (await fetch(serin.metricsUrl, { signal: AbortSignal.timeout(10_000) })).text();
  const out: Record<string, number> = {};
  for (const name of [
    "nodejs_heap_size_used_bytes",
    "nodejs_heap_size_total_bytes",
    "nodejs_external_memory_bytes",
  ]) {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    out[name] = Number(line?.split(" ")[1]) / 1024 / 1024;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- heap snapshots

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size (MB) by node type, and by constructor name for objects, of a .heapsnapshot file. */
function summarizeSnapshot(path: string): { byType: Map<string, number>; byName: Map<string, number> } {
  const snap = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf("type");
  const iName = fields.indexOf("name");
  const iSize = fields.indexOf("self_size");
  const byType = new Map<string, number>();
  const byName = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v / 1024 / 1024);
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType] ?? 0] ?? "?";
    const size = snap.nodes[i + iSize] ?? 0;
    add(byType, type, size);
    const name = snap.strings[snap.nodes[i + iName] ?? 0] ?? "?";
    if (type === "object" || type === "closure" || type === "array" || type === "hidden" || type === "code")
      add(byName, `${type}:${name.slice(0, 60)}`, size);
  }
  return { byType, byName };
}

async function takeSnapshot(serin: SerinProcess, dir: string): Promise<string | undefined> {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot")));
  process.kill(serin.process.pid, "SIGUSR2");
  for (let i = 0; i < 120; i++) {
    await sleep(1_000);
    const fresh = readdirSync(dir).filter((f) => f.endsWith(".heapsnapshot") && !before.has(f));
    const file = fresh[0];
    if (file !== undefined) {
      // complete when it parses (V8 writes it in chunks, with pauses under load)
      const path = join(dir, file);
      for (let j = 0; j < 180; j++) {
        await sleep(1_000);
        try {
          JSON.parse(readFileSync(path, "utf8"));
          return path;
        } catch {
          // still being written
        }
      }
      return undefined;
    }
  }
  return undefined;
}

function top(m: Map<string, number>, n: number): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `    ${v.toFixed(2).padStart(7)} MB  ${k}`)
    .join("\n");
}

type SnapshotSummary = ReturnType<typeof summarizeSnapshot>;

/** Writes a heap snapshot, prints where the heap goes and what grew since `previous`. */
async function snapshotReport(
  serin: SerinProcess,
  dir: string,
  when: string,
  previous: SnapshotSummary | undefined,
): Promise<SnapshotSummary | undefined> {
  const file = await takeSnapshot(serin, dir);
  if (file === undefined) {
    say("no heap snapshot appeared");
    return previous;
  }
  const summary = summarizeSnapshot(file);
  say(`heap snapshot at ${when} (${file}), self size by type:\n${top(summary.byType, 12)}`);
  say(`by constructor:\n${top(summary.byName, 25)}`);
  if (previous !== undefined) {
    const growth = new Map<string, number>();
    for (const [k, v] of summary.byName) growth.set(k, v - (previous.byName.get(k) ?? 0));
    say(`growth since the previous snapshot, by constructor:\n${top(growth, 15)}`);
  }
  // the snapshot itself allocates: let the heap settle again before the next figures
  await sleep(5_000);
  return summary;
}

// ---------------------------------------------------------------------------------------------- the fleet

function catalogManifests(namespace: string): string {
  const dir = join(repoRoot, "examples", "catalog");
  const canary = readFileSync(join(dir, "canary.yaml"), "utf8")
    .replace("interval: 45s", "interval: 10s")
    .replace(/\n {4}metrics:\n[\s\S]*$/, "\n    metrics: []\n");
  if (!canary.includes("metrics: []")) throw new Error("examples/catalog/canary.yaml changed shape");
  const docs = [
    readFileSync(join(dir, "deployment.yaml"), "utf8"),
    readFileSync(join(dir, "service.yaml"), "utf8"),
    canary,
  ];
  return docs
    .map((d) => d.replace(/^metadata:\n/m, `metadata:\n  namespace: ${namespace}\n`))
    .join("\n---\n");
}

async function kubectl(kubeconfig: string, argv: string[]): Promise<string> {
  const { stdout } = await execFileAsync(kubectlPath(), [`--kubeconfig=${kubeconfig}`, ...argv], {
    maxBuffer: 512 * 1024 * 1024,
    timeout: 300_000,
    encoding: "utf8",
  });
  return stdout;
}

async function grow(env: Environment, from: number, to: number): Promise<string[]> {
  const names = Array.from({ length: to - from }, (_, i) => `mem-${String(from + i + 1).padStart(4, "0")}`);
  if (names.length === 0) return names;
  const kc = env.cluster.kubeconfigPath;
  const file = join(env.dir, `mem-${to}.yaml`);
  writeFileSync(
    file,
    names.map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`).join("---\n"),
  );
  await kubectl(kc, ["apply", "-f", file]);
  writeFileSync(file, names.map(catalogManifests).join("\n---\n"));
  await kubectl(kc, ["apply", "-f", file]);
  return names;
}

async function phaseCount(env: Environment, phase: string): Promise<number> {
  const out = await kubectl(env.cluster.kubeconfigPath, [
    "get",
    "canaries",
    "-A",
    "-o",
    "jsonpath={range .items[*]}{.status.phase}{'\\n'}{end}",
  ]);
  return out.split("\n").filter((p) => p === phase).length;
}

/** One `kubectl set image` for every target (a file listing them), as a fleet-wide release would. */
async function pushAll(env: Environment, n: number): Promise<void> {
  const file = join(env.dir, "mem-targets.json");
  const items = Array.from({ length: n }, (_, i) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "catalog", namespace: `mem-${String(i + 1).padStart(4, "0")}` },
  }));
  writeFileSync(file, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
  await kubectl(env.cluster.kubeconfigPath, ["set", "image", "-f", file, `catalog=${NEW_IMAGE}`]);
}

/** Samples VmRSS every 0.5 s until stopped; returns the peak (MB). */
function rssSampler(pid: number): { stop(): number } {
  let peak = procStatus(pid, "VmRSS");
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, procStatus(pid, "VmRSS"));
    } catch {
      // gone: reported by the caller
    }
  }, 500);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Pushes v2 to every target and waits until every Canary is Succeeded: RSS peak, CPU and time. */
async function rollout(env: Environment, serin: SerinProcess, n: number): Promise<string> {
  const pid = serin.process.pid;
  const cpuStart = cpuSeconds(pid);
  const started = Date.now();
  const sampler = rssSampler(pid);
  let done = 0;
  try {
    await pushAll(env, n);
    say(`pushed ${NEW_IMAGE} to ${n} targets; waiting for Succeeded`);
    const deadline = started + ROLLOUT_TIMEOUT_MS;
    while (done < n && Date.now() < deadline) {
      await sleep(2_000);
      done = await phaseCount(env, "Succeeded");
    }
  } catch (err) {
    say(`rollout: ${err instanceof Error ? err.message : String(err)}`);
  }
  const seconds = (Date.now() - started) / 1000;
  const peak = sampler.stop();
  const cpu = cpuSeconds(pid) - cpuStart;
  const heap = await heapFigures(serin);
  return `| rollout of ${n} (${done} Succeeded, ${seconds.toFixed(0)} s) | ${procStatus(pid, "VmRSS").toFixed(1)} | ${peak.toFixed(1)} | ${heap.nodejs_heap_size_used_bytes?.toFixed(1)} | ${heap.nodejs_heap_size_total_bytes?.toFixed(1)} | ${heap.nodejs_external_memory_bytes?.toFixed(1)} | ${cpu.toFixed(1)} |`;
}

// ---------------------------------------------------------------------------------------------- the run

async function main(): Promise<void> {
  const nodeArgs =
    NODE_OPTIONS === undefined ? productionNodeOptions() : NODE_OPTIONS.split(/\s+/).filter(Boolean);
  const serinEnv =
    ENV === undefined
      ? productionEnv()
      : Object.fromEntries(
          ENV.split(/\s+/)
            .filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
        );
  const envText =
    Object.entries(serinEnv)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ") || "(none)";
  say(
    `memory: ladder ${LADDER.join(", ")}${ROLLOUT ? " + rollout" : ""}; entry ${ENTRY ?? SERIN_ENTRY}; node flags ${nodeArgs.join(" ") || "(none)"}; env ${envText}`,
  );
  const env = await startEnvironment({ keepDir: KEEP });
  let serin: SerinProcess | undefined;
  const rows: string[] = [];
  try {
    if (ENTRY === undefined) buildSerin();
    else if (!existsSync(ENTRY)) throw new Error(`--entry ${ENTRY} does not exist`);
    serin = await startSerin({
      kubeconfigPath: env.serinKubeconfigPath,
      metricsServer: env.prometheus.url,
      logDir: env.dir,
      nodeArgs: [
        ...nodeArgs,
        ...(SNAPSHOT ? ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${env.dir}`] : []),
      ],
      env: serinEnv,
      ...(ENTRY !== undefined ? { entry: ENTRY } : {}),
      extraArgs: ["--log-level=info"],
    });
    const pid = serin.process.pid;
    say(`Serin pid ${pid} ready; RSS ${procStatus(pid, "VmRSS").toFixed(1)} MB; env ${env.dir}`);
    let n = 0;
    let previous: ReturnType<typeof summarizeSnapshot> | undefined;
    for (const target of LADDER) {
      const cpuStart = cpuSeconds(pid);
      const sampler = rssSampler(pid);
      let peak = 0;
      try {
        const created = await grow(env, n, Math.max(n, target));
        n = Math.max(n, target);
        if (created.length > 0)
          say(`applied ${created.length} catalog examples (N=${n}); waiting for Initialized`);
        const deadline = Date.now() + INIT_TIMEOUT_MS;
        let ready = await phaseCount(env, "Initialized");
        while (ready < n && Date.now() < deadline) {
          await sleep(2_000);
          ready = await phaseCount(env, "Initialized");
        }
        if (ready < n) say(`only ${ready}/${n} Initialized in time`);
        await sleep(SETTLE_MS);
      } finally {
        peak = sampler.stop();
      }
      const heap = await heapFigures(serin);
      const rss = procStatus(pid, "VmRSS");
      const cpu = cpuSeconds(pid) - cpuStart;
      const row = `| ${n} | ${rss.toFixed(1)} | ${peak.toFixed(1)} | ${heap.nodejs_heap_size_used_bytes?.toFixed(1)} | ${heap.nodejs_heap_size_total_bytes?.toFixed(1)} | ${heap.nodejs_external_memory_bytes?.toFixed(1)} | ${cpu.toFixed(1)} |`;
      rows.push(row);
      say(`N=${n}: ${row}`);
      if (SNAPSHOT) previous = await snapshotReport(serin, env.dir, `N=${n}`, previous);
    }
    if (ROLLOUT) {
      const row = await rollout(env, serin, n);
      rows.push(row);
      say(row);
      if (SNAPSHOT) await snapshotReport(serin, env.dir, `the end of the rollout of ${n}`, previous);
    }
    process.stdout.write(
      `\nSerin memory (${ENTRY ?? "bundle"}; node flags: ${nodeArgs.join(" ") || "(none)"}; env: ${envText})\n| N | RSS MB | RSS peak MB | heap used MB | heap total MB | external MB | CPU s on the rung |\n|---|---|---|---|---|---|---|\n${rows.join("\n")}\n`,
    );
  } finally {
    await serin?.stop();
    await env.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`memory: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
