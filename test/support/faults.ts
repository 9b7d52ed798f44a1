// The fault matrix's harness: one namespace per case with the catalog example, its own Serin(s) limited
// to that namespace (so cases run side by side without two controllers acting on one Canary), steady
// webapp traffic, and the monitors of route-monitor.ts. Plus the world admin client that stops and
// starts kube-apiserver and Prometheus (test/env/world-admin.ts, served by the global setup).
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, inject } from "vitest";
import type { DecisionRecord } from "../../src/api/canary.js";
import { decisionEventName } from "../../src/controller/reporter.js";
import { kubectlPath } from "../env/cluster.js";
import { sleep } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";
import { catalogExample } from "../fixtures/catalog-example.js";
import { webappTraffic } from "./catalog.js";
import type { Kubectl } from "./kube.js";
import {
  CanaryMonitor,
  DeploymentMonitor,
  RouteMonitor,
  TEST_MANAGER,
  TrafficMonitor,
  unvettedPrimaryImages,
} from "./route-monitor.js";
import { type SerinProcess, startSerin } from "./serin-process.js";

const run = promisify(execFile);

export const V1 = "istioinaction/catalog:v1";
export const V2 = "istioinaction/catalog:v2";
export const V3_BAD = "istioinaction/catalog:v3-bad";

/** Client of the global setup's world admin endpoint. */
export class World {
  constructor(readonly url: string) {}

  private async post(path: string): Promise<void> {
    const res = await fetch(`${this.url}${path}`, { method: "POST" });
    if (!res.ok) throw new Error(`world admin ${path}: HTTP ${res.status} ${await res.text()}`);
  }

  /** Stops kube-apiserver; the world brings it back by itself after `restoreAfterMs` at the latest. */
  stopApiServer(opts: { signal?: NodeJS.Signals; restoreAfterMs?: number } = {}): Promise<void> {
    return this.post(
      `/apiserver/stop?signal=${opts.signal ?? "SIGTERM"}&restoreAfterMs=${opts.restoreAfterMs ?? 60_000}`,
    );
  }

  startApiServer(): Promise<void> {
    return this.post("/apiserver/start");
  }

  stopPrometheus(opts: { signal?: NodeJS.Signals; restoreAfterMs?: number } = {}): Promise<void> {
    return this.post(
      `/prometheus/stop?signal=${opts.signal ?? "SIGTERM"}&restoreAfterMs=${opts.restoreAfterMs ?? 60_000}`,
    );
  }

  startPrometheus(): Promise<void> {
    return this.post("/prometheus/start");
  }

  /** Both back up (idempotent): for afterAll, so a failed case never leaves the world broken. */
  async restore(): Promise<void> {
    await this.startApiServer();
    await this.startPrometheus();
  }
}

export interface CaseSettings {
  kubeconfig: string;
  serinKubeconfig: string;
  prometheusUrl: string;
  meshProxyUrl: string;
  envDir: string;
}

/** The shared test world, as the global setup provides it to test files. */
export function worldSettings(): CaseSettings {
  return {
    kubeconfig: inject("kubeconfig"),
    serinKubeconfig: inject("serinKubeconfig"),
    prometheusUrl: inject("prometheusUrl"),
    meshProxyUrl: inject("meshProxyUrl"),
    envDir: inject("envDir"),
  };
}

/** A test file's cases: each opened on the shared world, all closed after the file's tests. */
export class FaultCases {
  private readonly opened: FaultCase[] = [];

  constructor(private readonly k: Kubectl) {
    afterAll(async () => {
      await Promise.all(this.opened.map((c) => c.close()));
    });
  }

  async open(opts: CaseOptions): Promise<FaultCase> {
    const c = await FaultCase.open(this.k, worldSettings(), opts);
    this.opened.push(c);
    return c;
  }
}

