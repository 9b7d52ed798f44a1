// What the fault tests watch while they break things: the VirtualService's weights with who wrote them,
// the primary Deployment's image, the Canary's phases, and the traffic the webapp actually got. Each
// check returns a list of violations (empty = fine) so a failing test says what went wrong and when.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { LoadResult, LoadRun } from "../mesh/load.js";
import { type ObjectWatch, type RecordedEvent, watchObjects } from "./object-watch.js";

/** Serin's field manager (src/controller/apply.ts). */
export const SERIN_MANAGER = "serin";
/** The field manager of every edit the fault tests make themselves (`kubectl --field-manager=...`). */
export const TEST_MANAGER = "fault-test";

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  time?: string;
  fieldsV1?: Record<string, unknown>;
}

interface VirtualService extends KubernetesObject {
  spec?: {
    http?: Array<{ route?: Array<{ destination?: { host?: string }; weight?: number }> }>;
  };
}

export interface RouteSample {
  t: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  resourceVersion: string;
  /** [primary, canary] per http route */
  routes: Array<[number, number]>;
  /** the largest canary weight over the routes (the split the webapp sees) */
  canaryWeight: number;
  /** managers that own spec.http after this event (the writer of a change to it) */
  httpOwners: string[];
  /** who changed spec.http in this event; undefined when it did not change */
  writer: string | undefined;
  relisted: boolean;
}

function weightsOf(vs: VirtualService): Array<[number, number]> {
  return (vs.spec?.http ?? []).map((r) => {
    const route = r.route ?? [];
    const w = (suffix: string) => {
      const d = route.find((x) => x.destination?.host?.endsWith(suffix));
      return d === undefined ? 0 : route.length === 1 ? 100 : (d.weight ?? 0);
    };
    return [w("-primary"), w("-canary")];
  });
}

/** Managers owning `f:spec` → `f:http` (for Update operations, whoever last changed the value). */
export function httpOwners(obj: KubernetesObject): string[] {
  const entries = (obj.metadata?.managedFields ?? []) as ManagedFieldsEntry[];
  return entries
    .filter((e) => {
      const spec = e.fieldsV1?.["f:spec"] as Record<string, unknown> | undefined;
      return spec !== undefined && "f:http" in spec;
    })
    .map((e) => e.manager ?? "?")
    .sort();
}

/** Records every VirtualService event with its weights and writer. */
export class RouteMonitor {
  readonly samples: RouteSample[] = [];
  private lastHttp: string | undefined;

  private constructor(
    readonly watch: ObjectWatch<VirtualService>,
    readonly name: string,
  ) {
    for (const e of watch.events) this.add(e);
    watch.subscribe((e) => this.add(e as RecordedEvent<VirtualService>));
  }

  static async start(kubeconfig: string, namespace: string, name: string): Promise<RouteMonitor> {
    const watch = await watchObjects<VirtualService>({
      kubeconfig,
      path: `/apis/networking.istio.io/v1beta1/namespaces/${namespace}/virtualservices`,
    });
    return new RouteMonitor(watch, name);
  }

  private add(e: RecordedEvent<VirtualService>): void {
    if (e.object.metadata?.name !== this.name) return;
    const http = e.type === "DELETED" ? undefined : JSON.stringify(e.object.spec?.http ?? []);
    const owners = e.type === "DELETED" ? [] : httpOwners(e.object);
    const changed = http !== undefined && http !== this.lastHttp;
    this.lastHttp = http;
    const routes = e.type === "DELETED" ? [] : weightsOf(e.object);
    this.samples.push({
      t: e.t,
      type: e.type,
      resourceVersion: e.object.metadata?.resourceVersion ?? "",
      routes,
      canaryWeight: Math.max(0, ...routes.map((r) => r[1])),
      httpOwners: owners,
      writer: changed ? owners.join("+") || "?" : undefined,
      relisted: e.relisted,
    });
  }

  /** The weights Serin wrote, in order (each a change of spec.http by Serin). */
  serinWrites(): RouteSample[] {
    return this.samples.filter((s) => s.writer === SERIN_MANAGER);
  }

  /**
   * (b) Serin's canary weight never moves backwards: it only grows during the run, and may drop once,
   * to 0, when the run ends (rollback, or routes reset after promotion) — then stays at 0.
   * `allowedRestarts`: runs restarted on purpose (a new revision) that may start again from 0.
   */
  backwardSteps(allowedRestarts = 0): string[] {
    const out: string[] = [];
    let previous: RouteSample | undefined;
    let ended = false;
    let restarts = 0;
    for (const s of this.serinWrites()) {
      if (previous !== undefined) {
        const from = previous.canaryWeight;
        const to = s.canaryWeight;
        if (ended && to > 0) {
          if (restarts < allowedRestarts) {
            restarts++;
            ended = false;
          } else
            out.push(
              `Serin raised the canary weight to ${to} after the run had ended (rv ${s.resourceVersion}, ${iso(s.t)})`,
            );
        } else if (to < from && to > 0) {
          out.push(
            `Serin moved the canary weight backwards ${from} -> ${to} (rv ${s.resourceVersion}, ${iso(s.t)})`,
          );
        } else if (to < from && to === 0) {
          ended = true;
        }
      }
      previous = s;
    }
    return out;
  }

