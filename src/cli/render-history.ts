// `kubectl serin history NAME`: the past runs kept in status.history, oldest first, and the run under way
// (if any) as the last line. Pure.
import type { Canary, HistoryEntry } from "../api/canary.js";
import { HISTORY_SIZE } from "../core/history.js";
import { count, dateTime, formatDuration, PLAIN, type Style, shortImage, table, truncate } from "./format.js";
import { summarize } from "./summary.js";

export interface HistoryView {
  name: string;
  namespace: string;
  runs: HistoryEntry[];
  /** the run under way, when there is one */
  current?: {
    revision: string;
    image?: string;
    phase: string;
    startedAt?: string;
    canaryWeight: number;
    canary?: { requests: number; errors: number; slow?: number };
  };
  /** older runs were dropped: status keeps HISTORY_SIZE */
  mayBeMissing: boolean;
}

const RUNNING = ["Progressing", "WaitingPromotion", "Promoting", "Finalising"];

export function historyView(canary: Canary, now: Date): HistoryView {
  const s = summarize(canary, now);
  const runs = [...(canary.status?.history ?? [])].sort((a, b) => a.run - b.run);
  const current =
    RUNNING.includes(s.phase) && s.revision !== undefined
      ? {
          revision: s.revision,
          ...(s.image ? { image: s.image } : {}),
          phase: s.phase,
          ...(s.trafficSince ? { startedAt: s.trafficSince } : {}),
          canaryWeight: s.canaryWeight,
          ...(s.harm
            ? {
                canary: {
                  requests: s.harm.requests,
                  errors: s.harm.failed,
                  ...(s.harm.slow !== undefined ? { slow: s.harm.slow } : {}),
                },
              }
            : {}),
        }
      : undefined;
  return {
    name: s.name,
    namespace: s.namespace,
    runs,
    ...(current ? { current } : {}),
    mayBeMissing: runs.length >= HISTORY_SIZE && (runs[0]?.run ?? 1) > 1,
  };
}

function outcomeText(outcome: string, st: Style): string {
  if (outcome === "Failed") return st.red(outcome);
  if (outcome === "Succeeded") return st.green(outcome);
  return st.yellow(outcome);
}

export function renderHistory(v: HistoryView, now: Date, st: Style = PLAIN, reasonWidth = 80): string {
  if (v.runs.length === 0 && v.current === undefined)
    return `No past runs of canary ${v.name} in namespace ${v.namespace}.\n`;
  const head = [
    "RUN",
    "REVISION",
    "IMAGE",
    "OUTCOME",
    "STARTED",
    "DURATION",
    "WEIGHT",
    "REQUESTS",
    "FAILED",
    "SLOW",
    "REASON",
  ];
  const rows = v.runs.map((r) => [
    String(r.run),
    r.revision,
    r.image ? shortImage(r.image) : "-",
    outcomeText(r.outcome, st),
    dateTime(r.startedAt),
    r.durationSeconds !== undefined ? formatDuration(r.durationSeconds) : "-",
    String(r.canaryWeight),
    r.canary ? count(r.canary.requests) : "-",
    r.canary ? count(r.canary.errors) : "-",
    r.canary?.slow !== undefined ? count(r.canary.slow) : "-",
    truncate(r.reason, reasonWidth),
  ]);
  if (v.current) {
    const c = v.current;
    const started = c.startedAt ? Date.parse(c.startedAt) : Number.NaN;
    rows.push([
      "-",
      c.revision,
      c.image ? shortImage(c.image) : "-",
      st.yellow(`${c.phase} (now)`),
      dateTime(c.startedAt),
      Number.isNaN(started) ? "-" : formatDuration((now.getTime() - started) / 1000),
      String(c.canaryWeight),
      c.canary ? count(c.canary.requests) : "-",
      c.canary ? count(c.canary.errors) : "-",
      c.canary?.slow !== undefined ? count(c.canary.slow) : "-",
      "under way: kubectl serin get / explain",
    ]);
  }
  const lines = table([head, ...rows]);
  if (v.mayBeMissing)
    lines.push(st.dim(`(older runs were dropped: status keeps the latest ${HISTORY_SIZE})`));
  return `${lines.join("\n")}\n`;
}
