// The run history: one entry per ended run, kept in status.history (bounded), appended by the decision that
// ends the run, in the same status write. It survives controller restarts with the Canary itself, needs no
// extra objects or RBAC, and is read by `kubectl serin history` (and replay's --run K). Pure.
import type { CanaryPhase, CanaryStatus, HistoryEntry, RunRecord } from "../api/canary.js";

/** Runs kept: ten entries of ~0.5 KB each keep the Canary far below etcd's object size limit. */
export const HISTORY_SIZE = 10;

/** A reason longer than this is cut: a long check summary must not grow status without bound. */
export const HISTORY_REASON_MAX = 512;

/** Phases in which a run is under way; a run can only end from one of these. */
const RUNNING: readonly CanaryPhase[] = ["Progressing", "WaitingPromotion", "Promoting", "Finalising"];

export interface RunEnd {
  /** why the run ended, as the decision says it */
  reason: string;
  now: Date;
  /** Superseded when a new revision restarts the analysis; otherwise taken from the next phase */
  outcome?: HistoryEntry["outcome"];
}

/**
 * The next status with the run that `before` was running recorded in its history, when this decision ends
 * it: `after` is Succeeded or Failed (or `end.outcome` says Superseded) and `before` was running. Otherwise,
 * or when the run is already recorded, `after` is returned unchanged, so recording the same end twice is
 * harmless. The run's counts are taken from `after` when it still describes the same run (a rollback may
 * update them), else from `before`.
 */
export function withRunEnded(before: CanaryStatus, after: CanaryStatus, end: RunEnd): CanaryStatus {
  const outcome = end.outcome ?? terminalOutcome(after.phase);
  if (outcome === undefined || !RUNNING.includes(before.phase ?? "")) return after;
  const run = endedRun(before, after);
  if (run === undefined) return after;
  const history = after.history ?? [];
  if (history.some((h) => sameRun(h, run, end.now))) return after;
  const entry = historyEntry(run, {
    number: Math.max(0, ...history.map((h) => h.run)) + 1,
    outcome,
    // The weight the run reached, not the 0 the ending step routes back to.
    canaryWeight: before.canaryWeight ?? 0,
    failedChecks: after.failedChecks ?? before.failedChecks,
    reason: end.reason,
    now: end.now,
  });
  return { ...after, history: [...history, entry].slice(-HISTORY_SIZE) };
}

function terminalOutcome(phase: CanaryPhase | undefined): HistoryEntry["outcome"] | undefined {
  return phase === "Succeeded" || phase === "Failed" ? phase : undefined;
}

/**
 * The run that ended: the revision `before` was analysing (lastAppliedSpec), with the record from `after`
 * when it still describes that revision (a rollback may update its counts), else from `before`. A record of
 * another revision (left from an older run) is not this run's: the entry then has the revision alone.
 */
function endedRun(before: CanaryStatus, after: CanaryStatus): RunRecord | undefined {
  const revision = before.lastAppliedSpec ?? before.run?.revision;
  if (revision === undefined) return undefined;
  if (after.run?.revision === revision) return after.run;
  if (before.run?.revision === revision) return before.run;
  return { revision };
}

/**
 * The same run: same revision and same traffic start (a retry of a revision starts its traffic anew). A run
 * that never had traffic has no start: it is the same only if recorded by this very decision (same end time).
 */
function sameRun(entry: HistoryEntry, run: RunRecord, now: Date): boolean {
  if (entry.revision !== run.revision || entry.startedAt !== run.trafficSince) return false;
  return run.trafficSince !== undefined || entry.endedAt === now.toISOString();
}

interface EntryFacts {
  number: number;
  outcome: HistoryEntry["outcome"];
  canaryWeight: number;
  failedChecks: number | undefined;
  reason: string;
  now: Date;
}

export function historyEntry(run: RunRecord, f: EntryFacts): HistoryEntry {
  const started = run.trafficSince ? Date.parse(run.trafficSince) : Number.NaN;
  const duration = Number.isNaN(started) ? undefined : Math.max(0, (f.now.getTime() - started) / 1000);
  return {
    run: f.number,
    revision: run.revision,
    ...(run.image ? { image: run.image } : {}),
    outcome: f.outcome,
    ...(run.trafficSince ? { startedAt: run.trafficSince } : {}),
    endedAt: f.now.toISOString(),
    ...(duration !== undefined ? { durationSeconds: Math.round(duration) } : {}),
    canaryWeight: f.canaryWeight,
    ...(f.failedChecks !== undefined ? { failedChecks: f.failedChecks } : {}),
    ...(run.canary ? { canary: { ...run.canary } } : {}),
    ...(run.slowerThanMs !== undefined ? { slowerThanMs: run.slowerThanMs } : {}),
    reason: shorten(f.reason, HISTORY_REASON_MAX),
  };
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
