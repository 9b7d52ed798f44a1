// Shards at fleet size (docs/scale.md "Shards"): 3 Serin replicas with --shards share N Canaries
// (analysis metrics off, no traffic) on the project's real test world. It creates N Canaries over 10
// namespaces, waits until all are Initialized, prints how the Canaries split over the replicas, pushes
// a new image to every target, SIGKILLs the replica holding the most Canaries once every Canary is
// progressing, and prints:
//   - takeover: kill -> each of the dead replica's shard Leases naming a survivor (polled every 250 ms);
//   - resume: kill -> each orphaned Canary's next weight change;
//   - push -> all Succeeded, and the survivors' final split.
//
//   npx tsx bench/shards.ts [N] [--shards S] [--keep]      (N: 3..3000, default 200; S default 32)
import { spawnSync } from "node:child_process";
import { shardOf } from "../src/kube/shards.js";
import { kubectlPath } from "../test/env/cluster.js";
import { startEnvironment } from "../test/env/environment.js";
import { sleep } from "../test/env/processes.js";
import { buildSerin, type SerinProcess, startSerin } from "../test/support/serin-process.js";

const args = process.argv.slice(2);
const positional = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--shards");
const N = positional[0] === undefined ? 200 : Number(positional[0]);
const shardsAt = args.indexOf("--shards");
const S = shardsAt >= 0 ? Number(args[shardsAt + 1]) : 32;
const KEEP = args.includes("--keep");
if (!Number.isInteger(N) || N < 3 || N > 3000 || !Number.isInteger(S) || S < 1) {
  process.stderr.write("usage: npx tsx bench/shards.ts [N] [--shards S] [--keep]   (N: 3..3000)\n");
  process.exit(2);
}
const NAMESPACES = 10;
const PREFIX = "bench";
const V2 = "istioinaction/catalog:v2";
const t0 = Date.now();
const say = (msg: string) => process.stdout.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);

interface CanaryItem {
  metadata: { name: string; namespace: string };
  status?: { phase?: string; canaryWeight?: number };
}

