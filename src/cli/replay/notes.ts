// The notes `kubectl serin replay` prints under its header: what the replay assumed or could not know
// (missing data, other weights than the recorded run's, webhooks not called, checks status no longer
// holds, runtime requests, the sequential judge's looks), in words. Pure.
import type { EffectiveSpec } from "../../api/defaults.js";
import { weightsChanged } from "./spec-edit.js";
import type { RecordedRun, ReplayResult } from "./types.js";

export interface NoteInputs {
  namespace: string;
  /** the spec as the Canary has it, before any --set */
  original: EffectiveSpec;
  /** the spec replayed: edited, with the judge decided */
  spec: EffectiveSpec;
  run: RecordedRun;
  /** Prometheus has no Istio request series of the run's workloads during the run */
  noRunData: boolean;
}

/** The notes known before the replay runs, in the order they are printed. */
export function notesBefore(i: NoteInputs): string[] {
  const { spec, run } = i;
  const notes: string[] = [];
  if (i.noRunData)
    notes.push(
      `Prometheus has no istio_requests_total series of ${spec.names.canaryWorkload} or ${spec.names.primaryWorkload} in ${i.namespace} during the run: past its retention, or not the Prometheus the controller used? Every check will read "no values".`,
    );
  if (weightsChanged(i.original, spec))
    notes.push(
      'the edited analysis walks other weights than the recorded run did; Prometheus recorded the traffic split actually used (WEIGHT shows it as "data: W" where known), so checks at other weights read that split\'s numbers',
    );
  if (spec.analysis.webhooks.some((h) => h.type !== "post-rollout" && h.type !== "event"))
    notes.push(
      "webhooks are not called: every gate (load tests, approvals) is assumed to answer ok, and rollback hooks to ask for no rollback",
    );
  const checksNote = recordedChecksNote(run);
  if (checksNote !== undefined) notes.push(checksNote);
  if (/on request|Aborted|abort/i.test(run.reason ?? ""))
    notes.push(
      "the recorded run was steered by a runtime request (promote, abort, pause): requests are not replayed",
    );
  if (spec.analysis.judge.mode === "sequential")
    notes.push(
      `the sequential judge looks every ${spec.analysis.judge.lookInterval} of virtual time, reading the counts Prometheus had then`,
    );
  return notes;
}

/** What the replay cannot compare because status keeps only the last run's latest checks. */
function recordedChecksNote(run: RecordedRun): string | undefined {
  if (run.outcome !== "Running" && run.checks.length === 0)
    return "status no longer holds this run's checks (only the last run's are kept): the replay is compared with the recorded outcome only";
  if (!run.checksComplete && run.checks.length > 0)
    return `status keeps the run's latest ${run.checks.length} checks: earlier replayed checks have nothing to be compared with`;
  return undefined;
}

/** The notes the replay's result adds: a bounded replay, and checks that read another split's data. */
export function notesAfter(result: ReplayResult, original: EffectiveSpec, spec: EffectiveSpec): string[] {
  const notes: string[] = [];
  if (result.truncated) notes.push(`stopped after ${result.decisions} decisions`);
  const other = result.steps.filter((x) => x.recordedWeight !== undefined && x.recordedWeight !== x.weight);
  // With edited weights the note before the replay already says so.
  if (other.length > 0 && !weightsChanged(original, spec))
    notes.push(
      `from +${Math.round(other[0]?.offsetSeconds ?? 0)}s the replayed run is at other weights than the recorded one: Prometheus recorded the split the run really had ("data: W" in WEIGHT), so those checks read that split's numbers`,
    );
  return notes;
}
