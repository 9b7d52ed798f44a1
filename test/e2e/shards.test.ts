// Shards (issue 10, docs/scale.md "Shards"): three Serin replicas share 12 Canaries by Lease. One new
// image for all of them, and SIGKILL to the replica that owns the most, mid-rollout. Its Canaries must
// continue on the other two once its member Lease has expired, every rollout must end Succeeded, no
// weight may go backwards (in status or in the VirtualServices), no step may be taken twice or early,
// and at no moment may two replicas act on one Canary: each replica reconciles a Canary only inside its
// own ownership of the Canary's shard (from its log), and the ownerships of one shard never overlap.
import { readFileSync } from "node:fs";
import type { KubernetesObject } from "@kubernetes/client-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_RETRY_PERIOD_MS } from "../../src/kube/shard-leases.js";
import { shardOf } from "../../src/kube/shards.js";
import { sleep } from "../env/processes.js";
import { catalogExample } from "../fixtures/catalog-example.js";
import { Kubectl } from "../support/kube.js";
import { ObjectWatch } from "../support/object-watch.js";
import { type SerinProcess, startSerin } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
const APPS = 12;
const SHARDS = 16;
const INTERVAL_MS = 10_000;
const V1 = "istioinaction/catalog:v1";
const V2 = "istioinaction/catalog:v2";

interface CanaryObject extends KubernetesObject {
  status?: { phase?: string; canaryWeight?: number };
}
interface VirtualService extends KubernetesObject {
  spec?: { http?: Array<{ route?: Array<{ destination?: { host?: string }; weight?: number }> }> };
}

const serins: SerinProcess[] = [];
const watches: ObjectWatch[] = [];
afterAll(async () => {
  for (const s of serins) await s.stop().catch(() => undefined);
  for (const w of watches) await w.stop();
});

function manifests(ns: string): string {
  const docs: unknown[] = [];
  for (let i = 0; i < APPS; i++) {
    const app = `app-${i}`;
    docs.push(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: app, namespace: ns, labels: { app } },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app } },
          template: {
            metadata: { labels: { app, version: "v1" } },
            spec: {
              containers: [{ name: "catalog", image: V1, ports: [{ name: "http", containerPort: 3000 }] }],
            },
          },
        },
      },
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: app, namespace: ns, labels: { app } },
        spec: { selector: { app }, ports: [{ name: "http", port: 80, targetPort: 3000 }] },
      },
    );
    const canary = catalogExample(ns);
    canary.metadata = { name: app, namespace: ns };
    canary.spec = {
      ...canary.spec,
      targetRef: { ...canary.spec.targetRef, name: app },
      service: { ...canary.spec.service, name: app, hosts: [app] },
      // Metrics off: the faults here are the controllers', and steps then come exactly every interval.
      analysis: {
        ...canary.spec.analysis,
        interval: "10s",
        threshold: 3,
        maxWeight: 50,
        stepWeight: 10,
        metrics: [],
      },
    };
    docs.push(canary);
  }
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: docs });
}

interface LogLine {
  time: number;
  msg?: string;
  shard?: number;
  shards?: number[];
  canary?: string;
  written?: boolean;
}

function readLog(path: string): LogLine[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => {
      const line = JSON.parse(l) as Omit<LogLine, "time"> & { time: number | string };
      // Serin logs ISO times; the test compares milliseconds.
      return { ...line, time: typeof line.time === "string" ? Date.parse(line.time) : line.time };
    });
}

/** One replica's ownership of each shard, as [from, to) intervals, from its own log. */
function ownership(lines: LogLine[], diedAt: number): Map<number, Array<[number, number]>> {
  const out = new Map<number, Array<[number, number]>>();
  const open = new Map<number, number>();
  const close = (k: number, t: number) => {
    const from = open.get(k);
    if (from === undefined) return;
    open.delete(k);
    out.set(k, [...(out.get(k) ?? []), [from, t]]);
  };
  for (const l of lines) {
    if (l.msg === "shard gained" && l.shard !== undefined) open.set(l.shard, l.time);
    else if (/^shards? (released|lost)/.test(l.msg ?? "")) {
      if (l.shard !== undefined) close(l.shard, l.time);
      for (const k of l.shards ?? []) close(k, l.time);
    }
  }
  for (const k of [...open.keys()]) close(k, diedAt);
  return out;
}

/** Weights must rise, then drop once to 0 (promotion done) and stay there; returns the violations. */
function backwards(what: string, weights: number[]): string[] {
  let dropped = false;
  for (let i = 1; i < weights.length; i++) {
    const [a, b] = [weights[i - 1] ?? 0, weights[i] ?? 0];
    if (dropped && b !== 0) return [`${what}: weight back up after the promotion: ${weights.join(">")}`];
    if (b < a) {
      if (b !== 0) return [`${what}: weight went backwards: ${weights.join(">")}`];
      dropped = true;
    }
  }
  return [];
}

