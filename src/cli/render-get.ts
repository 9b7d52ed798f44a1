// `kubectl serin get`: the table of Canaries, and the detail view of one. Pure: summaries in, text out.
import {
  count,
  dateTime,
  formatDuration,
  formatValue,
  PLAIN,
  type Style,
  shortImage,
  table,
  truncate,
  weightBar,
} from "./format.js";
import type { CanarySummary, CheckSummary, HarmSummary, MetricSummary } from "./summary.js";

const SHORT_NAMES: Record<string, string> = { "request-success-rate": "success", "request-duration": "p99" };

export function phaseText(s: CanarySummary, st: Style): string {
  const text = s.suspended ? `${s.phase} (suspended)` : s.paused ? `${s.phase} (paused)` : s.phase;
  if (s.notReady) return st.red(`${text} (${s.notReady.reason})`);
  if (s.phase === "Failed") return st.red(text);
  if (s.phase === "Succeeded" || s.phase === "Initialized") return st.green(text);
  if (s.phase === "Waiting" || s.phase === "WaitingPromotion") return st.yellow(text);
  return text;
}

export function weightText(s: CanarySummary): string {
  const bar = weightBar(s.canaryWeight, s.maxWeight);
  return s.iterations ? `${bar} iter ${s.iterations.done}/${s.iterations.total}` : bar;
}

/** "in 12s", "due now", "-" */
export function nextText(s: CanarySummary): string {
  if (s.nextStepInSeconds === undefined) return "-";
  return s.nextStepInSeconds > 0 ? `in ${formatDuration(s.nextStepInSeconds)}` : "due now";
}

/** The comparison a metric's verdict made: ">= 99", "<= 500", "99..100". */
export function thresholdText(m: MetricSummary): string {
  if (m.min !== undefined && m.max !== undefined) return `${m.min}..${m.max}`;
  if (m.min !== undefined) return `>= ${m.min}`;
  if (m.max !== undefined) return `<= ${m.max}`;
  return "-";
}

/** "success 99.20%>=99", "p99 612ms<=500!", "errors -?" — compact, for the table. */
export function compactMetric(m: MetricSummary, st: Style): string {
  const name = SHORT_NAMES[m.name] ?? m.name;
  const threshold = thresholdText(m).replace(" ", "");
  const text = `${name} ${formatValue(m.canary, m.unit)}${threshold === "-" ? "" : threshold}`;
  if (m.verdict === "failed") return st.red(`${text}!`);
  if (m.verdict === "held") return st.yellow(`${text}?`);
  return text;
}

export function checksText(check: CheckSummary | undefined, st: Style): string {
  if (check === undefined) return "-";
  if (check.metrics.length === 0) return check.verdict;
  return check.metrics.map((m) => compactMetric(m, st)).join(" ");
}

export function harmText(h: HarmSummary | undefined): string {
  if (h === undefined) return "-";
  const slow = h.slow !== undefined ? `, ${count(h.slow)} slow` : "";
  return `${count(h.requests)} req, ${count(h.failed)} failed${slow}`;
}

/** The table of `kubectl serin get` (with a NAMESPACE column for -A). */
export function renderTable(
  summaries: readonly CanarySummary[],
  allNamespaces: boolean,
  st: Style = PLAIN,
): string {
  const head = ["NAME", "PHASE", "WEIGHT", "LAST CHECK", "NEXT STEP", "HARM"];
  const rows = summaries.map((s) => [
    s.name,
    phaseText(s, st),
    weightText(s),
    checksText(s.lastCheck, st),
    nextText(s),
    harmText(s.harm),
  ]);
  const all = [head, ...rows].map((r, i) =>
    allNamespaces ? [i === 0 ? "NAMESPACE" : (summaries[i - 1]?.namespace ?? ""), ...r] : r,
  );
  return `${table(all).join("\n")}\n`;
}

function requestsText(m: MetricSummary): string {
  if (m.canaryRequests === undefined && m.primaryRequests === undefined) return "-";
  const c = m.canaryRequests === undefined ? "-" : count(m.canaryRequests);
  const p = m.primaryRequests === undefined ? "-" : count(m.primaryRequests);
  return `${c} / ${p}`;
}

/** A check's metrics as a table: canary and primary values, threshold, requests, window, verdict. */
export function metricTable(check: CheckSummary, st: Style, indent = "  "): string[] {
  const head = ["METRIC", "CANARY", "PRIMARY", "THRESHOLD", "REQUESTS (C/P)", "WINDOW", "VERDICT"];
  const rows = check.metrics.map((m) => [
    m.name,
    formatValue(m.canary, m.unit),
    formatValue(m.primary, m.unit),
    thresholdText(m),
    requestsText(m),
    m.window ?? "-",
    m.verdict === "failed" ? st.red("failed") : m.verdict === "held" ? st.yellow("held") : st.green("passed"),
  ]);
  const lines = table([head, ...rows]).map((l) => indent + l);
  for (const m of check.metrics)
    if (m.message && m.verdict !== "passed") lines.push(`${indent}${m.name}: ${truncate(m.message, 200)}`);
  return lines;
}

export function checkHeadline(check: CheckSummary, st: Style): string {
  const verdict =
    check.verdict === "failed"
      ? st.red("failed")
      : check.verdict === "held"
        ? st.yellow(`held${check.hold ? ` (${check.hold})` : ""}`)
        : st.green("passed");
  return `${dateTime(check.time)} at weight ${check.canaryWeight}: ${verdict}`;
}

/** The detail view of `kubectl serin get NAME`. */
export function renderDetail(s: CanarySummary, st: Style = PLAIN): string {
  const field = (label: string, value: string) => `${st.bold(`${label}:`.padEnd(13))}${value}`;
  const lines = [field("Name", s.name), field("Namespace", s.namespace)];
  lines.push(field("Phase", `${phaseText(s, st)}   failed checks ${s.failedChecks}/${s.threshold}`));
  lines.push(field("Strategy", s.strategy));
  if (s.revision !== undefined)
    lines.push(field("Revision", s.image ? `${s.revision} (${shortImage(s.image)})` : s.revision));
  lines.push(field("Weight", `${weightText(s)}   next step ${nextText(s)}`));
  if (s.trafficSince) lines.push(field("Traffic", `since ${dateTime(s.trafficSince)}`));
  lines.push(field("Harm", harmDetail(s.harm)));
  if (s.notReady) lines.push(field("Not ready", st.red(`${s.notReady.reason}: ${s.notReady.message}`)));
  if (s.message) lines.push(field("Last step", s.message));
  if (s.lastCheck) {
    lines.push(field("Last check", checkHeadline(s.lastCheck, st)));
    if (s.lastCheck.metrics.length > 0) lines.push(...metricTable(s.lastCheck, st));
  } else {
    lines.push(field("Last check", "none yet"));
  }
  return `${lines.join("\n")}\n`;
}

export function harmDetail(h: HarmSummary | undefined): string {
  if (h === undefined) return "nothing counted yet";
  const share =
    h.requests > 0 ? ` (${((100 * h.failed) / h.requests).toFixed(h.failed === 0 ? 0 : 2)}%)` : "";
  const slow =
    h.slow !== undefined
      ? `, ${count(h.slow)} slower than ${h.slowerThanMs !== undefined ? `${h.slowerThanMs}ms` : "the threshold"}`
      : "";
  return `canary served ${count(h.requests)} requests, ${count(h.failed)} failed${share}${slow}`;
}
