// The data of `kubectl serin replay`: the run as status recorded it, what the replay asks of the metrics,
// and what it hands back (the replayed steps beside the recorded checks, and how each run ended).
import type { CheckRecord, MetricCheck, RunRecord } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";
import type { MetricResult, ServedCounts, ServedUnavailable } from "../../core/world.js";

/** What the replay asks of the metrics, at the virtual time `now`. */
export interface MetricAnswers {
  /** the metric checks of `spec`, for `run` (its windows start at run.trafficSince), evaluated at `now` */
  analyse(spec: EffectiveSpec, run: RunRecord | undefined, now: Date): Promise<MetricResult[]>;
  /** what canary and primary served from `since` to `now` */
  served(spec: EffectiveSpec, since: Date, now: Date): Promise<ServedCounts | ServedUnavailable>;
}

/** The run being replayed, as recorded in status. */
export interface RecordedRun {
  /** the history entry's number; undefined for the run under way */
  number?: number;
  revision: string;
  image?: string;
  /** when the revision first got traffic (history startedAt, status.run.trafficSince) */
  startedAt: string;
  /** when the run ended (or now, for the run under way): data after it belongs to another run */
  endedAt: string;
  outcome: "Succeeded" | "Failed" | "Superseded" | "Running";
  /** the weight the run reached */
  canaryWeight: number;
  failedChecks?: number;
  reason?: string;
  /** its checks, when status still holds them (status.run of the last run; bounded) */
  checks: CheckRecord[];
  /** every check of the run is in `checks` (none was dropped from the bounded list) */
  checksComplete: boolean;
  /** the canary weight over time, from the decision log (time, weight after the decision); may be empty */
  weights: Array<{ time: string; weight: number }>;
}

export type StepKind = "step" | "check" | "look" | "recorded-only";

export interface ReplayStep {
  kind: StepKind;
  time: string;
  /** seconds since the run's start */
  offsetSeconds: number;
  /** the replayed canary weight at this moment (before the decision) */
  weight: number;
  /** the weight the decision set */
  nextWeight: number;
  verdict?: "passed" | "failed" | "held";
  metrics: MetricCheck[];
  reason: string;
  /** the phase after the decision */
  phase: string;
  failedChecks: number;
  recorded?: { time: string; canaryWeight: number; verdict: string; metrics: MetricCheck[] };
  /** the weight Prometheus' data reflects at this moment, when the decision log says it */
  recordedWeight?: number;
  /** the replayed decision differs from the recorded one here */
  differs: boolean;
}

export interface ReplayEnd {
  outcome: "Succeeded" | "Failed" | "Running";
  time: string;
  offsetSeconds: number;
  /** the weight the run reached */
  canaryWeight: number;
  failedChecks: number;
  reason: string;
}

/** How the recorded run ended, on the replay's time axis. */
export interface RecordedEnd {
  outcome: RecordedRun["outcome"];
  time: string;
  offsetSeconds: number;
  canaryWeight: number;
  failedChecks?: number;
  reason?: string;
}

export interface ReplayResult {
  steps: ReplayStep[];
  end: ReplayEnd;
  recordedEnd: RecordedEnd;
  sameOutcome: boolean;
  /** decisions taken; the loop stops at maxSteps */
  decisions: number;
  truncated: boolean;
}