function kubectl(kubeconfig: string, argv: string[], input?: string): string {
  // Bounded: on a saturated machine a kubectl call can hang on a dead connection.
  const r = spawnSync(kubectlPath(), [`--kubeconfig=${kubeconfig}`, "--request-timeout=60s", ...argv], {
    input,
    timeout: 120_000,
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`kubectl ${argv.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function manifests(ns: string, apps: string[]): string {
  const items = apps.flatMap((app) => [
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: app, namespace: ns, labels: { app } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app } },
        template: {
          metadata: { labels: { app } },
          spec: { containers: [{ name: "catalog", image: "istioinaction/catalog:v1" }] },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: app, namespace: ns },
      spec: { selector: { app }, ports: [{ name: "http", port: 80, targetPort: 3000 }] },
    },
    {
      apiVersion: "serin.dev/v1beta1",
      kind: "Canary",
      metadata: { name: app, namespace: ns },
      spec: {
        targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: app },
        progressDeadlineSeconds: 120,
        service: { name: app, port: 80, targetPort: 3000 },
        analysis: { interval: "10s", threshold: 3, maxWeight: 50, stepWeight: 10, metrics: [] },
      },
    },
  ]);
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const secs = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  buildSerin();
  const env = await startEnvironment({ keepDir: KEEP });
  const serins: SerinProcess[] = [];
  try {
    const kc = env.cluster.kubeconfigPath;
    const k = (argv: string[], input?: string) => kubectl(kc, argv, input);
    serins.push(
      ...(await Promise.all(
        [1, 2, 3].map((i) =>
          startSerin({
            kubeconfigPath: env.serinKubeconfigPath,
            metricsServer: env.prometheus.url,
            logDir: env.dir,
            name: `serin-shards-${i}`,
            extraArgs: ["--log-level=info", `--shards=${S}`, `--shard-lease-prefix=${PREFIX}`],
          }),
        ),
      )),
    );
    say(
      `3 replicas up (pids ${serins.map((s) => s.process.pid).join(", ")}), --shards ${S}; creating ${N} Canaries`,
    );
    const byNs = new Map<string, string[]>();
    for (let i = 0; i < N; i++) {
      const ns = `fleet-${i % NAMESPACES}`;
      byNs.set(ns, [...(byNs.get(ns) ?? []), `app-${i}`]);
    }
    for (const [ns, apps] of byNs) {
      k(["create", "namespace", ns]);
      // A fresh cluster on a busy machine answers the first big applies with timeouts: apply is idempotent.
      for (let attempt = 1; ; attempt++) {
        try {
          k(["apply", "-f", "-"], manifests(ns, apps));
          break;
        } catch (err) {
          if (attempt >= 6) throw err;
          say(`apply in ${ns} failed (attempt ${attempt}); retrying`);
          await sleep(5_000);
        }
      }
    }
    const canaries = () =>
      (JSON.parse(k(["get", "canaries", "-A", "-o", "json"])) as { items: CanaryItem[] }).items;
    const waitAll = async (what: string, ok: (c: CanaryItem) => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = canaries();
        const n = all.filter(ok).length;
        if (n === N) return;
        if (Date.now() > deadline) throw new Error(`${what}: ${n}/${N} after ${timeoutMs} ms`);
        await sleep(2_000);
      }
    };
    await waitAll("Initialized", (c) => c.status?.phase === "Initialized", 10 * 60_000);
    say("all Initialized");

    const holders = () => {
      const leases = JSON.parse(
        k([
          "get",
          "leases",
          "-n",
          "serin-system",
          "-l",
          `serin.dev/shard-set=${PREFIX},serin.dev/shard-role=shard`,
          "-o",
          "json",
        ]),
      ) as { items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }> };
      const out = new Map<number, string>();
      for (const l of leases.items) {
        const m = /-shard-(\d+)$/.exec(l.metadata.name);
        if (m) out.set(Number(m[1]), l.spec.holderIdentity ?? "");
      }
      return out;
    };
    const replicaOf = (holder: string) => serins.find((s) => holder.includes(`-${s.process.pid}-`));
    const split = (h: Map<number, string>) => {
      const counts = new Map<SerinProcess | undefined, string[]>();
      for (const c of canaries()) {
        const key = `${c.metadata.namespace}/${c.metadata.name}`;
        const s = replicaOf(h.get(shardOf(key, S)) ?? "");
        counts.set(s, [...(counts.get(s) ?? []), key]);
      }
      return counts;
    };
    const describe = (counts: Map<SerinProcess | undefined, string[]>) =>
      [...counts].map(([s, keys]) => `${s ? `pid ${s.process.pid}` : "nobody"}: ${keys.length}`).join(", ");
    const before = split(holders());
    say(`Canaries per replica: ${describe(before)}`);

    const pushedAt = Date.now();
    for (const [ns, apps] of byNs)
      k(["set", "image", "-n", ns, ...apps.map((a) => `deployment/${a}`), `catalog=${V2}`]);
    say(`pushed ${V2} to ${N} targets in ${secs(Date.now() - pushedAt)} s`);
    // Mid-rollout: half the Canaries have taken a step (on a loaded machine some finish before others start).
    const stepped = (c: CanaryItem) =>
      (c.status?.canaryWeight ?? 0) >= 10 ||
      ["Promoting", "Finalising", "Succeeded"].includes(c.status?.phase ?? "");
    for (const deadline = Date.now() + 5 * 60_000; ; ) {
      const n = canaries().filter(stepped).length;
      if (n >= N / 2 || Date.now() > deadline) {
        say(`${n}/${N} Canaries have stepped`);
        break;
      }
      await sleep(2_000);
    }

    const [victim, orphans] =
      [...before].filter(([s]) => s !== undefined).sort((a, b) => b[1].length - a[1].length)[0] ?? [];
    if (victim === undefined || orphans === undefined) throw new Error("no replica holds a Canary");
    const victimId = [...holders().values()].find((h) => replicaOf(h) === victim) ?? "";
    const victimShards = [...holders()].filter(([, h]) => h === victimId).map(([shard]) => shard);
    const weightsAtKill = new Map(
      canaries().map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c.status?.canaryWeight ?? 0]),
    );
    // The victim's Canaries between two steps when it died: their next step shows the takeover.
    const midRun = orphans.filter((key) => (weightsAtKill.get(key) ?? 0) >= 10);
    const killedAt = Date.now();
    await victim.process.kill("SIGKILL");
    say(`SIGKILL pid ${victim.process.pid}: ${orphans.length} Canaries, ${victimShards.length} shards`);

    const takenAt = new Map<number, number>();
    const resumedAt = new Map<string, number>();
    const deadline = killedAt + 5 * 60_000;
    let lastPoll = 0;
    while (Date.now() < deadline) {
      const h = holders();
      for (const shard of victimShards) {
        const holder = h.get(shard) ?? "";
        if (!takenAt.has(shard) && holder !== victimId && holder !== "") takenAt.set(shard, Date.now());
      }
      if (Date.now() - lastPoll > 1_000) {
        lastPoll = Date.now();
        const all = canaries();
        for (const c of all) {
          const key = `${c.metadata.namespace}/${c.metadata.name}`;
          if (
            midRun.includes(key) &&
            !resumedAt.has(key) &&
            (c.status?.canaryWeight ?? 0) !== weightsAtKill.get(key)
          )
            resumedAt.set(key, Date.now());
        }
        if (all.every((c) => c.status?.phase === "Succeeded")) break;
      }
      await sleep(250);
    }
    const doneAt = Date.now();
    const take = [...takenAt.values()].map((t) => t - killedAt);
    const resume = [...resumedAt.values()].map((t) => t - killedAt);
    const succeeded = canaries().filter((c) => c.status?.phase === "Succeeded").length;
    process.stdout.write(
      [
        "",
        `N=${N} S=${S} replicas=3 (no traffic, interval 10s, 5 steps)`,
        `  Canaries per replica before: ${describe(before)}`,
        `  killed pid ${victim.process.pid}: ${orphans.length} Canaries on ${victimShards.length} shards`,
        `  takeover (kill -> shard Lease names a survivor): ${takenAt.size}/${victimShards.length} shards, min ${secs(Math.min(...take))} s, p50 ${secs(pct(take, 50))} s, max ${secs(Math.max(...take))} s`,
        `  resume (kill -> next weight change of its Canaries that were mid-run): ${resumedAt.size}/${midRun.length}, p50 ${secs(pct(resume, 50))} s, max ${secs(Math.max(...resume))} s`,
        `  Succeeded: ${succeeded}/${N}, ${secs(doneAt - pushedAt)} s after the push`,
        `  Canaries per replica after: ${describe(split(holders()))}`,
        "",
      ].join("\n"),
    );
  } finally {
    for (const s of serins) await s.stop().catch(() => undefined);
    if (KEEP) process.stdout.write(`environment kept: ${env.dir}\n`);
    await env.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench/shards: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
