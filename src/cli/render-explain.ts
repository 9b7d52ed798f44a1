// `kubectl serin explain NAME`: every decision of the current or last run, with the checks' numbers beside
// them, in time order. Reads status.decisions (bounded: DECISION_LOG_SIZE) and status.run.checks (bounded:
// RUN_CHECKS_KEPT), and says so when older records of the run were dropped. Pure.
import type { Canary, DecisionRecord } from "../api/canary.js";
import { DECISION_LOG_SIZE } from "../core/decision-log.js";
import { RUN_CHECKS_KEPT } from "../core/evidence/run.js";
import { clock, dateTime, formatDuration, PLAIN, type Style, shortImage } from "./format.js";
import { checkHeadline, harmDetail, metricTable } from "./render-get.js";
import { type CheckSummary, checkSummary, effectiveSpec, summarize } from "./summary.js";

export interface ExplainView {
  name: string;
  namespace: string;
  phase: string;
  /** whether the run is still under way or ended (its last decision ended it) */
  state: "running" | "ended" | "none";
  revision?: string;
  image?: string;
  trafficSince?: string;
  harm?: ReturnType<typeof summarize>["harm"];
  decisions: DecisionRecord[];
  checks: CheckSummary[];
  /** older decisions or checks of this run may have been dropped from the bounded logs */
  decisionsMayBeMissing: boolean;
  checksMayBeMissing: boolean;
}

const TERMINAL = ["Succeeded", "Failed"];

/**
 * The decisions of the current or last run: those after the previous run's end (a Succeeded or Failed
 * record). When the log's last record ended a run, that run is the last one.
 */
export function runDecisions(decisions: readonly DecisionRecord[]): {
  records: DecisionRecord[];
  complete: boolean;
} {
  const sorted = [...decisions].sort((a, b) => a.seq - b.seq);
  const endsRun = (d: DecisionRecord | undefined) => d !== undefined && TERMINAL.includes(d.phase);
  const lastIndex = sorted.length - 1;
  const searchTo = endsRun(sorted[lastIndex]) ? lastIndex - 1 : lastIndex;
  let start = 0;
  for (let i = searchTo; i >= 0; i--)
    if (endsRun(sorted[i])) {
      start = i + 1;
      break;
    }
  // No earlier end in a full log: the run's first decisions may have been dropped.
  const complete = start > 0 || sorted.length < DECISION_LOG_SIZE;
  return { records: sorted.slice(start), complete };
}

export function explainView(canary: Canary, now: Date): ExplainView {
  const s = summarize(canary, now);
  const spec = effectiveSpec(canary);
  const status = canary.status ?? {};
  const { records, complete } = runDecisions(status.decisions ?? []);
  const checks = (status.run?.checks ?? []).map((c) => checkSummary(c, spec));
  const ended = TERMINAL.includes(s.phase);
  return {
    name: s.name,
    namespace: s.namespace,
    phase: s.phase,
    state: status.run === undefined && records.length === 0 ? "none" : ended ? "ended" : "running",
    ...(s.revision !== undefined ? { revision: s.revision } : {}),
    ...(s.image !== undefined ? { image: s.image } : {}),
    ...(s.trafficSince !== undefined ? { trafficSince: s.trafficSince } : {}),
    ...(s.harm !== undefined ? { harm: s.harm } : {}),
    decisions: records,
    checks,
    decisionsMayBeMissing: !complete,
    checksMayBeMissing: checks.length >= RUN_CHECKS_KEPT,
  };
}

type Item = { time: number; order: number } & (
  | { kind: "decision"; d: DecisionRecord }
  | { kind: "check"; c: CheckSummary }
);

export function renderExplain(v: ExplainView, st: Style = PLAIN): string {
  const out: string[] = [];
  const who = v.image
    ? `${shortImage(v.image)} (revision ${v.revision ?? "?"})`
    : `revision ${v.revision ?? "?"}`;
  out.push(st.bold(`Canary ${v.name}.${v.namespace}: ${v.phase}`));
  if (v.state === "none") {
    out.push("No run yet: the controller has not started analysing a revision of this Canary.");
    return `${out.join("\n")}\n`;
  }
  out.push(`${v.state === "running" ? "Current run" : "Last run"}: ${who}`);
  if (v.trafficSince) out.push(`Traffic since ${dateTime(v.trafficSince)}`);
  out.push(`Harm: ${harmDetail(v.harm)}`);
  out.push("");
  if (v.decisionsMayBeMissing)
    out.push(
      st.dim(`(earlier decisions of this run were dropped: status keeps the latest ${DECISION_LOG_SIZE})`),
    );
  if (v.checksMayBeMissing)
    out.push(st.dim(`(earlier checks of this run were dropped: status keeps the latest ${RUN_CHECKS_KEPT})`));

  const items: Item[] = [
    ...v.decisions.map((d, i) => ({
      kind: "decision" as const,
      d,
      time: Date.parse(d.time),
      order: 2 * i + 1,
    })),
    ...v.checks.map((c, i) => ({ kind: "check" as const, c, time: Date.parse(c.time), order: 2 * i })),
  ];
  // A check comes before the decision made on it (same time): checks sort first on ties.
  items.sort(
    (a, b) => a.time - b.time || (a.kind === b.kind ? a.order - b.order : a.kind === "check" ? -1 : 1),
  );
  const start = items[0]?.time;
  const offset = (t: number) =>
    start === undefined || Number.isNaN(t) || Number.isNaN(start)
      ? ""
      : ` +${formatDuration((t - start) / 1000)}`;
  if (items.length === 0) out.push("No decisions or checks recorded for this run yet.");
  for (const item of items) {
    if (item.kind === "decision") {
      const d = item.d;
      const warn = d.events.some((e) => e.type === "Warning");
      const label = `${clock(d.time)}${offset(item.time)}  #${d.seq} ${d.phase} weight ${d.canaryWeight}`;
      out.push(warn ? st.red(label) : st.bold(label));
      out.push(`    ${d.reason}`);
    } else {
      out.push(
        `${clock(item.c.time)}${offset(item.time)}  check ${checkHeadline(item.c, st).replace(/^\S+ \S+ /, "")}`,
      );
      if (item.c.metrics.length > 0) out.push(...metricTable(item.c, st, "    "));
    }
  }
  return `${out.join("\n")}\n`;
}
