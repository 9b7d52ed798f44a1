// The run record in status: which revision is under test, since when it has traffic (every window starts
// there or later), what it served (the harm count), what its checks saw and what the judge knows. Pure.
import type { CanaryStatus, CheckRecord, RunRecord } from "../../api/canary.js";
import type { Served, ServedCounts, TargetView } from "../world.js";
import { formatCount } from "./format.js";

/** Checks kept per run: the latest ones tell the story; status must stay small. */
export const RUN_CHECKS_KEPT = 10;

/** A fresh record for the revision a run starts on. */
export function newRun(target: TargetView): RunRecord {
  return { revision: target.revision, ...(target.image ? { image: target.image } : {}) };
}

/**
 * The record of the run under way, started if missing. A record made mid-run (a controller upgraded
 * during a run) dates the traffic from the last step, the latest moment the canary surely had it.
 */
export function currentRun(status: CanaryStatus, target: TargetView, now: Date): RunRecord {
  const run = status.run;
  if (run !== undefined && run.revision === status.lastAppliedSpec) {
    return run.trafficSince ? run : { ...run, trafficSince: now.toISOString() };
  }
  const midRun = (status.canaryWeight ?? 0) > 0 || (status.iterations ?? 0) > 0;
  const since = midRun && status.lastTransitionTime ? status.lastTransitionTime : now.toISOString();
  return { ...newRun(target), revision: status.lastAppliedSpec ?? target.revision, trafficSince: since };
}

const rounded = (s: Served): Served => ({
  requests: Math.round(s.requests),
  errors: Math.round(s.errors),
  ...(s.slow !== undefined ? { slow: Math.round(s.slow) } : {}),
});

/** The run with the served counts read at `served.at`. */
/** Counts only grow within a run: a smaller reading (a pod gone with its series) keeps the larger one. */
function atLeast(before: Served | undefined, now: Served): Served {
  if (before === undefined) return now;
  const out: Served = {
    requests: Math.max(before.requests, now.requests),
    errors: Math.max(before.errors, now.errors),
  };
  if (now.slow !== undefined || before.slow !== undefined)
    out.slow = Math.max(before.slow ?? 0, now.slow ?? 0);
  return out;
}

export function withServed(run: RunRecord, served: ServedCounts | undefined): RunRecord {
  if (served === undefined) return run;
  return {
    ...run,
    canary: atLeast(run.canary, rounded(served.canary)),
    primary: atLeast(run.primary, rounded(served.primary)),
    servedAsOf: served.at.toISOString(),
    ...(served.slowerThanMs !== undefined ? { slowerThanMs: served.slowerThanMs } : {}),
  };
}

export function withCheck(run: RunRecord, check: CheckRecord): RunRecord {
  return { ...run, checks: [...(run.checks ?? []), check].slice(-RUN_CHECKS_KEPT) };
}

/** "catalog:v3 served 221 requests, 34 failed, 5 slower than 500ms" — or "" before any count. */
export function harmSentence(run: RunRecord | undefined): string {
  const c = run?.canary;
  if (run === undefined || c === undefined) return "";
  const who = run.image ? imageName(run.image) : `revision ${run.revision}`;
  const slow =
    c.slow !== undefined && run.slowerThanMs !== undefined
      ? `, ${formatCount(c.slow)} slower than ${run.slowerThanMs}ms`
      : "";
  return `${who} served ${formatCount(c.requests)} requests, ${formatCount(c.errors)} failed${slow}`;
}

/** "docker.io/istioinaction/catalog:v3" -> "catalog:v3": the part people call a release. */
function imageName(image: string): string {
  const last = image.split("/").pop() ?? image;
  return last.split("@")[0] ?? last;
}
