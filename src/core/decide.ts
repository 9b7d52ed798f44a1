// The decision core: from (Canary, observed world) to (next status, actions, events, reason).
// Pure and synchronous, so every phase transition is unit-tested without a cluster. The shell
// (src/controller) observes the world, calls decide(), performs the actions, makes routes and
// scale match the next status, and writes it. Phases and event texts follow Flagger's.
import type { CanaryPhase, CanaryStatus, EvidenceState, RunRecord } from "../api/canary.js";
import { type EffectiveSpec, latencyThresholdMs, sequentialJudge } from "../api/defaults.js";
import type { CanaryEvent, Decision, EdgeAction } from "./decision.js";
import { type CheckHistory, type CheckOutcome, judgeCheck } from "./evidence/check.js";
import { latestState, look } from "./evidence/look.js";
import { promotionEvidence } from "./evidence/promotion.js";
import { currentRun, harmSentence, newRun, withCheck, withServed } from "./evidence/run.js";
import { note, step } from "./status.js";
import { type GateHook, type ObservedWorld, type Served, type ServedCounts, servedCounts } from "./world.js";

export interface CanaryRef {
  name: string;
  namespace: string;
}

/** A shared incident holds a run for progressDeadlineSeconds, and at least this long. */
export const MIN_INCIDENT_HOLD_MS = 10 * 60_000;

/** How often to look again while waiting for a rollout that the watches should report anyway. */
export const WAIT_REQUEUE_MS = 5_000;

const IDLE_PHASES: readonly CanaryPhase[] = ["Initialized", "Succeeded", "Failed", "Waiting"];
const ANALYSIS_PHASES: readonly CanaryPhase[] = ["Progressing", "WaitingPromotion"];
/** Phases in which the target serves (or is about to serve) traffic as the canary. */
const RUN_PHASES: readonly CanaryPhase[] = ["Waiting", "Progressing", "WaitingPromotion", "Promoting"];

interface Ctx {
  ref: CanaryRef;
  spec: EffectiveSpec;
  status: CanaryStatus;
  /** the status as stored: decisions that ask for inputs return it unchanged (they are decided again) */
  stored: CanaryStatus;
  world: ObservedWorld;
  now: Date;
  id: string;
}

function decision(partial: Partial<Decision> & { status: CanaryStatus; reason: string }): Decision {
  return {
    actions: [],
    events: [],
    requeueAfterMs: undefined,
    needsAnalysis: false,
    needsHooks: [],
    needsServed: false,
    ...partial,
  };
}

const promotedMessage = (status: CanaryStatus): string | undefined =>
  status.conditions?.find((c) => c.type === "Promoted")?.message;

const normal = (reason: string, message: string): CanaryEvent => ({ type: "Normal", reason, message });
const warning = (reason: string, message: string): CanaryEvent => ({ type: "Warning", reason, message });

type Gate = { state: "open" } | { state: "closed"; message: string } | { state: "ask" };

/**
 * A webhook gate: open when no hook of that type is configured or all answered 2xx, "ask" when the
 * shell has not called them yet. For `rollback` hooks "open" means a rollback was requested.
 */
function gate(ctx: Ctx, type: GateHook): Gate {
  if (!ctx.spec.analysis.webhooks.some((h) => h.type === type))
    return type === "rollback" ? { state: "closed", message: "" } : { state: "open" };
  const answer = ctx.world.hooks?.[type];
  if (answer === undefined) return { state: "ask" };
  return answer.ok ? { state: "open" } : { state: "closed", message: answer.message };
}

/** Notify post-rollout hooks when a run ends, if there are any. */
function postRollout(ctx: Ctx): EdgeAction[] {
  return ctx.spec.analysis.webhooks.some((h) => h.type === "post-rollout") ? [{ kind: "post-rollout" }] : [];
}

function askHooks(ctx: Ctx, types: GateHook[], reason: string): Decision {
  return decision({ status: ctx.stored, reason, needsHooks: types });
}

