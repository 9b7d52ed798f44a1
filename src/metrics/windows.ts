// The Prometheus ranges a run's checks read. A window never reaches back before the moment the
// revision under test began receiving traffic: the canary workload keeps its name across revisions,
// so anything older would be an earlier revision's requests counted as this one's.
import type { RunRecord } from "../api/canary.js";

export interface Window {
  /** whole seconds, at least 1 */
  seconds: number;
  /** the PromQL range, e.g. "37s" */
  text: string;
}

/** Rounded down: a window rounded up would reach back before the traffic start, into the last revision. */
function windowOf(ms: number): Window {
  const seconds = Math.max(1, Math.floor(ms / 1000));
  return { seconds, text: `${seconds}s` };
}

function parsed(time: string | undefined): number | undefined {
  if (time === undefined) return undefined;
  const t = Date.parse(time);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * A check's window: the metric's interval, cut at the run's traffic start; while the run waits for
 * evidence (`windowFrom`), everything since then.
 */
export function checkWindow(intervalMs: number, run: RunRecord | undefined, now: Date): Window {
  const since = parsed(run?.trafficSince);
  const from = parsed(run?.windowFrom);
  let start = from ?? now.getTime() - intervalMs;
  if (since !== undefined) start = Math.max(start, since);
  return windowOf(now.getTime() - start);
}