  /** A compact history for failure messages and reports: `t+1.2s serin 90/10`. */
  describe(since = this.samples[0]?.t ?? 0): string {
    return this.samples
      .map(
        (s) =>
          `t+${((s.t - since) / 1000).toFixed(1)}s ${s.type === "DELETED" ? "DELETED" : `${s.writer ?? "-"} ${s.routes.map((r) => r.join("/")).join(",")}`}${s.relisted ? " (relist)" : ""}`,
      )
      .join("; ");
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

interface Deployment extends KubernetesObject {
  spec?: { replicas?: number; template?: { spec?: { containers?: Array<{ image?: string }> } } };
}

export interface ImageSample {
  t: number;
  /** undefined once deleted */
  image: string | undefined;
  generation: number;
  replicas: number | undefined;
}

/** The image and spec generation of Deployments over time (the target and `<target>-primary`). */
export class DeploymentMonitor {
  private constructor(readonly watch: ObjectWatch<Deployment>) {}

  static async start(kubeconfig: string, namespace: string): Promise<DeploymentMonitor> {
    return new DeploymentMonitor(
      await watchObjects<Deployment>({
        kubeconfig,
        path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      }),
    );
  }

  samples(name: string): ImageSample[] {
    return this.watch.events
      .filter((e) => e.object.metadata?.name === name)
      .map((e) => ({
        t: e.t,
        image: e.type === "DELETED" ? undefined : e.object.spec?.template?.spec?.containers?.[0]?.image,
        generation: e.type === "DELETED" ? 0 : (e.object.metadata?.generation ?? 0),
        replicas: e.type === "DELETED" ? undefined : e.object.spec?.replicas,
      }));
  }

  /** Distinct images in order of appearance (deletions shown as "deleted"). */
  imageHistory(name: string): string[] {
    const out: string[] = [];
    for (const s of this.samples(name)) {
      const v = s.image ?? "deleted";
      if (out[out.length - 1] !== v) out.push(v);
    }
    return out;
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}

interface CanaryObject extends KubernetesObject {
  status?: {
    phase?: string;
    canaryWeight?: number;
    failedChecks?: number;
    conditions?: Array<{ type: string; status: string; reason: string; message?: string }>;
  };
}

export interface PhaseSample {
  t: number;
  phase: string;
  weight: number;
}

/** The Canary's status over time, as `kubectl get canary -w` would show it (from the API watch). */
export class CanaryMonitor {
  private constructor(
    readonly watch: ObjectWatch<CanaryObject>,
    readonly name: string,
  ) {}

  static async start(kubeconfig: string, namespace: string, name: string): Promise<CanaryMonitor> {
    return new CanaryMonitor(
      await watchObjects<CanaryObject>({
        kubeconfig,
        path: `/apis/serin.dev/v1beta1/namespaces/${namespace}/canaries`,
      }),
      name,
    );
  }

  samples(): PhaseSample[] {
    return this.watch.events
      .filter((e) => e.object.metadata?.name === this.name && e.type !== "DELETED")
      .map((e) => ({
        t: e.t,
        phase: e.object.status?.phase ?? "",
        weight: e.object.status?.canaryWeight ?? 0,
      }));
  }

  phases(): string[] {
    return this.samples()
      .map((s) => s.phase)
      .filter((p, i, all) => p !== "" && (i === 0 || all[i - 1] !== p));
  }

  /** When `phase` was first seen (after `after`), or undefined. */
  firstSeen(phase: string, after = 0): number | undefined {
    return this.samples().find((s) => s.phase === phase && s.t >= after)?.t;
  }

  /** Resolves as soon as the watch delivers a status with `phase` (seen now or later). */
  async waitForPhase(phases: string[], timeoutMs: number, after = 0): Promise<PhaseSample> {
    const e = await this.watch.waitFor(
      `canary ${this.name} phase ${phases.join("|")}`,
      (x) =>
        x.object.metadata?.name === this.name &&
        x.t >= after &&
        phases.includes(x.object.status?.phase ?? ""),
      timeoutMs,
    );
    return { t: e.t, phase: e.object.status?.phase ?? "", weight: e.object.status?.canaryWeight ?? 0 };
  }

  /** Resolves when the status weight reaches at least `weight`. */
  async waitForWeight(weight: number, timeoutMs: number): Promise<PhaseSample> {
    const e = await this.watch.waitFor(
      `canary ${this.name} weight >= ${weight}`,
      (x) => x.object.metadata?.name === this.name && (x.object.status?.canaryWeight ?? 0) >= weight,
      timeoutMs,
    );
    return { t: e.t, phase: e.object.status?.phase ?? "", weight: e.object.status?.canaryWeight ?? 0 };
  }

  condition(type: string): { status: string; reason: string; message?: string } | undefined {
    return this.watch.current(this.name)?.status?.conditions?.find((c) => c.type === type);
  }

  stop(): Promise<void> {
    return this.watch.stop();
  }
}

/**
 * (d) The primary never runs a revision that did not pass analysis: `newImage` may appear on the primary
 * only after the run reached promotion (phase Promoting/Finalising/Succeeded, as recorded by the Canary
 * watch); any other image but `oldImage` is never allowed.
 */
export function unvettedPrimaryImages(
  deployments: DeploymentMonitor,
  canary: CanaryMonitor,
  primary: string,
  opts: { oldImage: string; newImage?: string },
): string[] {
  const promotedAt = Math.min(
    ...["Promoting", "Finalising", "Succeeded"].map((p) => canary.firstSeen(p) ?? Number.POSITIVE_INFINITY),
  );
  const out: string[] = [];
  for (const s of deployments.samples(primary)) {
    if (s.image === undefined || s.image === opts.oldImage) continue;
    if (opts.newImage !== undefined && s.image === opts.newImage) {
      if (s.t < promotedAt)
        out.push(`${primary} got ${s.image} at ${iso(s.t)}, before the run reached promotion`);
      continue;
    }
    out.push(`${primary} ran ${s.image}, which never passed analysis (${iso(s.t)})`);
  }
  return out;
}

export interface TrafficWindow {
  t: number;
  /** responses in this window by "version status" */
  counts: Record<string, number>;
}

/**
 * The webapp's traffic over time: snapshots of a running load generator every `everyMs`, kept as
 * per-window differences. Mesh-local 503s (version "none": no healthy upstream, no cluster) are requests
 * routed to a canary (or primary) that is not there.
 */
export class TrafficMonitor {
  readonly windows: TrafficWindow[] = [];
  private previous: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly load: LoadRun,
    everyMs = 250,
  ) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const now = this.load.snapshot().byVersionStatus;
    const counts: Record<string, number> = {};
    for (const [k, v] of Object.entries(now)) {
      const d = v - (this.previous[k] ?? 0);
      if (d > 0) counts[k] = d;
    }
    this.previous = now;
    this.windows.push({ t: Date.now(), counts });
  }

  async stop(): Promise<LoadResult> {
    clearInterval(this.timer);
    const result = await this.load.stop();
    this.sample();
    return result;
  }

  /** Times of windows with requests the mesh could not deliver (503 with no backend version). */
  private undeliveredTimes(): number[] {
    return this.windows.filter((w) => (w.counts["none 503"] ?? 0) > 0).map((w) => w.t);
  }

  /**
   * (c) Episodes of undelivered requests: runs of 503s whose windows are less than `gapMs` apart.
   * Returns [start, end, count] per episode.
   */
  undeliveredEpisodes(gapMs = 2_000): Array<{ start: number; end: number; count: number }> {
    const out: Array<{ start: number; end: number; count: number }> = [];
    for (const w of this.windows) {
      const n = w.counts["none 503"] ?? 0;
      if (n === 0) continue;
      const last = out[out.length - 1];
      if (last && w.t - last.end <= gapMs) {
        last.end = w.t;
        last.count += n;
      } else out.push({ start: w.t, end: w.t, count: n });
    }
    return out;
  }

  /**
   * Keeps the traffic running until no mesh 503 has been seen for `quietMs` (a scale-down at the end of a
   * run may drop a few in-flight requests), or `maxMs` passes. True when it went quiet.
   */
  async settle(quietMs: number, maxMs: number): Promise<boolean> {
    const deadline = Date.now() + maxMs;
    for (;;) {
      const last = this.undeliveredTimes().at(-1) ?? 0;
      const quiet = Date.now() - last >= quietMs;
      if (quiet || Date.now() > deadline) {
        this.quiet = quiet;
        return quiet;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** set by settle(): whether the traffic ended free of mesh 503s */
  private quiet: boolean | undefined;

  /** Violations of (c): an episode of 503s longer than `maxMs`, or one still going at the end. */
  endlessUndelivered(maxMs: number): string[] {
    const out: string[] = [];
    for (const e of this.undeliveredEpisodes()) {
      if (e.end - e.start > maxMs)
        out.push(
          `${e.count} requests got mesh 503s (no upstream) for ${((e.end - e.start) / 1000).toFixed(1)}s from ${iso(e.start)}`,
        );
    }
    const lastBad = this.undeliveredTimes().at(-1);
    if (this.quiet === false && lastBad !== undefined)
      out.push(`requests were still getting mesh 503s when the test ended (${iso(lastBad)})`);
    return out;
  }

  total(key: string): number {
    return this.windows.reduce((n, w) => n + (w.counts[key] ?? 0), 0);
  }
}
