// Which run `kubectl serin replay` re-decides, and what status recorded of it: the history entry (`--run
// K`, default the latest), the run under way (`--run current`), its checks when status still holds them
// (status.run of the last run, bounded), and its weights over time from the decision log. Pure.
import type { Canary, HistoryEntry } from "../../api/canary.js";
import { RUN_CHECKS_KEPT } from "../../core/evidence/run.js";
import { CliError } from "../errors.js";
import type { RecordedRun } from "./types.js";

/** `--run K` (a history entry's number) or `--run current` (the run under way); undefined: the latest. */
export type RunChoice = number | "current" | undefined;

const RUNNING = ["Progressing", "WaitingPromotion", "Promoting", "Finalising"];

function available(history: readonly HistoryEntry[], running: boolean): string {
  const numbers = history.map((h) => h.run);
  const kept = numbers.length === 0 ? "none" : numbers.join(", ");
  return `runs kept in status.history: ${kept}${running ? "; the run under way: --run current" : ""}`;
}

/** The run `choice` names (the latest history entry by default), as status recorded it. */
export function recordedRun(canary: Canary, choice: RunChoice, now: Date): RecordedRun {
  const status = canary.status ?? {};
  const history = [...(status.history ?? [])].sort((a, b) => a.run - b.run);
  const running = RUNNING.includes(status.phase ?? "") && status.run?.trafficSince !== undefined;
  // Without a finished run, the run under way is the latest.
  if (choice === "current" || (choice === undefined && history.length === 0 && running))
    return runUnderWay(canary, history, running, now);
  return finishedRun(canary, history, running, choice);
}

/** `--run current`: the run under way, up to `now`. */
function runUnderWay(
  canary: Canary,
  history: readonly HistoryEntry[],
  running: boolean,
  now: Date,
): RecordedRun {
  const status = canary.status ?? {};
  const live = status.run;
  if (!running || live?.trafficSince === undefined)
    throw new CliError(
      `canary ${canary.metadata.name ?? ""} has no run under way with traffic (phase ${status.phase || "none"}); ${available(history, false)}`,
    );
  const checks = live.checks ?? [];
  return {
    revision: live.revision,
    ...(live.image ? { image: live.image } : {}),
    startedAt: live.trafficSince,
    endedAt: now.toISOString(),
    outcome: "Running",
    canaryWeight: status.canaryWeight ?? 0,
    failedChecks: status.failedChecks ?? 0,
    checks,
    checksComplete: checks.length < RUN_CHECKS_KEPT,
    weights: weightsBetween(canary, live.trafficSince, now.toISOString()),
  };
}

/** `--run K` (or the latest entry): a run of status.history, with its checks while status.run still holds them. */
function finishedRun(
  canary: Canary,
  history: readonly HistoryEntry[],
  running: boolean,
  choice: number | undefined,
): RecordedRun {
  const entry = historyEntry(canary, history, running, choice);
  const live = canary.status?.run;
  // status.run still describes this run when it is the last one: same revision, same traffic start.
  const same =
    live !== undefined && live.revision === entry.revision && live.trafficSince === entry.startedAt;
  const checks = same ? (live.checks ?? []) : [];
  return {
    number: entry.run,
    revision: entry.revision,
    ...(entry.image ? { image: entry.image } : {}),
    startedAt: entry.startedAt,
    endedAt: entry.endedAt,
    outcome: entry.outcome,
    canaryWeight: entry.canaryWeight,
    ...(entry.failedChecks !== undefined ? { failedChecks: entry.failedChecks } : {}),
    reason: entry.reason,
    checks,
    checksComplete: same && checks.length < RUN_CHECKS_KEPT,
    weights: weightsBetween(canary, entry.startedAt, entry.endedAt),
  };
}

/** The history entry `choice` names, refused when there is none or it never sent traffic to the canary. */
function historyEntry(
  canary: Canary,
  history: readonly HistoryEntry[],
  running: boolean,
  choice: number | undefined,
): HistoryEntry & { startedAt: string } {
  const name = canary.metadata.name ?? "";
  const entry = choice === undefined ? history.at(-1) : history.find((h) => h.run === choice);
  if (entry === undefined)
    throw new CliError(
      choice === undefined
        ? `canary ${name} has no finished run to replay yet; ${available(history, running)}`
        : `canary ${name} has no run ${choice}; ${available(history, running)}`,
    );
  const { startedAt } = entry;
  if (startedAt === undefined)
    throw new CliError(
      `run ${entry.run} of canary ${name} never sent traffic to the canary (${entry.outcome}: ${entry.reason}): there is nothing to replay`,
    );
  return { ...entry, startedAt };
}

/** The canary weight set by each logged decision between `from` and `to` (the decision log is bounded). */
function weightsBetween(canary: Canary, from: string, to: string): RecordedRun["weights"] {
  const a = Date.parse(from);
  const b = Date.parse(to);
  return (canary.status?.decisions ?? [])
    .filter((d) => {
      const t = Date.parse(d.time);
      return t >= a && t <= b;
    })
    .sort((x, y) => x.seq - y.seq)
    .map((d) => ({ time: d.time, weight: d.canaryWeight }));
}
