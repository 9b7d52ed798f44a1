// One reconcile of one Canary, in the order its writes happen:
//   observe -> converge on the recorded status -> decide (pure core) -> record intent (status)
//   -> act (converge on the new status) -> remove a consumed control request's annotations
//   -> report (drain the decision log into Events and alerts).
// Status is written before the world is changed, and the world is only ever made to match status, so a
// 409 or a crash between two writes repeats work, never undoes it: weights do not move backwards.
// Returns when to look again; throws only for errors worth a rate-limited retry.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Canary, CanaryStatus, EvidenceState, JudgeMode, RunRecord } from "../api/canary.js";
import { API_VERSION, CANARY_KIND, FINALIZER } from "../api/constants.js";
import {
  type EffectiveSpec,
  ignoredJudgeSettings,
  latencyThresholdMs,
  withJudgeDefault,
} from "../api/defaults.js";
import { MetricTemplateSchema } from "../api/metric-template.js";
import { formatProblems, validateCanary } from "../api/validate.js";
import { readRequest } from "../core/control.js";
import type { Decision } from "../core/decision.js";
import { currentRun } from "../core/evidence/run.js";
import { splitPlan } from "../core/split/plan.js";
import { note, READY, step } from "../core/status.js";
import type {
  MetricResult,
  ObservedSplit,
  ServedCounts,
  ServedUnavailable,
  SplitUnavailable,
} from "../core/world.js";
import { describeError, type KubeClients, statusCode } from "../kube/client.js";
import { type EventRecorder, involvedObject } from "../kube/events.js";
import { PrometheusClientCache } from "../metrics/client-cache.js";
import type { PrometheusClient } from "../metrics/prometheus-client.js";
import { runMetricChecks } from "../metrics/run-checks.js";
import { decodeSecretData } from "../metrics/secret-data.js";
import { readServed } from "../metrics/served.js";
import { readSplit } from "../metrics/split.js";
import type { ControllerMetrics } from "../observability/metrics.js";
import { callHooks, hookPayload } from "../webhooks/client.js";
import { WorkloadError } from "../workload/primary-deployment.js";
import { type Applier, BlockedError } from "./apply.js";
import type { ClusterCache } from "./cluster-cache.js";
import { settleRequest } from "./control-request.js";
import { Converger } from "./converge.js";
import { type Answers, decideWithAnswers } from "./deciding.js";
import { hasFinalizer, needsFinalizer, revertStep, setFinalizers } from "./finalizer.js";
import { composeIntent, type Obstacle } from "./intent.js";
import { type Observation, observe, targetSecretNames } from "./observe.js";
import { PrimaryRecords } from "./primary-record.js";
import type { Reporter } from "./reporter.js";
import { RolloutMetrics } from "./rollout-metrics.js";
import { readSecrets } from "./secret-reader.js";
import { sidecarReport } from "./sidecar-report.js";
import { writeStatus } from "./status-writer.js";
import { targetHeldBy } from "./target-clash.js";

/**
 * A write the API server will refuse again until someone changes something: invalid (400, 422),
 * forbidden (401, 403), unsupported (405, 413, 415). Not a stale cache (404, 409, 410) or throttling (429).
 */
function isRefusal(code: number | undefined): boolean {
  return code !== undefined && [400, 401, 403, 405, 413, 415, 422].includes(code);
}

const keyFor = (ref: { namespace: string; name: string }) => `${ref.namespace}/${ref.name}`;

/** Phases of a run, while which the pods without a sidecar are told. */
const RUN_PHASES: ReadonlySet<string> = new Set(["Progressing", "WaitingPromotion"]);

/** How long to wait before looking again at a Canary blocked on something only its user can fix. */
export const BLOCKED_REQUEUE_MS = 60_000;

export interface ReconcileResult {
  requeueAfterMs: number | undefined;
}

/** The judge's latest look for a run, kept in memory: looks between checks are not written to status. */
interface HeldEvidence {
  run: string;
  state: EvidenceState;
}

/** Which run a judge state belongs to: the revision under test and when it first got traffic. */
const runKey = (status: CanaryStatus): string =>
  `${status.lastAppliedSpec ?? ""}|${status.run?.trafficSince ?? ""}`;