export interface CaseOptions {
  /** short name: namespace prefix and Serin log name */
  name: string;
  interval?: string;
  threshold?: number;
  maxWeight?: number;
  stepWeight?: number;
  /** extra spec fields merged into the Canary (e.g. webhooks) */
  spec?: Record<string, unknown>;
  /** how many Serins (with --leader-elect when more than one, or when `leaderElect`) */
  serins?: number;
  leaderElect?: boolean;
  qps?: number;
  /** false: start no Serin in open() (the test starts them) */
  startSerin?: boolean;
  /** called after the monitors and Serin are up, just before the Canary is applied */
  beforeCanary?: (c: FaultCase) => void;
}

export interface KillRecord {
  /** when the phase was seen and the SIGKILL sent */
  t: number;
  phase: string;
  weight: number;
  pids: number[];
}

/** One fault case's world: namespace, Serin(s), monitors, traffic. `close()` stops all of it. */
export class FaultCase {
  readonly serins: SerinProcess[] = [];
  traffic: TrafficMonitor | undefined;
  readonly started = Date.now();
  private serinCount = 0;

  private constructor(
    readonly k: Kubectl,
    readonly settings: CaseSettings,
    readonly options: CaseOptions,
    readonly ns: string,
    readonly routes: RouteMonitor,
    readonly deployments: DeploymentMonitor,
    readonly canary: CanaryMonitor,
  ) {}

  static async open(k: Kubectl, settings: CaseSettings, options: CaseOptions): Promise<FaultCase> {
    const ns = k.createNamespace(`fault-${options.name}`);
    const [routes, deployments, canary] = await Promise.all([
      RouteMonitor.start(settings.kubeconfig, ns, "catalog"),
      DeploymentMonitor.start(settings.kubeconfig, ns),
      CanaryMonitor.start(settings.kubeconfig, ns, "catalog-release"),
    ]);
    const c = new FaultCase(k, settings, options, ns, routes, deployments, canary);
    const dir = join(repoRoot, "examples", "catalog");
    k.run(["apply", "-n", ns, "-f", join(dir, "deployment.yaml"), "-f", join(dir, "service.yaml")]);
    if (options.startSerin !== false) await c.startSerins(options.serins ?? 1);
    options.beforeCanary?.(c);
    k.run(["apply", "-f", "-"], JSON.stringify(c.canaryManifest("catalog-release")));
    return c;
  }

  /** The shipped catalog Canary, with this case's short analysis settings. */
  canaryManifest(name: string): Record<string, unknown> {
    const o = this.options;
    const manifest = catalogExample(this.ns);
    manifest.metadata = { ...manifest.metadata, name };
    manifest.spec = {
      ...manifest.spec,
      ...o.spec,
      analysis: {
        ...manifest.spec.analysis,
        interval: o.interval ?? "10s",
        threshold: o.threshold ?? 3,
        maxWeight: o.maxWeight ?? 30,
        stepWeight: o.stepWeight ?? 10,
        // The faults here are the controller's, not the app's: the healthy v2 (5-15 ms) must not fail on a
        // p99 inflated by a saturated 2-core box (a canary at 2 rps has a p99 of its few slowest requests).
        metrics: (manifest.spec.analysis.metrics as Array<Record<string, unknown>>).map((m) =>
          m.name === "request-duration" ? { ...m, thresholdRange: { max: 1500 } } : m,
        ),
        ...((o.spec?.analysis as Record<string, unknown> | undefined) ?? {}),
      },
    };
    return manifest;
  }

  async startSerins(n: number): Promise<SerinProcess[]> {
    const leader = this.options.leaderElect || (this.options.serins ?? 1) > 1;
    const started = await Promise.all(
      Array.from({ length: n }, () => {
        this.serinCount++;
        return startSerin({
          kubeconfigPath: this.settings.serinKubeconfig,
          metricsServer: this.settings.prometheusUrl,
          logDir: this.settings.envDir,
          name: `serin-${this.ns}-${this.serinCount}`,
          extraArgs: [
            `--namespace=${this.ns}`,
            "--workers=2",
            ...(leader ? ["--leader-elect", `--leader-election-id=leader-${this.ns}`] : []),
          ],
        });
      }),
    );
    this.serins.push(...started);
    return started;
  }

