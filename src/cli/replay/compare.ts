// The replayed run beside the recorded one: each replayed check paired with the recorded check taken
// within half an interval of it, the differences marked (verdict or weight), the recorded checks the
// replay has no counterpart for added, and the two ends compared. Pure.
import type { CheckRecord } from "../../api/canary.js";
import { offsetSeconds, type RunSpan } from "./clock.js";
import type { RecordedEnd, RecordedRun, ReplayEnd, ReplayStep } from "./types.js";

/** The recorded weight just before `t` (what a check at `t` read): the latest decision-log entry before it. */
export function recordedWeightAt(run: RecordedRun, t: number): number | undefined {
  let weight: number | undefined;
  for (const w of run.weights) {
    const at = Date.parse(w.time);
    if (Number.isNaN(at) || at >= t) break;
    weight = w.weight;
  }
  return weight;
}

/** The index of the recorded check not yet `taken` nearest to `t`, within `toleranceMs`; -1: none. */
export function nearestRecorded(
  t: number,
  recorded: readonly CheckRecord[],
  taken: ReadonlySet<number>,
  toleranceMs: number,
): number {
  const distance = (i: number) => Math.abs(Date.parse(recorded[i]?.time ?? "") - t);
  let best = -1;
  for (let i = 0; i < recorded.length; i++) {
    if (taken.has(i)) continue;
    const d = distance(i);
    if (d <= toleranceMs && (best < 0 || d < distance(best))) best = i;
  }
  return best;
}

const recordedSide = (r: CheckRecord): NonNullable<ReplayStep["recorded"]> => ({
  time: r.time,
  canaryWeight: r.canaryWeight,
  verdict: r.verdict,
  metrics: r.metrics,
});

/** Pairs replayed checks with recorded ones, each recorded check at most once, in the steps' order. */
class Pairing {
  readonly taken = new Set<number>();
  private readonly firstKept: number;
  private readonly toleranceMs: number;

  /** `recorded` sorted by time */
  constructor(
    private readonly run: RecordedRun,
    private readonly recorded: readonly CheckRecord[],
    intervalMs: number,
  ) {
    this.toleranceMs = intervalMs / 2;
    this.firstKept = recorded[0] ? Date.parse(recorded[0].time) : Number.POSITIVE_INFINITY;
  }

  /** The step with its recorded weight and, for a check or a look, whether it differs from the recorded run. */
  compare(s: ReplayStep): ReplayStep {
    const t = Date.parse(s.time);
    const w = recordedWeightAt(this.run, t);
    const step = w !== undefined ? { ...s, recordedWeight: w } : s;
    if (s.kind === "step") return step;
    if (s.kind === "look") return { ...step, differs: !this.rolledBackNear(t) };
    return this.pairCheck(step, t);
  }

  /** A rollback between checks: the same as the recorded run only if it was rolled back then too. */
  private rolledBackNear(t: number): boolean {
    const recordedEnd = Date.parse(this.run.endedAt);
    return this.run.outcome === "Failed" && Math.abs(recordedEnd - t) <= this.toleranceMs;
  }

  private pairCheck(s: ReplayStep, t: number): ReplayStep {
    const best = nearestRecorded(t, this.recorded, this.taken, this.toleranceMs);
    if (best < 0) {
      // No recorded check here: a difference only where the recorded checks are known to be complete.
      const run = this.run;
      const known =
        s.kind === "check" && (run.checksComplete || t >= this.firstKept) && run.checks.length > 0;
      return { ...s, differs: known };
    }
    this.taken.add(best);
    const r = this.recorded[best] as CheckRecord;
    return {
      ...s,
      recorded: recordedSide(r),
      differs: r.verdict !== s.verdict || r.canaryWeight !== s.weight,
    };
  }
}

/** A recorded check the replay has no counterpart for: a line of its own, always a difference. */
function recordedOnly(r: CheckRecord, end: ReplayEnd, span: RunSpan): ReplayStep {
  const t = Date.parse(r.time);
  return {
    kind: "recorded-only",
    time: r.time,
    offsetSeconds: offsetSeconds(span, t),
    weight: r.canaryWeight,
    nextWeight: r.canaryWeight,
    metrics: [],
    reason: t > Date.parse(end.time) ? "the replayed run had ended" : "no replayed check at this time",
    phase: "",
    failedChecks: 0,
    recorded: recordedSide(r),
    differs: true,
  };
}

/**
 * The replayed steps beside the recorded checks (`recorded`, sorted by time): each replayed check paired
 * with the recorded check taken within half an interval of it, differences marked, and the recorded checks
 * the replay has no counterpart for added, all in time order.
 */
export function compare(
  steps: readonly ReplayStep[],
  recorded: readonly CheckRecord[],
  run: RecordedRun,
  intervalMs: number,
  end: ReplayEnd,
  span: RunSpan,
): ReplayStep[] {
  const pairing = new Pairing(run, recorded, intervalMs);
  const out = steps.map((s) => pairing.compare(s));
  recorded.forEach((r, i) => {
    if (!pairing.taken.has(i)) out.push(recordedOnly(r, end, span));
  });
  out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  return out;
}

/** How the recorded run ended, on the replay's time axis. */
export function recordedEnd(run: RecordedRun, span: RunSpan): RecordedEnd {
  return {
    outcome: run.outcome,
    time: run.endedAt,
    offsetSeconds: offsetSeconds(span, span.end),
    canaryWeight: run.canaryWeight,
    ...(run.failedChecks !== undefined ? { failedChecks: run.failedChecks } : {}),
    ...(run.reason !== undefined ? { reason: run.reason } : {}),
  };
}

/** A replay still running at the recorded end matches a recorded run superseded or still under way. */
export function sameOutcome(replayed: ReplayEnd["outcome"], recorded: RecordedRun["outcome"]): boolean {
  return (
    replayed === recorded || (replayed === "Running" && (recorded === "Superseded" || recorded === "Running"))
  );
}