export interface ReconcilerDeps {
  clients: KubeClients;
  cache: ClusterCache;
  applier: Applier;
  events: EventRecorder;
  reporter: Reporter;
  prometheus: PrometheusClient;
  metrics: ControllerMetrics;
  log: Logger;
  now?: () => Date;
  /** the judge for Canaries that do not choose one (--judge) */
  defaultJudge?: JudgeMode;
}

/** How soon to try again when a decision's Events (or the mark that they were sent) did not go through. */
export const REPORT_RETRY_MS = 2_000;

/**
 * How soon to look again when the cache has not yet caught up with our own status write. The write's
 * own watch event re-queues the Canary the moment it arrives (onCanary), so this is only the fallback
 * for a watch that drops the event (its relist re-queues everything too). A short poll here was costly
 * at fleet scale: with 32 workers, a Canary woken by a child object's event just after its status write
 * polled every 100 ms until the event came (bench/many-canaries.ts: 69-114 reconciles per rollout, 41
 * without the poll).
 */
export const FENCE_REQUEUE_MS = 2_000;

export class Reconciler {
  /** per Canary key: the resourceVersion our last successful status write was computed from */
  private readonly writtenFrom = new Map<string, string>();
  /** one client per spec.metricsServer address (keeps its connection pool between checks) */
  private readonly prometheusClients = new PrometheusClientCache();
  /** per Canary key: aborts the outbound calls (webhooks, queries) of the reconcile in flight */
  private readonly inflight = new Map<string, AbortController>();
  private cancelled = false;
  private readonly converger: Converger;
  /** per Canary key: the sequential judge's latest look, newer than status between checks */
  private readonly evidence = new Map<string, HeldEvidence>();
  private readonly rollout: RolloutMetrics;
  /** per Canary key: pods without the Istio sidecar, as the last check found them (told while a run lasts) */
  private readonly sidecars = new Map<string, string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.converger = new Converger(deps.applier, new PrimaryRecords(deps.clients), deps.log);
    this.rollout = new RolloutMetrics(deps.metrics);
  }

  /** The Canary was deleted: stop waiting on its webhooks and queries now. */
  cancel(namespace: string, name: string): void {
    this.inflight.get(keyFor({ namespace, name }))?.abort();
  }

  /**
   * Another replica acts on this Canary now (--shards): drop what this one kept in memory about it, so
   * if the Canary comes back here it is reconciled from its status alone (the judge's held looks would
   * be older than the other replica's checks).
   */
  forget(namespace: string, name: string): void {
    this.deps.applier.forget(`${namespace}/${name}`);
    this.writtenFrom.delete(`${namespace}/${name}`);
    this.evidence.delete(`${namespace}/${name}`);
    this.sidecars.delete(`${namespace}/${name}`);
    // Its metrics come from the replica that acts on it now; two replicas' series would add up twice.
    this.rollout.forget({ namespace, name });
  }

  /** Shutting down: abort every call in flight, and any that a reconcile still starts. */
  cancelAll(): void {
    this.cancelled = true;
    for (const controller of this.inflight.values()) controller.abort();
  }

  async reconcile(namespace: string, name: string): Promise<ReconcileResult> {
    const { cache } = this.deps;
    const raw = cache.canaries.get(name, namespace);
    if (raw === undefined) {
      this.deps.applier.forget(`${namespace}/${name}`);
      this.writtenFrom.delete(`${namespace}/${name}`);
      this.evidence.delete(`${namespace}/${name}`);
      this.sidecars.delete(`${namespace}/${name}`);
      this.rollout.forget({ namespace, name });
      return { requeueAfterMs: undefined };
    }
    // Our last status write has not come back through the watch yet: acting now would use the status
    // before it (and could undo what that write's reconcile did to routes and scale). Look again shortly.
    const fence = this.writtenFrom.get(`${namespace}/${name}`);
    if (fence !== undefined && fence === raw.metadata?.resourceVersion)
      return { requeueAfterMs: FENCE_REQUEUE_MS };
    this.writtenFrom.delete(`${namespace}/${name}`);
    const log = this.deps.log.child({ canary: `${namespace}/${name}` });
    const validation = validateCanary(raw);
    // A Canary refused because another holds its target never touched the target: it has nothing to
    // revert, and reverting would undo the other Canary's work.
    const owns = validation.ok && this.targetClash(validation.canary, validation.spec) === undefined;
    if (raw.metadata?.deletionTimestamp)
      return this.finalize(raw, validation.ok && owns ? validation : undefined, log);
    if (!validation.ok) {
      const told = await this.reportInvalid(raw, formatProblems(validation.problems), log);
      return { requeueAfterMs: told ? undefined : REPORT_RETRY_MS };
    }
    // The finalizer exists only while there is something to give back on deletion (revertOnDeletion, or
    // an adopted route) and the Canary holds its target; adding or removing it is its own write, and the
    // watch event it causes brings us back here.
    const wantsFinalizer = needsFinalizer(validation.spec) && owns;
    if (wantsFinalizer !== hasFinalizer(raw)) {
      const others = (raw.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
      await setFinalizers(this.deps.clients, raw, wantsFinalizer ? [...others, FINALIZER] : others);
      return { requeueAfterMs: undefined };
    }
    const key = keyFor({ namespace, name });
    const abort = new AbortController();
    if (this.cancelled) abort.abort();
    this.inflight.set(key, abort);
    try {
      const spec = withJudgeDefault(validation.spec, this.deps.defaultJudge ?? "threshold");
      return await this.reconcileValid(raw, validation.canary, spec, log, abort.signal);
    } finally {
      if (this.inflight.get(key) === abort) this.inflight.delete(key);
    }
  }

  private async finalize(
    raw: KubernetesObject,
    valid: { canary: Canary; spec: EffectiveSpec } | undefined,
    log: Logger,
  ): Promise<ReconcileResult> {
    if (!hasFinalizer(raw)) return { requeueAfterMs: undefined };
    const others = (raw.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER);
    if (valid === undefined) {
      // Nothing trustworthy to revert from: let the deletion go through.
      await setFinalizers(this.deps.clients, raw, others);
      return { requeueAfterMs: undefined };
    }
    const { canary, spec } = valid;
    const progress = await revertStep(this.deps.clients, this.deps.cache, canary, spec, log);
    const now = this.deps.now?.() ?? new Date();
    const status = canary.status ?? {};
    const involved = involvedObject(API_VERSION, CANARY_KIND, canary.metadata);
    if (!progress.done) {
      const next =
        status.phase === "Terminating"
          ? note(status, progress.message, now)
          : step(status, { phase: "Terminating", canaryWeight: 0 }, progress.message, now);
      if (status.phase !== "Terminating")
        await this.deps.events.record(
          involved,
          "Normal",
          "Terminating",
          `Reverting ${involved.name}.${involved.namespace}: ${progress.message}`,
        );
      if (await writeStatus(this.deps.clients, raw, next)) {
        this.writtenFrom.set(`${involved.namespace}/${involved.name}`, raw.metadata?.resourceVersion ?? "");
      }
      return { requeueAfterMs: 2_000 };
    }
    await this.deps.events.record(
      involved,
      "Normal",
      "Terminated",
      `Reverted ${involved.name}.${involved.namespace}: ${progress.message}`,
    );
    await setFinalizers(this.deps.clients, raw, others);
    return { requeueAfterMs: undefined };
  }

  private async reconcileValid(
    raw: KubernetesObject,
    canary: Canary,
    spec: EffectiveSpec,
    log: Logger,
    signal: AbortSignal,
  ): Promise<ReconcileResult> {
    const { cache, clients, reporter } = this.deps;
    const started = performance.now();
    const now = this.deps.now?.() ?? new Date();
    const ref = { name: canary.metadata.name ?? "", namespace: canary.metadata.namespace ?? "default" };
    const status: CanaryStatus = canary.status ?? {};

    // 1. Observe, then finish what the recorded status asks for (a crash may have cut the last reconcile
    //    short right after recording it). If the world cannot follow, nothing new is decided.
    const secretNames = targetSecretNames(cache, canary, spec);
    const obs = observe(cache, await readSecrets(clients, ref.namespace, secretNames), canary, spec, now);
    const ignored = ignoredJudgeSettings(spec);
    const notes: string[] = [...obs.warnings, ...(ignored ? [ignored] : [])];
    let obstacle = this.targetClash(canary, spec);
    obstacle ??= await this.attempt(async () => {
      notes.push(...(await this.converger.converge(canary, spec, obs, status)));
    });

    // 2. Decide (pure core), answering what it asks for.
    const key = keyFor(ref);
    const held = this.evidence.get(key);
    // A runtime control request (serin.dev/action annotations): the core consumes it once (status.control).
    const request = readRequest(canary.metadata, obs.world.target?.revision);
    const world = {
      ...obs.world,
      ...(held?.run === runKey(status) ? { evidence: held.state } : {}),
      ...(request ? { request } : {}),
    };
    const asked = { analysed: false };
    const decision =
      obstacle === undefined
        ? await decideWithAnswers(
            canary,
            ref,
            spec,
            status,
            world,
            this.answers(ref, spec, obs, signal, now, asked),
          )
        : undefined;
    // Pods without a sidecar, as the last check found them, are told in Ready while the run lasts.
    const sidecars = this.sidecars.get(key);
    if (sidecars !== undefined && RUN_PHASES.has(decision?.status.phase ?? status.phase ?? ""))
      notes.push(sidecars);
    else this.sidecars.delete(key);
    if (decision?.evidence)
      this.evidence.set(key, { run: runKey(decision.status), state: decision.evidence });

    // 3. Record the intent before acting on it: a step exists once it is in status, and the world only
    //    ever follows status, so a failed write (409) or a crash never leaves routes ahead of it.
    const intent = (before: CanaryStatus, d: Decision | undefined, o: Obstacle | undefined) =>
      composeIntent({
        before,
        decision: d,
        obstacle: o,
        notes,
        generation: canary.metadata.generation,
        reportedSeq: reporter.reportedUpTo(canary),
        now,
      });
    let recorded = intent(status, decision, obstacle);
    let stored = await writeStatus(clients, raw, recorded);
    if (stored) this.writtenFrom.set(keyFor(ref), raw.metadata?.resourceVersion ?? "");
    const decided = stored !== undefined && decision !== undefined;

    // 4. Act: make the world match the recorded status. If it cannot, say so; the next reconcile's
    //    step 1 tries again, and nothing advances until it succeeds.
    if (decision !== undefined && obstacle === undefined) {
      obstacle = await this.attempt(async () => {
        await this.converger.converge(canary, spec, obs, recorded, status);
      });
      if (obstacle !== undefined) {
        recorded = intent(recorded, undefined, obstacle);
        stored = (await writeStatus(clients, stored ?? raw, recorded)) ?? stored;
      }
    }

    // 5. A request whose outcome is now in status is removed from the Canary (control-request.ts).
    const removed = await settleRequest(clients, request, recorded, stored ?? raw, (err) =>
      log.debug({ err: describeError(err) }, "control request annotations not removed yet"),
    );

    // 6. Tell people: the decision log in what was just stored.
    const told = await reporter.drain(canary, spec, recorded, signal);

    this.rollout.record({
      ref,
      spec,
      before: status,
      recorded,
      decided,
      events: decision?.events ?? [],
      evidence: this.evidence.get(key)?.state,
      analysed: asked.analysed,
      seconds: (performance.now() - started) / 1000,
    });
    const logLine = {
      phase: recorded.phase,
      weight: recorded.canaryWeight,
      failedChecks: recorded.failedChecks,
      written: stored !== undefined,
    };
    const reason = obstacle?.message ?? decision?.reason ?? "";
    if ((decision?.events.length ?? 0) > 0 || obstacle) log.info(logLine, reason);
    else log.debug(logLine, reason);
    // Secrets are not watched: a target that uses some is looked at every interval, as Flagger does.
    const requeue = obstacle
      ? BLOCKED_REQUEUE_MS
      : (decision?.requeueAfterMs ?? (secretNames.length > 0 ? spec.analysis.intervalMs : undefined));
    return {
      requeueAfterMs: told && removed ? requeue : Math.min(requeue ?? REPORT_RETRY_MS, REPORT_RETRY_MS),
    };
  }

  /** A second Canary on a Deployment that another already manages is refused, naming the first. */
  private targetClash(canary: Canary, spec: EffectiveSpec): Obstacle | undefined {
    const holder = targetHeldBy(canary, this.deps.cache.canaries.list(canary.metadata.namespace));
    if (holder === undefined) return undefined;
    return {
      reason: "Blocked",
      message: `Deployment ${spec.targetRef.name} is already the target of Canary ${holder.metadata?.name ?? ""} (created first): a Deployment can have one Canary; delete one of them or point spec.targetRef.name at another Deployment`,
    };
  }

  private answers(
    ref: { name: string; namespace: string },
    spec: EffectiveSpec,
    obs: Observation,
    signal: AbortSignal,
    now: Date,
    asked: { analysed: boolean },
  ): Answers {
    // The run the core reasons about: the same pure function gives the same traffic start here.
    const runOf = (status: CanaryStatus) =>
      obs.world.target ? currentRun(status, obs.world.target, now) : status.run;
    return {
      analyse: (status) => {
        asked.analysed = true;
        return this.analyse(ref, spec, signal, runOf(status), now);
      },
      served: (status) => this.served(ref, spec, signal, runOf(status), now),
      split: (status) => this.split(ref, spec, obs, status, signal, now),
      hooks: (type, status) => {
        asked.analysed = true;
        return callHooks(spec.analysis.webhooks, type, hookPayload(ref, status, obs.world.target?.revision), {
          signal,
        });
      },
    };
  }

  /**
   * Runs `work`. What only the user can fix (an object someone else owns, a target Serin cannot build
   * from) or what the API refuses outright (a name it rejects, a missing permission) becomes an obstacle
   * with its reason; anything transient (409, 429, 5xx, the network) propagates for a backoff retry.
   */
  private async attempt(work: () => Promise<void>): Promise<Obstacle | undefined> {
    try {
      await work();
      return undefined;
    } catch (err) {
      if (err instanceof BlockedError || err instanceof WorkloadError)
        return { reason: "Blocked", message: err.message };
      if (isRefusal(statusCode(err)))
        return { reason: "Rejected", message: `the API server refused a write: ${describeError(err)}` };
      throw err;
    }
  }

  /** The Prometheus this Canary's built-in checks read: spec.metricsServer, else --metrics-server. */
  private prometheusFor(spec: EffectiveSpec): PrometheusClient {
    return spec.source.metricsServer
      ? this.prometheusClients.get({ address: spec.source.metricsServer })
      : this.deps.prometheus;
  }

  private async served(
    ref: { name: string; namespace: string },
    spec: EffectiveSpec,
    signal: AbortSignal,
    run: RunRecord | undefined,
    now: Date,
  ): Promise<ServedCounts | ServedUnavailable> {
    const since = run?.trafficSince ? new Date(run.trafficSince) : undefined;
    if (since === undefined || Number.isNaN(since.getTime()))
      return { at: now, error: "the run has no traffic yet" };
    const latency = latencyThresholdMs(spec);
    const answer = await readServed(
      this.prometheusFor(spec),
      {
        namespace: ref.namespace,
        canary: spec.names.canaryWorkload,
        primary: spec.names.primaryWorkload,
        since,
        ...(latency !== undefined ? { slowerThanMs: latency } : {}),
      },
      now,
      signal,
    );
    return answer.ok ? answer.served : { at: now, error: answer.error };
  }

  /**
   * Requests per side since the current step (never throws: Prometheus down is no verdict), and the pods
   * without a sidecar, which explain a canary that gets less than its weight.
   */
  private async split(
    ref: { name: string; namespace: string },
    spec: EffectiveSpec,
    obs: Observation,
    status: CanaryStatus,
    signal: AbortSignal,
    now: Date,
  ): Promise<ObservedSplit | SplitUnavailable> {
    const plan = splitPlan(spec, status);
    if (plan.kind === "skip") return { at: now, error: plan.reason };
    const split = await readSplit(
      this.prometheusFor(spec),
      {
        namespace: ref.namespace,
        canary: spec.names.canaryWorkload,
        primary: spec.names.primaryWorkload,
        plan,
      },
      now,
      signal,
    );
    const key = keyFor(ref);
    if (!looksSilent(split)) {
      this.sidecars.delete(key);
      return split;
    }
    // Pods are listed only when a side is silent (a pod without a sidecar reports nothing): at 1,000
    // Canaries a list per check would be 2,000 LISTs per interval for nothing.
    const sidecars = await sidecarReport(this.deps.clients, ref.namespace, [obs.target, obs.primary]).catch(
      (err: unknown) => {
        this.deps.log.debug({ err: describeError(err) }, "pods not read for the sidecar report");
        return this.sidecars.get(key);
      },
    );
    if (sidecars === undefined) this.sidecars.delete(key);
    else this.sidecars.set(key, sidecars);
    return split;
  }

  private async analyse(
    ref: { name: string; namespace: string },
    spec: EffectiveSpec,
    signal: AbortSignal,
    run: RunRecord | undefined,
    now: Date,
  ): Promise<MetricResult[]> {
    const { cache, clients } = this.deps;
    const analysis = await runMetricChecks({
      name: ref.name,
      namespace: ref.namespace,
      spec,
      // spec.metricsServer overrides the controller's --metrics-server for this Canary, as in Flagger.
      defaultPrometheus: this.prometheusFor(spec),
      run,
      now,
      findTemplate: (ns, n) => {
        const parsed = MetricTemplateSchema.safeParse(cache.metricTemplates.get(n, ns));
        return parsed.success ? parsed.data : undefined;
      },
      // MetricTemplate provider.secretRef: read on demand, like the target's Secrets.
      readSecret: async (ns, n) => {
        const secret = (await readSecrets(clients, ns, [n])).get(n);
        return secret ? decodeSecretData(secret) : undefined;
      },
      signal,
      // One cache for spec.metricsServer and the templates' addresses: one pool per server.
      clients: this.prometheusClients,
    });
    this.rollout.checks(ref, spec, analysis);
    return analysis;
  }

  /** Ready=False InvalidSpec and its Warning Event; false while the Event is still to be sent. */
  private async reportInvalid(raw: KubernetesObject, message: string, log: Logger): Promise<boolean> {
    const status = ((raw as { status?: CanaryStatus }).status ?? {}) as CanaryStatus;
    const owner = {
      metadata: { name: raw.metadata?.name, namespace: raw.metadata?.namespace, uid: raw.metadata?.uid },
    };
    const before = status.conditions?.find((c) => c.type === READY);
    const next = composeIntent({
      before: status,
      decision: undefined,
      obstacle: { reason: "InvalidSpec", message },
      notes: [],
      generation: raw.metadata?.generation,
      reportedSeq: this.deps.reporter.reportedUpTo(owner),
      now: this.deps.now?.() ?? new Date(),
    });
    await writeStatus(this.deps.clients, raw, next);
    const told = await this.deps.reporter.drain(owner, undefined, next);
    if (before?.message !== message)
      log.warn({ problems: message }, "invalid Canary spec; left alone until it is fixed");
    return told;
  }
}

/** Requests one side must have served before the other side's silence is worth a look at its pods. */
const SILENCE_AFTER_REQUESTS = 20;

/**
 * A split where one side served nothing while the other served plenty: the signature of pods without
 * a sidecar (they report no requests at all), worth listing the pods for. A canary that merely got a
 * little less than its weight is the statistics' business (core/split), not a reason to list pods: at
 * low traffic that is most checks.
 */
function looksSilent(split: ObservedSplit | SplitUnavailable): boolean {
  if ("error" in split) return false;
  return (
    (split.canary === 0 && split.primary >= SILENCE_AFTER_REQUESTS) ||
    (split.primary === 0 && split.canary >= SILENCE_AFTER_REQUESTS)
  );
}