  /** SIGKILL: no shutdown code runs, no lease is released — a crash, not a stop. */
  async crash(serin: SerinProcess): Promise<void> {
    await serin.process.kill("SIGKILL");
  }

  /**
   * SIGKILLs every running Serin of the case the moment the Canary watch delivers a status matching
   * `when` (the signal goes out synchronously in the watch callback, no polling delay).
   */
  killWhen(when: (phase: string, weight: number) => boolean, timeoutMs: number): Promise<KillRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(
          new Error(
            `${this.ns}: kill condition not met within ${timeoutMs} ms (phases ${this.canary.phases().join(">")}; Promoted: ${this.canary.condition("Promoted")?.message ?? "-"})`,
          ),
        );
      }, timeoutMs);
      const off = this.canary.watch.subscribe((e) => {
        if (e.object.metadata?.name !== "catalog-release" || e.type === "DELETED") return;
        const status = (e.object as { status?: { phase?: string; canaryWeight?: number } }).status;
        const phase = status?.phase ?? "";
        const weight = status?.canaryWeight ?? 0;
        if (!when(phase, weight)) {
          if (phase === "Succeeded" || phase === "Failed") {
            off();
            clearTimeout(timer);
            const promoted = (
              e.object as { status?: { conditions?: Array<{ type: string; message?: string }> } }
            ).status?.conditions?.find((x) => x.type === "Promoted")?.message;
            reject(
              new Error(`${this.ns}: the run ended ${phase} before the kill condition (${promoted ?? "-"})`),
            );
          }
          return;
        }
        off();
        clearTimeout(timer);
        const victims = this.running();
        for (const s of victims) void s.process.kill("SIGKILL");
        resolve({ t: Date.now(), phase, weight, pids: victims.map((s) => s.process.pid) });
      });
    });
  }

  /** Stops the traffic and lists every invariant the run broke (empty = none). */
  async violations(opts: {
    newImage?: string;
    allowedRestarts?: number;
    maxUndeliveredMs?: number;
  }): Promise<string[]> {
    // A few seconds more of traffic: 503s that stop are a blip, 503s that go on are the bug.
    await this.traffic?.settle(2_000, (opts.maxUndeliveredMs ?? 5_000) + 3_000);
    await this.traffic?.stop();
    return [
      ...this.routes.backwardSteps(opts.allowedRestarts ?? 0),
      ...unvettedPrimaryImages(this.deployments, this.canary, "catalog-primary", {
        oldImage: V1,
        newImage: opts.newImage,
      }),
      ...(this.traffic?.endlessUndelivered(opts.maxUndeliveredMs ?? 5_000) ?? []),
      ...(await this.undeliveredDecisions()),
    ];
  }

  /**
   * Decisions recorded in the Canary's status (its decision log) whose Events were never created, or a
   * log never marked as sent: a crash between the status write and the Events must delay them, not lose
   * them. Events are named after their record (controller/reporter.ts), so each one can be looked up.
   */
  async undeliveredDecisions(timeoutMs = 15_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const canary = this.k.json<{
        metadata: { uid: string };
        status?: { reportedSeq?: number; decisions?: DecisionRecord[] };
      }>(["get", "canary", "catalog-release", "-n", this.ns, "-o", "json"]);
      const events = this.k.json<{ items: Array<{ metadata: { name: string } }> }>([
        "get",
        "events",
        "-n",
        this.ns,
        "-o",
        "json",
      ]);
      const names = new Set(events.items.map((e) => e.metadata.name));
      const decisions = canary.status?.decisions ?? [];
      // Every case decides something (Initialized at least): an empty log means nothing was recorded.
      const missing: string[] = decisions.length === 0 ? ["no decision log in the Canary's status"] : [];
      for (const d of decisions) {
        d.events.forEach((e, i) => {
          const name = decisionEventName("catalog-release", canary.metadata.uid, d, i);
          if (!names.has(name)) missing.push(`decision ${d.seq} (${e.reason}): no Event ${name}`);
        });
      }
      const last = Math.max(0, ...decisions.map((d) => d.seq));
      const reported = canary.status?.reportedSeq ?? 0;
      if (reported < last) missing.push(`decision log sent up to ${reported} of ${last}`);
      if (missing.length === 0 || Date.now() > deadline) return missing;
      await sleep(500);
    }
  }

  /** The Serin holding the case's Lease (by identity `<hostname>-<pid>`). */
  leader(): SerinProcess | undefined {
    const holder = this.k
      .run([
        "get",
        "lease",
        `leader-${this.ns}`,
        "-n",
        "serin-system",
        "-o",
        "jsonpath={.spec.holderIdentity}",
        "--ignore-not-found",
      ])
      .trim();
    return this.serins.find((s) => !s.process.exited() && holder.endsWith(`-${s.process.pid}`));
  }

  running(): SerinProcess[] {
    return this.serins.filter((s) => !s.process.exited());
  }

  async waitInitialized(timeoutMs = 60_000): Promise<void> {
    await this.canary.waitForPhase(["Initialized"], timeoutMs);
  }

  /** Steady traffic from the webapp, then the new image, as a user would push it. */
  startTraffic(): void {
    this.traffic ??= new TrafficMonitor(
      webappTraffic(this.settings.meshProxyUrl, this.ns, this.options.qps ?? 20),
    );
  }

  push(image: string): number {
    this.k.run(["set", "image", "-n", this.ns, "deployment/catalog", `catalog=${image}`]);
    return Date.now();
  }

  /** `kubectl` as the test's own field manager, so the route monitor tells our edits from Serin's. */
  kubectl(args: string[], input?: string): string {
    return this.k.run([...args, `--field-manager=${TEST_MANAGER}`], input);
  }

  /** The same without blocking the worker's event loop (watches, traffic and kills keep their timing). */
  async kubectlAsync(args: string[]): Promise<string> {
    const { stdout } = await run(kubectlPath(), [
      `--kubeconfig=${this.settings.kubeconfig}`,
      ...args,
      `--field-manager=${TEST_MANAGER}`,
    ]);
    return stdout;
  }

  async waitTerminal(timeoutMs: number): Promise<string> {
    return (await this.canary.waitForPhase(["Succeeded", "Failed"], timeoutMs, this.started)).phase;
  }

  /** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
  async until<T>(what: string, probe: () => T | undefined, timeoutMs: number, everyMs = 200): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const v = probe();
        if (v !== undefined) return v;
      } catch (err) {
        last = err;
      }
      await sleep(everyMs);
    }
    throw new Error(`${this.ns}: ${what} not within ${timeoutMs} ms${last ? ` (${String(last)})` : ""}`);
  }

  condition(type: string): { status: string; reason: string; message?: string } | undefined {
    const c = this.k.canary(this.ns, "catalog-release");
    return c.status?.conditions?.find((x) => x.type === type);
  }

  /** A one-line account of what happened, for the test's output. */
  summary(): string {
    const secs = ((Date.now() - this.started) / 1000).toFixed(0);
    const promoted = this.canary.condition("Promoted");
    return `[${this.options.name}] ${secs}s Promoted: ${promoted?.message ?? "-"} | phases=${this.canary.phases().join(">")} primary=${this.deployments.imageHistory("catalog-primary").join(">")} routes: ${this.routes.describe(this.started)}`;
  }

  async close(): Promise<void> {
    await this.traffic?.stop().catch(() => undefined);
    for (const s of this.serins) await s.stop().catch(() => {});
    await Promise.all([this.routes.stop(), this.deployments.stop(), this.canary.stop()]);
  }
}