const dedupe = (xs: number[]) => xs.filter((x, i) => i === 0 || xs[i - 1] !== x);

describe("shards", () => {
  it("kill the busiest of 3 replicas mid-rollout: its Canaries continue on the others, no double step", async () => {
    const ns = k.createNamespace("shards");
    const prefix = ns;
    const kubeconfig = inject("kubeconfig");
    const canaries = await new ObjectWatch<CanaryObject>({
      kubeconfig,
      path: `/apis/serin.dev/v1beta1/namespaces/${ns}/canaries`,
    }).start();
    const routes = await new ObjectWatch<VirtualService>({
      kubeconfig,
      path: `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`,
    }).start();
    watches.push(canaries, routes);

    const started = await Promise.all(
      [1, 2, 3].map((i) =>
        startSerin({
          kubeconfigPath: inject("serinKubeconfig"),
          metricsServer: inject("prometheusUrl"),
          logDir: inject("envDir"),
          name: `serin-${ns}-${i}`,
          extraArgs: [
            `--namespace=${ns}`,
            "--workers=4",
            `--shards=${SHARDS}`,
            `--shard-lease-prefix=${prefix}`,
          ],
        }),
      ),
    );
    serins.push(...started);
    k.run(["apply", "-f", "-"], manifests(ns));
    const names = Array.from({ length: APPS }, (_, i) => `app-${i}`);
    const phase = (name: string) => canaries.current(name)?.status?.phase ?? "";
    const weight = (name: string) => canaries.current(name)?.status?.canaryWeight ?? 0;
    const until = async (what: string, ok: () => boolean, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!ok()) {
        if (Date.now() > deadline)
          throw new Error(
            `${what} not within ${timeoutMs} ms: ${names.map((n) => `${n}=${phase(n)}/${weight(n)}`).join(" ")}`,
          );
        await sleep(200);
      }
    };
    await until("all Initialized", () => names.every((n) => phase(n) === "Initialized"), 90_000);

    // One new image for all twelve targets.
    const pushedAt = Date.now();
    k.run(["set", "image", "-n", ns, ...names.map((n) => `deployment/${n}`), `catalog=${V2}`]);
    await until("all Progressing at 10%+", () => names.every((n) => weight(n) >= 10), 60_000);

    // The replica holding the most Canaries, by the shard Leases.
    const leases = k.json<{
      items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }>;
    }>([
      "get",
      "leases",
      "-n",
      "serin-system",
      "-l",
      `serin.dev/shard-set=${prefix},serin.dev/shard-role=shard`,
    ]);
    const holderOf = new Map<number, string>();
    for (const l of leases.items) {
      const m = /-shard-(\d+)$/.exec(l.metadata.name);
      if (m) holderOf.set(Number(m[1]), l.spec.holderIdentity ?? "");
    }
    const byReplica = new Map<SerinProcess, string[]>(started.map((s) => [s, []]));
    for (const n of names) {
      const holder = holderOf.get(shardOf(`${ns}/${n}`, SHARDS)) ?? "";
      const s = started.find((x) => holder.includes(`-${x.process.pid}-`));
      expect(
        s,
        `${n}: shard ${shardOf(`${ns}/${n}`, SHARDS)} held by "${holder}", not by a replica`,
      ).toBeDefined();
      if (s) byReplica.get(s)?.push(n);
    }
    const [victim, orphans] = [...byReplica].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
    if (victim === undefined || orphans === undefined) throw new Error("no replica holds a Canary");
    const killedAt = Date.now();
    await victim.process.kill("SIGKILL");
    const deadAt = Date.now();
    const killedWeights = orphans.map((n) => `${n}=${weight(n)}`).join(" ");

    await until("all Succeeded", () => names.every((n) => phase(n) === "Succeeded"), 180_000);
    const doneAt = Date.now();
    for (const s of started) if (s !== victim) await s.stop();

    // Logs: who owned which shard when, and who reconciled which Canary when.
    const logs = new Map(started.map((s) => [s, readLog(s.process.logPath)]));
    const owned = new Map(
      started.map((s) => [s, ownership(logs.get(s) ?? [], s === victim ? deadAt : doneAt + 60_000)]),
    );
    const problems: string[] = [];
    for (const s of started) {
      const mine = owned.get(s) ?? new Map();
      for (const l of logs.get(s) ?? []) {
        if (l.canary === undefined || l.written === undefined) continue; // a reconcile's closing line
        const k2 = shardOf(l.canary, SHARDS);
        const inside = (mine.get(k2) ?? []).some(
          ([from, to]: [number, number]) => l.time >= from && l.time <= to,
        );
        if (!inside)
          problems.push(`pid ${s.process.pid} reconciled ${l.canary} at ${l.time} outside its shard ${k2}`);
      }
    }
    // The dead replica's Canaries continued on the others.
    for (const n of orphans) {
      const continued = started.some(
        (s) =>
          s !== victim &&
          (logs.get(s) ?? []).some(
            (l) => l.canary === `${ns}/${n}` && l.written !== undefined && l.time > killedAt,
          ),
      );
      if (!continued) problems.push(`${n}: no other replica reconciled it after the kill`);
    }
    const reconciles = started.map(
      (s) => (logs.get(s) ?? []).filter((l) => l.canary !== undefined && l.written !== undefined).length,
    );
    if (reconciles.some((n) => n === 0))
      problems.push(`a replica reconciled nothing: ${reconciles.join(", ")}`);
    for (let shard = 0; shard < SHARDS; shard++) {
      const all = started.flatMap((s) => (owned.get(s)?.get(shard) ?? []).map(([f, t]) => ({ s, f, t })));
      for (const a of all)
        for (const b of all)
          if (a.s !== b.s && a.f < b.t && b.f < a.t)
            problems.push(
              `shard ${shard}: pid ${a.s.process.pid} [${a.f},${a.t}] and pid ${b.s.process.pid} [${b.f},${b.t}] overlap`,
            );
    }
    // The takeover: the victim's shards gained by the others.
    const victimShards = [...(owned.get(victim)?.entries() ?? [])]
      .filter(([, iv]) => iv.some(([, t]) => t === deadAt))
      .map(([k2]) => k2);
    const takeovers: number[] = [];
    for (const shard of victimShards) {
      const next = started
        .filter((s) => s !== victim)
        .flatMap((s) => (owned.get(s)?.get(shard) ?? []).map(([f]) => f))
        .filter((f) => f > killedAt)
        .sort((a, b) => a - b)[0];
      if (next === undefined) problems.push(`shard ${shard} of the dead replica was never taken over`);
      else takeovers.push(next - killedAt);
    }

    // Weights and steps, as the API server recorded them.
    for (const n of names) {
      const events = canaries.events.filter(
        (e) => e.object.metadata?.name === n && e.t >= pushedAt && e.type !== "DELETED",
      );
      problems.push(
        ...backwards(`${n} status`, dedupe(events.map((e) => e.object.status?.canaryWeight ?? 0))),
      );
      // A step is a new, higher weight while Progressing; two actors would make a second one early.
      let last: { t: number; w: number } | undefined;
      for (const e of events) {
        const w = e.object.status?.canaryWeight ?? 0;
        if (e.object.status?.phase !== "Progressing" || w === 0 || w === last?.w) continue;
        if (last !== undefined && w > last.w && e.t - last.t < INTERVAL_MS - 3_000)
          problems.push(`${n}: step to ${w} only ${e.t - last.t} ms after the step to ${last.w}`);
        last = { t: e.t, w };
      }
      const vs = routes.events
        .filter((e) => e.object.metadata?.name === n && e.t >= pushedAt && e.type !== "DELETED")
        .map((e) =>
          Math.max(
            0,
            ...(e.object.spec?.http ?? []).flatMap((h) =>
              (h.route ?? [])
                .filter((r) => r.destination?.host?.endsWith("-canary"))
                .map((r) => ((h.route?.length ?? 0) === 1 ? 100 : (r.weight ?? 0))),
            ),
          ),
        );
      problems.push(...backwards(`${n} VirtualService`, dedupe(vs)));
    }

    const counts = [...byReplica].map(
      ([s, ns2]) => `pid ${s.process.pid}${s === victim ? " (killed)" : ""}: ${ns2.length}`,
    );
    process.stdout.write(
      `shards: ${counts.join(", ")}; reconciles ${reconciles.join("/")}; killed with ${killedWeights}; takeover after ${takeovers.map((t) => (t / 1000).toFixed(1)).join(", ")} s; all Succeeded ${((doneAt - pushedAt) / 1000).toFixed(0)} s after the push\n`,
    );
    expect(problems).toEqual([]);
    expect(orphans.length).toBeGreaterThan(0);
    expect(takeovers.length).toBeGreaterThan(0);
    // Not before the dead replica's member Lease expired, and within a few retry periods after.
    expect(Math.min(...takeovers)).toBeGreaterThanOrEqual(
      DEFAULT_LEASE_DURATION_MS - DEFAULT_RETRY_PERIOD_MS - 1_000,
    );
    expect(Math.max(...takeovers)).toBeLessThanOrEqual(
      DEFAULT_LEASE_DURATION_MS + 4 * DEFAULT_RETRY_PERIOD_MS + 2_000,
    );
    for (const n of names)
      expect(
        k.run([
          "get",
          "deployment",
          `${n}-primary`,
          "-n",
          ns,
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image}",
        ]),
      ).toBe(V2);
  });
});
