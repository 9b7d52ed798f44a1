// What `kubectl serin replay` prints: the run, what was edited and assumed, one line per step of the
// replayed run beside the recorded check taken at the same moment (a `*` where they differ), and how each
// ended. `-o json` prints the same view as data. Pure.
import type { MetricCheck } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";
import { dateTime, formatDuration, PLAIN, type Style, shortImage, table, truncate } from "../format.js";
import { compactMetric } from "../render-get.js";
import { metricSummary } from "../summary.js";
import type { AppliedEdit } from "./spec-edit.js";
import type { RecordedRun, ReplayEnd, ReplayResult, ReplayStep } from "./types.js";

export interface ReplayView {
  namespace: string;
  name: string;
  run: Omit<RecordedRun, "checks" | "weights"> & { recordedChecks: number };
  prometheus: string;
  judge: { mode: string; assumed?: string };
  edits: AppliedEdit[];
  /** what the replay assumed or could not know, in words */
  notes: string[];
  steps: ReplayStep[];
  end: ReplayEnd;
  recordedEnd: ReplayResult["recordedEnd"];
  sameOutcome: boolean;
  decisions: number;
}

export function replayView(
  ref: { namespace: string; name: string },
  run: RecordedRun,
  result: ReplayResult,
  extra: { prometheus: string; judge: ReplayView["judge"]; edits: AppliedEdit[]; notes: string[] },
): ReplayView {
  const { checks, weights: _w, ...rest } = run;
  return {
    namespace: ref.namespace,
    name: ref.name,
    run: { ...rest, recordedChecks: checks.length },
    prometheus: extra.prometheus,
    judge: extra.judge,
    edits: extra.edits,
    notes: extra.notes,
    steps: result.steps,
    end: result.end,
    recordedEnd: result.recordedEnd,
    sameOutcome: result.sameOutcome,
    decisions: result.decisions,
  };
}

const show = (v: unknown): string => (v === undefined ? "(unset)" : JSON.stringify(v));

const offsetText = (seconds: number): string => `+${formatDuration(seconds)}`;

const checks = (n: number | undefined): string =>
  n === undefined ? "" : `, ${n} failed check${n === 1 ? "" : "s"}`;

/** "Failed at +1m20s (weight 20, 2 failed checks)" */
export function endText(
  e: { outcome: string; offsetSeconds: number; canaryWeight: number; failedChecks?: number },
  recorded: boolean,
): string {
  if (e.outcome === "Running")
    return `${recorded ? "still running" : "would still be running"} at ${offsetText(e.offsetSeconds)}${recorded ? " (now)" : " (the recorded end)"}: weight ${e.canaryWeight}${checks(e.failedChecks)}`;
  if (e.outcome === "Superseded")
    return `Superseded by a newer revision at ${offsetText(e.offsetSeconds)} (weight ${e.canaryWeight}${checks(e.failedChecks)})`;
  const verb = e.outcome === "Succeeded" && !recorded ? "Succeeded (promotion starts)" : e.outcome;
  return `${verb} at ${offsetText(e.offsetSeconds)} (weight ${e.canaryWeight}${checks(e.failedChecks)})`;
}

function metricsText(metrics: readonly MetricCheck[], spec: EffectiveSpec | undefined, st: Style): string {
  return metrics.map((m) => compactMetric(metricSummary(m, spec), st)).join(" ");
}

function verdictText(v: string | undefined, st: Style): string {
  if (v === "failed") return st.red(v);
  if (v === "held") return st.yellow(v);
  return v ?? "-";
}

function replayedText(s: ReplayStep, st: Style): string {
  if (s.kind === "recorded-only") return "-";
  if (s.kind === "step") return `step to ${s.nextWeight}`;
  if (s.kind === "look") return st.red("rollback (look)");
  const then =
    s.phase === "Failed"
      ? " > rollback"
      : s.phase === "Promoting" || s.phase === "Succeeded" || s.phase === "Finalising"
        ? " > promote"
        : s.nextWeight !== s.weight
          ? ` > ${s.nextWeight}`
          : "";
  return `${verdictText(s.verdict, st)}${then}`;
}

function weightText(s: ReplayStep): string {
  if (s.kind === "recorded-only") return `(${s.weight})`;
  const data = s.recordedWeight;
  return data !== undefined && data !== s.weight ? `${s.weight} (data: ${data})` : String(s.weight);
}

export function renderReplay(
  v: ReplayView,
  spec: EffectiveSpec | undefined,
  st: Style = PLAIN,
  reasonWidth = 110,
): string {
  const out = [...headerLines(v, st), ""];
  out.push(...table([STEP_HEAD, ...v.steps.map((s) => stepRow(s, spec, st, reasonWidth))]));
  if (v.steps.length === 0) out.push("(no step: the run ended before its first decision)");
  out.push("", ...endLines(v, st));
  return `${out.join("\n")}\n`;
}

/** The run, the analysis as edited, the judge, Prometheus, and the notes. */
function headerLines(v: ReplayView, st: Style): string[] {
  const r = v.run;
  const runName = r.number !== undefined ? `run ${r.number}` : "the run under way";
  const seconds = (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000;
  return [
    `Replay of canary ${v.name} in namespace ${v.namespace}, ${runName}: ${r.image ? `${shortImage(r.image)} ` : ""}(revision ${r.revision})`,
    `Run:         ${dateTime(r.startedAt)} to ${dateTime(r.endedAt)} (${formatDuration(seconds)}), ${r.recordedChecks} recorded check${r.recordedChecks === 1 ? "" : "s"} in status`,
    v.edits.length === 0
      ? "Analysis:    as the Canary has it now (no --set)"
      : `Analysis:    edited: ${v.edits.map((e) => `${e.path} ${show(e.before)} -> ${show(e.after)}`).join(", ")}`,
    `Judge:       ${v.judge.mode}${v.judge.assumed ? ` (${v.judge.assumed})` : ""}`,
    `Prometheus:  ${v.prometheus} (each step's queries evaluated at its time)`,
    ...v.notes.map((note) => st.dim(`Note: ${note}`)),
  ];
}

const STEP_HEAD = ["", "TIME", "WEIGHT", "RECORDED", "REPLAYED", "CHECK", "REASON"];

/** One step's line: `*` where it differs, the recorded check beside the replayed decision. */
function stepRow(s: ReplayStep, spec: EffectiveSpec | undefined, st: Style, reasonWidth: number): string[] {
  return [
    s.differs ? st.bold("*") : "",
    offsetText(s.offsetSeconds),
    weightText(s),
    s.recorded
      ? `${verdictText(s.recorded.verdict, st)}${s.recorded.canaryWeight !== s.weight ? ` at ${s.recorded.canaryWeight}` : ""}`
      : "-",
    replayedText(s, st),
    s.kind === "recorded-only"
      ? st.dim(metricsText(s.recorded?.metrics ?? [], spec, PLAIN))
      : metricsText(s.metrics, spec, st),
    truncate(s.reason, reasonWidth),
  ];
}

/** How each run ended, whether the outcomes match, and how many steps differ. */
function endLines(v: ReplayView, st: Style): string[] {
  const out = [
    `Recorded: ${endText(v.recordedEnd, true)}`,
    `Replayed: ${endText(v.end, false)}`,
    v.sameOutcome ? st.green("Same outcome") : st.yellow("Different outcome"),
  ];
  const differing = v.steps.filter((s) => s.differs).length;
  if (differing > 0)
    out.push(
      st.dim(`(${differing} step${differing === 1 ? "" : "s"} marked * differ from the recorded run)`),
    );
  return out;
}
