// The replay's virtual time: it starts when the run's traffic began, ends at the recorded end, and moves
// from one decision to the next by the decision's requeue. Where the recorded run has a check close
// after that moment, the clock takes the recorded time instead (see ReplayClock.next). Pure.
import type { CanaryStatus, CheckRecord } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";

/** The recorded run's time frame, in epoch milliseconds. */
export interface RunSpan {
  start: number;
  end: number;
}

export function runSpan(run: { startedAt: string; endedAt: string }): RunSpan {
  const start = Date.parse(run.startedAt);
  const end = Date.parse(run.endedAt);
  if (Number.isNaN(start) || Number.isNaN(end)) throw new Error("the run has no start or end time");
  return { start, end };
}

/** Seconds from the run's start to `t`, to a tenth (the output's +10.2s). */
export function offsetSeconds(span: RunSpan, t: number): number {
  return Math.round((t - span.start) / 100) / 10;
}

/** When the next check is due: an interval after the last step (the core's analysisDueAt). */
export function analysisDueAt(status: CanaryStatus, intervalMs: number): number {
  const last = status.lastTransitionTime ? Date.parse(status.lastTransitionTime) : Number.NaN;
  return (Number.isNaN(last) ? 0 : last) + intervalMs;
}

/**
 * The index of the first recorded check time in `times` (sorted) not yet in `followed`, at `due` or
 * within `toleranceMs` after it; -1 when there is none.
 */
export function recordedTimeNear(
  due: number,
  times: readonly number[],
  followed: ReadonlySet<number>,
  toleranceMs: number,
): number {
  return times.findIndex((t, i) => !followed.has(i) && t >= due && t - due <= toleranceMs);
}

/** The recorded check times, each followed at most once, as the replay's clock moves on. */
export class ReplayClock {
  private readonly intervalMs: number;
  private readonly times: readonly number[];
  private readonly followed = new Set<number>();
  // A replayed check due within half an interval before a recorded one is taken at the recorded time: an
  // unchanged analysis then reads exactly the windows the controller read.
  private readonly toleranceMs: number;

  /** `recordedChecks` sorted by time */
  constructor(spec: EffectiveSpec, recordedChecks: readonly CheckRecord[]) {
    this.intervalMs = spec.analysis.intervalMs;
    this.times = recordedChecks.map((c) => Date.parse(c.time));
    this.toleranceMs = spec.analysis.intervalMs / 2;
  }

  /** The moment of the decision after the one taken at `now`, which left `status` and asked `requeueAfterMs`. */
  next(now: number, requeueAfterMs: number | undefined, status: CanaryStatus): number {
    const next = now + Math.max(requeueAfterMs ?? this.intervalMs, 1);
    if (next < analysisDueAt(status, this.intervalMs)) return next;
    // The controller's checks came a little after they were due: follow the recorded times.
    const i = recordedTimeNear(next, this.times, this.followed, this.toleranceMs);
    if (i < 0) return next;
    this.followed.add(i);
    return this.times[i] ?? next;
  }
}