export function decide(
  ref: CanaryRef,
  spec: EffectiveSpec,
  status: CanaryStatus,
  world: ObservedWorld,
): Decision {
  const ctx: Ctx = {
    ref,
    spec,
    status,
    stored: status,
    world,
    now: world.now,
    id: `${ref.name}.${ref.namespace}`,
  };
  const phase = status.phase ?? "";

  if (world.target === undefined) return targetMissing(ctx);
  if (spec.suspend) {
    const reason = "spec.suspend is true: analysis paused, routes and scale left as they are";
    return decision({ status: note(status, reason, ctx.now), reason });
  }
  if (phase === "" || phase === "Initializing") return initialize(ctx);
  if (world.primary === undefined) return primaryMissing(ctx);
  if (IDLE_PHASES.includes(phase)) return idle(ctx);
  if (ANALYSIS_PHASES.includes(phase)) return withLooks(ctx, analyse(ctx));
  if (phase === "Promoting") return promoting(ctx);
  if (phase === "Finalising") return finalise(ctx);
  const reason = `phase ${phase}: nothing to do`;
  return decision({ status, reason });
}

/**
 * The target is gone. Mid-run, its share of traffic would go nowhere: the run ends now with all traffic
 * on the primary. A promotion already copied to the primary finishes (it passed analysis); one not yet
 * copied cannot be, since the tested template went with the target.
 */
function targetMissing(ctx: Ctx): Decision {
  const { spec, status, world, ref, now } = ctx;
  const phase = status.phase ?? "";
  const gone = `target Deployment ${spec.targetRef.name}.${ref.namespace} not found`;
  const promotionCopied = world.primary !== undefined && world.primary.revision === status.lastAppliedSpec;
  if (phase === "Finalising" || (phase === "Promoting" && promotionCopied)) {
    return phase === "Finalising"
      ? finalise(ctx)
      : promoting({ ...ctx, status: { ...status, canaryWeight: 0 } });
  }
  if (RUN_PHASES.includes(phase)) {
    return rollback(ctx, `${gone} during the run: all traffic is back on ${spec.names.primaryWorkload}`);
  }
  const reason = `${gone}: create it or fix spec.targetRef.name`;
  return decision({
    status: note(status, reason, now),
    reason,
    // Said once, not at every resync: the condition keeps saying it.
    events: promotedMessage(status) === reason ? [] : [warning("TargetNotFound", reason)],
  });
}

/**
 * The primary was deleted after initialization. The shell re-creates it from the last promoted revision
 * it recorded (never from the target, which may hold the revision under test); until it is back and
 * ready nothing advances, and the run then continues where it was.
 */
