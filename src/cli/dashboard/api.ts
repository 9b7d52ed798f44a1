// The JSON the dashboard's page gets: built from the same pure views as `kubectl serin get`, `explain` and
// `history` (summary.ts, render-*.ts), with their text where the CLI has one, so the page and the terminal
// say the same thing. Charts get series: the weight over the run and every metric's values per check. Pure.
import type { Canary, ControlRecord } from "../../api/canary.js";
import { statusCode } from "../../kube/client.js";
import { type ControlResult, detail, outcomeOf } from "../control.js";
import { formatDuration, formatValue, PLAIN } from "../format.js";
import type { CanaryEvent } from "../kube.js";
import { type ExplainView, explainView } from "../render-explain.js";
import { checksText, harmDetail, harmText, nextText, phaseText, thresholdText } from "../render-get.js";
import { type HistoryView, historyView } from "../render-history.js";
import { type CanarySummary, summarize } from "../summary.js";

/** A Canary in the list: the summary and the CLI's table cells. */
export interface ListItem {
  key: string;
  summary: CanarySummary;
  text: { phase: string; lastCheck: string; next: string; harm: string };
}

export interface WeightPoint {
  time: string;
  weight: number;
}

export interface MetricPoint {
  time: string;
  canaryWeight: number;
  verdict: string;
  canary?: number;
  primary?: number;
  text: { canary: string; primary: string };
}

export interface MetricSeries {
  name: string;
  unit: string;
  min?: number;
  max?: number;
  threshold: string;
  points: MetricPoint[];
}

export interface DetailView {
  key: string;
  item: ListItem;
  text: { harm: string };
  weights: WeightPoint[];
  metrics: MetricSeries[];
  explain: ExplainView;
  history: HistoryView;
  events: CanaryEvent[];
  control?: ControlRecord;
}

/** "namespace/name": how the page and the server name a Canary. */
export const keyOf = (c: Canary): string => `${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`;

export function listItem(canary: Canary, now: Date): ListItem {
  const summary = summarize(canary, now);
  return {
    key: keyOf(canary),
    summary,
    text: {
      phase: phaseText(summary, PLAIN),
      lastCheck: checksText(summary.lastCheck, PLAIN),
      next: nextText(summary),
      harm: harmText(summary.harm),
    },
  };
}

/**
 * The weight over the run, as far as status tells it: every decision and check of the run carries the
 * weight it saw, and lastTransitionTime the current one. Only changes are kept (a step chart needs no more).
 */
export function weightSeries(canary: Canary, explain: ExplainView): WeightPoint[] {
  const status = canary.status ?? {};
  // A check is taken at the weight before the decision made on it, at the same time: checks come first.
  const points: WeightPoint[] = [
    ...explain.checks.map((c) => ({ time: c.time, weight: c.canaryWeight })),
    ...explain.decisions.map((d) => ({ time: d.time, weight: d.canaryWeight })),
  ];
  if (status.lastTransitionTime)
    points.push({ time: status.lastTransitionTime, weight: status.canaryWeight ?? 0 });
  points.sort((a, b) => Date.parse(a.time) - Date.parse(b.time)); // stable: ties keep that order
  return points.filter((p, i) => i === 0 || points[i - 1]?.weight !== p.weight);
}

/** Each metric's canary and primary values over the run's checks, with its threshold. */
export function metricSeries(explain: ExplainView): MetricSeries[] {
  const byName = new Map<string, MetricSeries>();
  for (const check of explain.checks)
    for (const m of check.metrics) {
      let series = byName.get(m.name);
      if (series === undefined) {
        series = {
          name: m.name,
          unit: m.unit,
          ...(m.min !== undefined ? { min: m.min } : {}),
          ...(m.max !== undefined ? { max: m.max } : {}),
          threshold: thresholdText(m),
          points: [],
        };
        byName.set(m.name, series);
      }
      series.points.push({
        time: check.time,
        canaryWeight: check.canaryWeight,
        verdict: m.verdict,
        ...(m.canary !== undefined && Number.isFinite(m.canary) ? { canary: m.canary } : {}),
        ...(m.primary !== undefined && Number.isFinite(m.primary) ? { primary: m.primary } : {}),
        text: { canary: formatValue(m.canary, m.unit), primary: formatValue(m.primary, m.unit) },
      });
    }
  return [...byName.values()];
}

/** The newest Events first, at most `limit`. */
export function latestEvents(events: readonly CanaryEvent[], limit = 30): CanaryEvent[] {
  return [...events].sort((a, b) => Date.parse(b.time) - Date.parse(a.time)).slice(0, limit);
}

export function detailView(canary: Canary, events: readonly CanaryEvent[], now: Date): DetailView {
  const item = listItem(canary, now);
  const explain = explainView(canary, now);
  const control = canary.status?.control;
  return {
    key: item.key,
    item,
    text: { harm: harmDetail(item.summary.harm) },
    weights: weightSeries(canary, explain),
    metrics: metricSeries(explain),
    explain,
    history: historyView(canary, now),
    events: latestEvents(events),
    ...(control ? { control } : {}),
  };
}

/** The answer to a button: HTTP status and what the page shows (the same words as the CLI's). */
export interface ControlAnswer {
  status: number;
  body: {
    action: string;
    id: string;
    outcome?: "done" | "pending" | "ignored";
    message?: string;
    control?: ControlRecord;
    error?: string;
  };
}

/** How a control request ended, for the page; `describe` says an API error as the CLI would. */
export function controlAnswer(
  action: string,
  name: string,
  waitMs: number,
  r: ControlResult,
  describe: (err: unknown, verb: "patch" | "get") => string,
): ControlAnswer {
  const body = { action, id: r.id };
  switch (r.kind) {
    case "refused":
      return { status: statusCode(r.error) ?? 502, body: { ...body, error: describe(r.error, "patch") } };
    case "unreadable":
      return {
        status: statusCode(r.error) ?? 502,
        body: {
          ...body,
          error: `${action} requested (id ${r.id}), but reading the answer failed: ${describe(r.error, "get")}`,
        },
      };
    case "timeout":
    case "not-waited":
      return {
        status: 504,
        body: {
          ...body,
          error: `${action} requested (id ${r.id}), but the controller did not answer within ${formatDuration(waitMs / 1000)}: is Serin running? The request stays on the Canary until the controller reads it.`,
        },
      };
    case "answered": {
      const outcome = outcomeOf(r.control.result);
      const message =
        outcome === "done"
          ? `${action} ${name}: done`
          : `${action} ${name}: ${outcome}: ${detail(r.control.result, outcome)}`;
      return { status: 200, body: { ...body, outcome, message, control: r.control } };
    }
  }
}
