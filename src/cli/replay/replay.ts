// The replay loop of `kubectl serin replay`: a past run decided again by the pure decision core, in
// virtual time, on the series Prometheus recorded during it. Like a simulation: a clock starting when the
// run's traffic began (clock.ts), a synthetic observed world (world.ts: target and primary ready, running
// the run's revision), and at each moment decide() asks for metric checks and served counts, which
// `MetricAnswers` answers at that moment (the CLI asks Prometheus with `time=`; tests answer from a
// table). The clock then moves to the decision's requeue. The decisions worth a line become steps
// (steps.ts), compared at the end with the recorded checks (compare.ts). Nothing in the cluster changes.
// Pure but for the answers.
import type { Canary, CanaryStatus, CheckRecord, EvidenceState } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";
import type { CanaryRef } from "../../core/context.js";
import type { Decision } from "../../core/decision.js";
import { offsetSeconds, ReplayClock, type RunSpan, runSpan } from "./clock.js";
import { compare, recordedEnd, sameOutcome } from "./compare.js";
import { finishedOutcome, replayEnd, replayedStep, weightReached } from "./steps.js";
import type { MetricAnswers, RecordedRun, ReplayEnd, ReplayResult, ReplayStep } from "./types.js";
import { type DecisionInputs, decideAt, initialStatus, replayTarget } from "./world.js";

export interface ReplayOptions {
  ref: CanaryRef;
  /** the Canary with the edited spec (session-affinity cookies read it; nothing else does) */
  canary: Canary;
  spec: EffectiveSpec;
  run: RecordedRun;
  answers: MetricAnswers;
  /** bound on decisions (the sequential judge looks every lookInterval) */
  maxSteps?: number;
}

export const DEFAULT_MAX_STEPS = 5_000;

export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const span = runSpan(o.run);
  const recordedChecks = byTime(o.run.checks);
  const replayed = await decideRun(o, span, new ReplayClock(o.spec, recordedChecks));
  return {
    steps: compare(replayed.steps, recordedChecks, o.run, o.spec.analysis.intervalMs, replayed.end, span),
    end: replayed.end,
    recordedEnd: recordedEnd(o.run, span),
    sameOutcome: sameOutcome(replayed.end.outcome, o.run.outcome),
    decisions: replayed.decisions,
    truncated: replayed.truncated,
  };
}

const byTime = (checks: readonly CheckRecord[]): CheckRecord[] =>
  [...checks].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));

/** Where the replayed run stands between two decisions. */
interface ReplayState {
  status: CanaryStatus;
  evidence: EvidenceState | undefined;
  /** the highest canary weight reached so far */
  reached: number;
}

interface ReplayedRun {
  steps: ReplayStep[];
  end: ReplayEnd;
  decisions: number;
  /** stopped at maxSteps before the run ended */
  truncated: boolean;
}

/** Decides the run from its start until it ends, passes the recorded end, or maxSteps decisions were taken. */
async function decideRun(o: ReplayOptions, span: RunSpan, clock: ReplayClock): Promise<ReplayedRun> {
  const maxSteps = o.maxSteps ?? DEFAULT_MAX_STEPS;
  const inputs: DecisionInputs = { ...o, target: replayTarget(o.run) };
  let state: ReplayState = { status: initialStatus(o.run), evidence: undefined, reached: 0 };
  const steps: ReplayStep[] = [];
  let now = span.start;
  let decisions = 0;
  while (decisions < maxSteps) {
    const at = new Date(now);
    const d = await decideAt(inputs, state.status, state.evidence, at);
    decisions++;
    const step = replayedStep(state.status, d, at, offsetSeconds(span, now));
    if (step !== undefined) steps.push(step);
    state = afterDecision(state, d);
    const next = whatNext(state, d, now, span, clock);
    if ("end" in next) return { steps, end: next.end, decisions, truncated: false };
    now = next.at;
  }
  const { status } = state;
  const reason = `stopped after ${maxSteps} decisions`;
  const end = replayEnd("Running", now, offsetSeconds(span, now), status.canaryWeight ?? 0, status, reason);
  return { steps, end, decisions, truncated: true };
}

function afterDecision(state: ReplayState, d: Decision): ReplayState {
  return {
    status: d.status,
    evidence: d.evidence ?? state.evidence,
    reached: weightReached(state.reached, state.status, d.status),
  };
}

/**
 * After the decision taken at `now`: the replayed run's end (promoted, rolled back, or its next decision
 * past the recorded end, where the data stops belonging to this run), or the moment of the next decision.
 */
function whatNext(
  state: ReplayState,
  d: Decision,
  now: number,
  span: RunSpan,
  clock: ReplayClock,
): { end: ReplayEnd } | { at: number } {
  const { status } = state;
  const outcome = finishedOutcome(status);
  if (outcome !== undefined)
    return { end: replayEnd(outcome, now, offsetSeconds(span, now), state.reached, status, d.reason) };
  const next = clock.next(now, d.requeueAfterMs, status);
  if (next > span.end) {
    const weight = status.canaryWeight ?? 0;
    return { end: replayEnd("Running", span.end, offsetSeconds(span, span.end), weight, status, d.reason) };
  }
  return { at: next };
}