function primaryMissing(ctx: Ctx): Decision {
  const { spec, status, ref, now } = ctx;
  const reason = `primary Deployment ${spec.names.primaryWorkload}.${ref.namespace} is missing: restoring it on the last promoted revision ${status.lastPromotedSpec ?? "(unknown)"}; the run holds until it is ready`;
  return decision({
    status: note(status, reason, now),
    reason,
    events: promotedMessage(status) === reason ? [] : [warning("PrimaryMissing", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

function initialize(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  if (world.primary === undefined) {
    const reason = `creating ${spec.names.primaryWorkload} from ${spec.targetRef.name}`;
    return decision({
      status: step(
        status,
        { phase: "Initializing", canaryWeight: 0, failedChecks: 0, iterations: 0 },
        reason,
        now,
      ),
      reason,
      events: status.phase === "Initializing" ? [] : [normal("Synced", `Initializing ${id}: ${reason}`)],
      requeueAfterMs: WAIT_REQUEUE_MS,
    });
  }
  if (!world.primary.readiness.ready) {
    const reason = `waiting for ${spec.names.primaryWorkload} to be ready: ${world.primary.readiness.message}`;
    const base =
      status.phase === "Initializing" ? status : step(status, { phase: "Initializing" }, reason, now);
    return decision({
      status: note(base, reason, now),
      reason,
      events:
        world.primary.readiness.deadlineExceeded && promotedMessage(status) !== reason
          ? [warning("PrimaryNotReady", reason)]
          : [],
      requeueAfterMs: WAIT_REQUEUE_MS,
    });
  }
  const reason = `Initialization done! ${id}`;
  // The primary runs what it was created from; if the target changed since, that change is a new
  // revision to analyse, not something to call promoted.
  const baseline = world.primary.revision ?? target.revision;
  return decision({
    status: step(
      status,
      {
        phase: "Initialized",
        canaryWeight: 0,
        failedChecks: 0,
        iterations: 0,
        lastAppliedSpec: baseline,
        lastPromotedSpec: baseline,
        trackedConfigs: target.trackedConfigs,
      },
      reason,
      now,
    ),
    reason,
    events: [normal("Synced", reason)],
  });
}

/** A revision is new when it is neither the one last analysed nor the one last promoted (a manual revert is not). */
function isNewRevision(status: CanaryStatus, revision: string): boolean {
  return revision !== status.lastAppliedSpec && revision !== status.lastPromotedSpec;
}

function startRun(ctx: Ctx, reason: string, restart: boolean): Decision {
  const { status, world, now } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  return decision({
    status: step(
      status,
      {
        phase: "Progressing",
        canaryWeight: 0,
        failedChecks: 0,
        iterations: 0,
        lastAppliedSpec: target.revision,
        trackedConfigs: target.trackedConfigs,
        run: newRun(target),
      },
      reason,
      now,
    ),
    reason,
    events: [restart ? warning("RevisionChanged", reason) : normal("Synced", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

function idle(ctx: Ctx): Decision {
  const { status, world, ref, spec } = ctx;
  const target = world.target;
  if (target === undefined) throw new Error("unreachable: target checked by decide()");
  if (isNewRevision(status, target.revision)) {
    const confirm = gate(ctx, "confirm-rollout");
    if (confirm.state === "ask") return askHooks(ctx, ["confirm-rollout"], "asking confirm-rollout webhooks");
    if (confirm.state === "closed") {
      const reason = `Halt ${ctx.id} advancement waiting for approval: ${confirm.message}`;
      const waiting = status.phase === "Waiting";
      return decision({
        status: waiting ? note(status, reason, ctx.now) : step(status, { phase: "Waiting" }, reason, ctx.now),
        reason,
        events: waiting ? [] : [normal("Waiting", reason)],
        requeueAfterMs: spec.analysis.intervalMs,
      });
    }
    return startRun(ctx, `New revision detected! Scaling up ${spec.targetRef.name}.${ref.namespace}`, false);
  }
  if (status.phase === "Waiting") {
    // The revision that waited for approval was reverted: nothing to roll out any more.
    const reason = `revision reverted while waiting for approval: ${spec.names.primaryWorkload} serves all traffic`;
    return decision({
      status: step(status, { phase: status.lastPromotedSpec ? "Succeeded" : "Initialized" }, reason, ctx.now),
      reason,
    });
  }
  const reason =
    status.phase === "Failed"
      ? (status.conditions?.find((c) => c.type === "Promoted")?.message ?? "last run failed")
      : `${status.phase}: primary serves all traffic`;
  return decision({ status, reason });
}

function analysisDueAt(ctx: Ctx): number {
  const last = ctx.status.lastTransitionTime ? Date.parse(ctx.status.lastTransitionTime) : 0;
  return (Number.isNaN(last) ? 0 : last) + ctx.spec.analysis.intervalMs;
}

function rollback(ctx: Ctx, why: string, extra: Partial<CanaryStatus> = {}): Decision {
  const { status, now, id } = ctx;
  const harm = harmSentence(extra.run ?? status.run);
  const reason = `Rolling back ${id}: ${why}${harm ? `; ${harm} before the rollback` : ""}`;
  return decision({
    status: step(
      status,
      { ...extra, phase: "Failed", canaryWeight: 0 },
      `Canary analysis failed: ${why}`,
      now,
    ),
    reason,
    actions: postRollout(ctx),
    events: [warning("RolledBack", reason)],
  });
}

function promote(ctx: Ctx, why: string, extra: Partial<CanaryStatus> = {}): Decision {
  const { status, spec, now, ref } = ctx;
  const confirm = gate(ctx, "confirm-promotion");
  if (confirm.state === "ask")
    return askHooks(ctx, ["confirm-promotion"], "asking confirm-promotion webhooks");
  if (confirm.state === "closed") {
    // Traffic stays where it is and the checks go on (a failure still rolls back) until approved.
    const reason = `${why}; waiting for promotion approval: ${confirm.message}`;
    const waiting = status.phase === "WaitingPromotion";
    return decision({
      // Stamped every time: the next check (and the next ask) is one interval later.
      status: step(status, { phase: "WaitingPromotion" }, reason, now),
      reason,
      events: waiting
        ? []
        : [
            normal(
              "WaitingPromotion",
              `Halt ${ctx.id} advancement waiting for promotion approval: ${confirm.message}`,
            ),
          ],
      requeueAfterMs: spec.analysis.intervalMs,
    });
  }
  // The shell copies the template while the phase is Promoting (see converge.ts), after recording it.
  const reason = `${why}: copying ${spec.targetRef.name}.${ref.namespace} template spec to ${spec.names.primaryWorkload}.${ref.namespace}`;
  return decision({
    status: step(status, { ...extra, phase: "Promoting" }, reason, now),
    reason,
    events: [normal("Promoting", reason)],
    requeueAfterMs: WAIT_REQUEUE_MS,
  });
}

function analyse(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const target = world.target;
  const primary = world.primary;
  if (target === undefined || primary === undefined) throw new Error("unreachable: checked by decide()");
  if (target.revision !== status.lastAppliedSpec) {
    return startRun(ctx, `New revision detected! Restarting analysis for ${id}`, true);
  }
  if (!target.readiness.ready) {
    if (target.readiness.deadlineExceeded) {
      return rollback(
        ctx,
        `canary deployment ${spec.targetRef.name} not ready within progressDeadlineSeconds ${spec.progressDeadlineSeconds}s: ${target.readiness.message}`,
      );
    }
    const reason = `waiting for canary ${spec.targetRef.name} rollout: ${target.readiness.message}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  if (!primary.readiness.ready) {
    const reason = `Halt advancement: ${spec.names.primaryWorkload} not ready: ${primary.readiness.message}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  if (spec.skipAnalysis) {
    if (status.phase === "WaitingPromotion" && now.getTime() < analysisDueAt(ctx)) return nextCheck(ctx);
    return promote(ctx, "spec.skipAnalysis is true");
  }

  const weight = status.canaryWeight ?? 0;
  const iterations = status.iterations ?? 0;
  // With analysis.mirror the canary gets mirrored traffic from the start of the run (blue/green, or the
  // weight-0 first step of a canary release), so that first step is measured like any other.
  const firstStep =
    !spec.analysis.mirror && (spec.analysis.strategy === "canary" ? weight === 0 : iterations === 0);
  // Every window of this run starts when the revision first gets traffic, never earlier.
  const run = currentRun(status, target, now);
  const rctx: Ctx = run === status.run ? ctx : { ...ctx, status: { ...status, run } };
  const dueAt = analysisDueAt(ctx);
  // The first step sends traffic to a canary that has had none: there is nothing to measure yet, so it
  // goes as soon as the canary is ready (Flagger waits a whole interval here). Later steps wait, and so
  // does a retry of the first one (a failed pre-rollout hook is retried an interval later, not at once).
  // Waiting for promotion approval asks again once per interval, never in a loop on our own writes.
  const paced = !firstStep || (status.failedChecks ?? 0) > 0 || status.phase === "WaitingPromotion";
  const due = !paced || now.getTime() >= dueAt;

  // The sequential judge looks between checks too, while the canary has traffic.
  const seen = firstStep ? ({ kind: "quiet" } as const) : lookAt(rctx, due);
  // A decision that asks for inputs leaves status alone: it is decided again, from the same status.
  if (seen.kind === "ask")
    return decision({ status, reason: "reading the run's evidence", needsServed: true });
  if (seen.kind === "regression") return rollback(rctx, seen.reason, { run: seen.run });
  const evidence = seen.kind === "looked" ? seen.state : undefined;
  if (!due) return nextCheck(rctx, evidence);

  if (firstStep) {
    const pre = gate(rctx, "pre-rollout");
    if (pre.state === "ask") return askHooks(rctx, ["pre-rollout"], "running pre-rollout webhooks");
    if (pre.state === "closed") return failedCheck(rctx, `pre-rollout webhook failed: ${pre.message}`);
    return advance(rctx, weight, iterations, "");
  }
  const manual = gate(rctx, "rollback");
  const rollout = gate(rctx, "rollout");
  const ask: GateHook[] = [
    ...(manual.state === "ask" ? ["rollback" as const] : []),
    ...(rollout.state === "ask" ? ["rollout" as const] : []),
  ];
  if (ask.length > 0 || world.analysis === undefined || world.served === undefined) {
    return decision({
      status,
      reason: "running webhooks and metric checks",
      needsHooks: ask,
      needsAnalysis: world.analysis === undefined,
      needsServed: world.served === undefined,
    });
  }
  if (manual.state === "open") return rollback(rctx, "a rollback webhook asked for it");
  const served = servedCounts(world.served);
  const history = checkHistory(rctx, run);
  const outcome: CheckOutcome =
    rollout.state === "closed"
      ? { verdict: "failed", summary: `rollout webhook failed: ${rollout.message}`, metrics: [] }
      : promotionGate(rctx, judgeCheck(spec, world.analysis, history), history, served, weight, iterations);
  const checked = withCheck(withServed({ ...run, ...(evidence ? { evidence } : {}) }, served), {
    time: now.toISOString(),
    canaryWeight: weight,
    verdict: outcome.verdict,
    ...(outcome.hold ? { hold: outcome.hold } : {}),
    metrics: outcome.metrics,
  });
  const cctx: Ctx = { ...rctx, status: { ...rctx.status, run: checked } };
  if (outcome.verdict === "failed") return failedCheck(cctx, outcome.summary);
  if (outcome.verdict === "held") return hold(cctx, outcome);
  return advance(cctx, weight, iterations, `: ${outcome.summary}`);
}

function nextCheck(ctx: Ctx, evidence?: EvidenceState): Decision {
  const dueAt = analysisDueAt(ctx);
  const untilDue = Math.max(0, dueAt - ctx.now.getTime());
  // withLooks() brings the wake-up forward to the next look while the judge watches the run.
  return decision({
    status: ctx.status,
    reason: `next check of ${ctx.id} at ${new Date(dueAt).toISOString()}`,
    requeueAfterMs: untilDue,
    ...(evidence ? { evidence } : {}),
  });
}

/** While the sequential judge watches a run, nothing waits longer than its look interval. */
function withLooks(ctx: Ctx, d: Decision): Decision {
  if (!ANALYSIS_PHASES.includes(d.status.phase ?? "") || !watched(ctx.spec, d.status)) return d;
  if (d.requeueAfterMs === undefined) return d;
  return { ...d, requeueAfterMs: Math.min(d.requeueAfterMs, ctx.spec.analysis.judge.lookIntervalMs) };
}

/** The sequential judge looks at this run: it is on and the canary has had a step with traffic. */
function watched(spec: EffectiveSpec, status: CanaryStatus): boolean {
  return sequentialJudge(spec) && status.run?.trafficSince !== undefined;
}

type Seen =
  | { kind: "quiet" }
  | { kind: "ask" }
  | { kind: "looked"; state: EvidenceState }
  | { kind: "regression"; reason: string; run: RunRecord };

/** One look of the sequential judge, when it is on and a look is due (at every check, and between). */
function lookAt(ctx: Ctx, checkDue: boolean): Seen {
  const { spec, status, world, now } = ctx;
  const run = status.run;
  if (!watched(spec, status) || run?.trafficSince === undefined) return { kind: "quiet" };
  const state = latestState(run, world.evidence);
  if (world.served === undefined) {
    const lookDue =
      checkDue ||
      state === undefined ||
      now.getTime() - Date.parse(state.asOf) >= spec.analysis.judge.lookIntervalMs;
    return lookDue ? { kind: "ask" } : state ? { kind: "looked", state } : { kind: "quiet" };
  }
  const served = servedCounts(world.served);
  if (served === undefined) return state ? { kind: "looked", state } : { kind: "quiet" };
  const result = look(
    state,
    served,
    spec.analysis.judge.falseAlarmRate,
    new Date(run.trafficSince),
    latencyThresholdMs(spec) !== undefined,
  );
  if (result.regression === undefined) return { kind: "looked", state: result.state };
  return {
    kind: "regression",
    reason: result.regression,
    run: withServed({ ...run, evidence: result.state }, served),
  };
}

/** What a check needs to know of the run: how long it has waited for evidence, when an incident was. */
function checkHistory(ctx: Ctx, run: RunRecord): CheckHistory {
  const now = ctx.now.getTime();
  const deadline = ctx.spec.progressDeadlineSeconds * 1000;
  const passed = (time: string | undefined, limit: number) => {
    const t = time ? Date.parse(time) : Number.NaN;
    return !Number.isNaN(t) && now - t > limit;
  };
  const incident = run.lastIncidentAt ? Date.parse(run.lastIncidentAt) : Number.NaN;
  return {
    now,
    evidenceDeadlinePassed: passed(run.holdingSince, deadline),
    // Incidents outlast rollouts: a short progress deadline must not turn one into the canary's fault.
    incidentDeadlinePassed: passed(run.incidentSince, Math.max(deadline, MIN_INCIDENT_HOLD_MS)),
    ...(Number.isNaN(incident) ? {} : { lastIncidentAt: incident }),
  };
}

/** Would advancing from here promote (no further weight, or the last iteration)? */
function promotesNext(spec: EffectiveSpec, weight: number, iterations: number): boolean {
  const a = spec.analysis;
  // advance() promotes once every iteration is done, from the check after the last one.
  return a.strategy === "canary"
    ? a.canaryWeights.find((w) => w > weight) === undefined
    : iterations >= a.iterations;
}

/**
 * Under the sequential judge a passed check that would promote also needs evidence that the canary is
 * within the thresholds over its whole run (promotion.ts); until then the run holds at its last step,
 * for at most progressDeadlineSeconds, after which the thresholds decide alone.
 */
function promotionGate(
  ctx: Ctx,
  outcome: CheckOutcome,
  history: CheckHistory,
  served: ServedCounts | undefined,
  weight: number,
  iterations: number,
): CheckOutcome {
  const { spec } = ctx;
  if (outcome.verdict !== "passed" || !sequentialJudge(spec) || !promotesNext(spec, weight, iterations))
    return outcome;
  const run = ctx.status.run;
  const evidence = promotionEvidence(
    spec,
    served ? countsAfter(served.canary, run?.promotionCountsFrom) : undefined,
    spec.analysis.judge.falsePromotionRate,
    served?.slowerThanMs,
  );
  if (evidence.ok)
    return evidence.summary ? { ...outcome, summary: `${outcome.summary}; ${evidence.summary}` } : outcome;
  if (history.evidenceDeadlinePassed)
    return {
      ...outcome,
      summary: `${outcome.summary}; ${evidence.summary}, promoting on the thresholds after progressDeadlineSeconds ${spec.progressDeadlineSeconds}s`,
    };
  return { verdict: "held", hold: "promotion", summary: evidence.summary, metrics: outcome.metrics };
}

/** What the canary served after `from` (counts only grow; a lower reading is nothing new). */
function countsAfter(now: Served, from: Served | undefined): Served {
  if (from === undefined) return now;
  const after = (a: number, b: number) => Math.max(0, a - b);
  return {
    requests: after(now.requests, from.requests),
    errors: after(now.errors, from.errors),
    ...(now.slow !== undefined ? { slow: after(now.slow, from.slow ?? 0) } : {}),
  };
}

/**
 * A check that is neither passed nor failed: too little evidence, or the primary failing too. The
 * weight holds and the next check comes an interval later. Waiting for evidence that lasts longer than
 * progressDeadlineSeconds ends: the checks are then judged on what there is (checkHistory).
 */
function hold(ctx: Ctx, outcome: CheckOutcome): Decision {
  const { spec, status, now, id } = ctx;
  const run = status.run ?? { revision: status.lastAppliedSpec ?? "" };
  const previous = run.checks?.[run.checks.length - 2];
  const { windowFrom: _widened, holdingSince: _since, ...rest } = run;
  const stamp = now.toISOString();
  const held: RunRecord =
    outcome.hold === "incident"
      ? // An incident's window is the metric's own (widening would keep the incident in every check), and
        // its time does not count toward the wait for evidence; its own deadline runs from its first check.
        {
          ...rest,
          lastIncidentAt: stamp,
          incidentSince: run.incidentSince ?? stamp,
          // Promotion evidence starts after the incident: its errors are the primary's too.
          ...(run.canary ? { promotionCountsFrom: run.canary } : {}),
        }
      : outcome.hold === "promotion"
        ? // Waiting to show a promotion safe keeps each check on the metric's own window: a late
          // degradation must not be averaged away over the whole run.
          { ...rest, holdingSince: run.holdingSince ?? stamp }
        : // Waiting for evidence reads from the traffic start, so the next check sees more requests.
          {
            ...run,
            holdingSince: run.holdingSince ?? stamp,
            ...(run.trafficSince ? { windowFrom: run.trafficSince } : {}),
          };
  const weight = status.canaryWeight ?? 0;
  const reason = `Halt ${id} advancement at weight ${weight}: ${outcome.summary}`;
  const phase = status.phase === "WaitingPromotion" ? "WaitingPromotion" : "Progressing";
  // Told once per hold, and again when its cause changes (waiting for evidence, then an incident).
  const first = previous?.verdict !== "held" || previous.hold !== outcome.hold;
  return decision({
    status: step(status, { phase, run: held }, reason, now),
    reason,
    events: first
      ? [
          outcome.hold === "incident"
            ? warning("SharedIncident", reason)
            : normal("WaitingForEvidence", reason),
        ]
      : [],
    requeueAfterMs: spec.analysis.intervalMs,
  });
}

/** One more failed check; at the threshold, the rollback. The phase is kept (WaitingPromotion stays). */
function failedCheck(ctx_: Ctx, summary: string): Decision {
  // A wait for evidence is not reset by a failed check (past its deadline, checks without evidence fail),
  // but its widened window goes: judged on what there is, a check reads the metric's own window, where an
  // early outlier ages out instead of failing every check to the end of the run.
  const ctx = narrowed(ctx_);
  const { spec, status, now, id } = ctx;
  const failed = (status.failedChecks ?? 0) + 1;
  const why = `${summary} (failed checks ${failed}/${spec.analysis.threshold})`;
  if (failed >= spec.analysis.threshold) {
    return rollback(ctx, why, { failedChecks: failed });
  }
  const reason = `Halt ${id} advancement: ${why}`;
  const phase = status.phase === "WaitingPromotion" ? "WaitingPromotion" : "Progressing";
  return decision({
    status: step(status, { phase, failedChecks: failed }, reason, now),
    reason,
    events: [warning("Halted", reason)],
    requeueAfterMs: spec.analysis.intervalMs,
  });
}

function narrowed(ctx: Ctx): Ctx {
  const run = ctx.status.run;
  if (run?.windowFrom === undefined) return ctx;
  const { windowFrom: _w, ...rest } = run;
  return { ...ctx, status: { ...ctx.status, run: rest } };
}

/** A passed check ends a hold: windows go back to the metric's interval. */
function endHold(ctx: Ctx): Ctx {
  const run = ctx.status.run;
  if (
    run === undefined ||
    (run.holdingSince === undefined && run.windowFrom === undefined && run.incidentSince === undefined)
  )
    return ctx;
  const { holdingSince: _h, windowFrom: _w, incidentSince: _i, ...rest } = run;
  return { ...ctx, status: { ...ctx.status, run: rest } };
}

function advance(ctx_: Ctx, weight: number, iterations: number, checks: string): Decision {
  const ctx = endHold(ctx_);
  const { spec, status, now, id } = ctx;
  const a = spec.analysis;
  if (a.strategy === "canary") {
    const next = a.canaryWeights.find((w) => w > weight);
    if (next === undefined)
      return promote(ctx, `Canary analysis of ${id} passed at weight ${weight}${checks}`);
    const confirm = gate(ctx, "confirm-traffic-increase");
    if (confirm.state === "ask")
      return askHooks(ctx, ["confirm-traffic-increase"], "asking confirm-traffic-increase webhooks");
    if (confirm.state === "closed") {
      const reason = `Halt ${id} at weight ${weight}: waiting for approval to increase traffic to ${next}: ${confirm.message}`;
      // At weight 0 the step is not interval-paced, so the time is not stamped: we ask again after an
      // interval (requeue), not on the watch event of our own status write.
      return decision({
        status:
          weight === 0 ? note(status, reason, now) : step(status, { phase: "Progressing" }, reason, now),
        reason,
        requeueAfterMs: a.intervalMs,
      });
    }
    const reason = `Advance ${id} canary weight ${next}${checks}`;
    return decision({
      status: step(status, { phase: "Progressing", canaryWeight: next }, reason, now),
      reason,
      events: [normal("Progressing", reason)],
      requeueAfterMs: a.intervalMs,
    });
  }
  if (iterations < a.iterations) {
    const reason = `Advance ${id} canary iteration ${iterations + 1}/${a.iterations}${checks}`;
    // A/B testing sends the matched traffic to the canary for the whole run; blue/green sends none.
    const canaryWeight = a.strategy === "ab-testing" ? 100 : 0;
    return decision({
      status: step(status, { phase: "Progressing", iterations: iterations + 1, canaryWeight }, reason, now),
      reason,
      events: [normal("Progressing", reason)],
      requeueAfterMs: a.intervalMs,
    });
  }
  // Blue/green switches all traffic to the tested canary while the primary rolls out the new version.
  const extra = a.strategy === "blue-green" ? { canaryWeight: 100 } : {};
  return promote(ctx, `Canary analysis of ${id} completed ${a.iterations} iterations${checks}`, extra);
}

function promoting(ctx: Ctx): Decision {
  const { spec, status, world, now, id } = ctx;
  const primary = world.primary;
  if (primary === undefined) throw new Error("unreachable: checked by decide()");
  // The cache may not show our template change yet: a primary still on the old revision is not "done".
  const promotedSeen = primary.revision === undefined || primary.revision === status.lastAppliedSpec;
  // The tested template can only be copied from the target while the target still holds it.
  if (
    !promotedSeen &&
    ctx.world.target !== undefined &&
    ctx.world.target.revision !== status.lastAppliedSpec
  ) {
    return startRun(ctx, `New revision detected before ${id} was promoted! Restarting analysis`, true);
  }
  if (!promotedSeen || !primary.readiness.ready) {
    const why = promotedSeen ? primary.readiness.message : "the promoted template has not reached it yet";
    const reason = `waiting for ${spec.names.primaryWorkload} to roll out the promoted template: ${why}`;
    return decision({ status: note(status, reason, now), reason, requeueAfterMs: WAIT_REQUEUE_MS });
  }
  const weight = status.canaryWeight ?? 0;
  const promotionStep = spec.analysis.stepWeightPromotion;
  if (
    promotionStep !== undefined &&
    promotionStep > 0 &&
    weight - promotionStep > 0 &&
    spec.analysis.strategy === "canary"
  ) {
    if (now.getTime() < analysisDueAt(ctx)) {
      const dueAt = analysisDueAt(ctx);
      return decision({
        status,
        reason: `next promotion step of ${id}`,
        requeueAfterMs: dueAt - now.getTime(),
      });
    }
    const next = weight - promotionStep;
    const reason = `Advance ${id} primary weight ${100 - next}`;
    return decision({
      status: step(status, { phase: "Promoting", canaryWeight: next }, reason, now),
      reason,
      events: [normal("Promoting", reason)],
      requeueAfterMs: spec.analysis.intervalMs,
    });
  }
  const reason = `Routing all traffic to primary ${spec.names.primaryWorkload}`;
  return decision({
    status: step(
      status,
      { phase: "Finalising", canaryWeight: 0, lastPromotedSpec: status.lastAppliedSpec },
      reason,
      now,
    ),
    reason,
    events: [normal("Promoting", reason)],
    requeueAfterMs: 0,
  });
}

function finalise(ctx: Ctx): Decision {
  const { spec, status, now, id, ref } = ctx;
  const harm = harmSentence(status.run);
  const reason = `Promotion completed! Scaling down ${spec.targetRef.name}.${ref.namespace}${harm ? `; ${harm}` : ""}`;
  return decision({
    status: step(
      status,
      { phase: "Succeeded", canaryWeight: 0, failedChecks: 0 },
      `Canary analysis of ${id} completed successfully, promotion finished`,
      now,
    ),
    reason,
    actions: postRollout(ctx),
    events: [normal("Succeeded", reason)],
  });
}
