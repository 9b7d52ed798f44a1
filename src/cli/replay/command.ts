// `kubectl serin replay NAME [--run K|current] [--set path=value ...] [--prometheus URL]`: reads the
// Canary (and the MetricTemplates its metrics name), edits its analysis, replays the chosen run against
// Prometheus (replay.ts) and prints where the decisions would have differed. Reads only: nothing in the
// cluster changes. Exit 0 whether or not the outcomes differ, 1 errors, 2 a bad --set.
import type { Canary } from "../../api/canary.js";
import { type EffectiveSpec, withJudgeDefault } from "../../api/defaults.js";
import type { PrometheusClient } from "../../metrics/prometheus-client.js";
import type { Options } from "../args.js";
import { CliError, explainError } from "../errors.js";
import { style } from "../format.js";
import type { Io } from "../io.js";
import { attempt, getCanary, type Session } from "../kube.js";
import { effectiveSpec } from "../summary.js";
import { readTemplates, secretReader } from "./cluster.js";
import { judgeOf } from "./judge.js";
import { notesAfter, notesBefore } from "./notes.js";
import {
  checkReachable,
  hasRunData,
  PROMETHEUS_ENV,
  prometheusAddress,
  prometheusAnswers,
} from "./prometheus.js";
import { type RunChoice, recordedRun } from "./recorded.js";
import { renderReplay, replayView } from "./render.js";
import { replay } from "./replay.js";
import { editCanary, parseSet, type SpecEdit, SpecEditError } from "./spec-edit.js";
import type { MetricAnswers, RecordedRun } from "./types.js";

export interface ReplayFlags {
  run?: RunChoice;
  set?: readonly string[];
  prometheus?: string;
}

type ReplayCommandOptions = Options & ReplayFlags;

export async function runReplay(s: Session, o: ReplayCommandOptions, io: Io): Promise<number> {
  let edits: SpecEdit[];
  try {
    edits = (o.set ?? []).map(parseSet);
  } catch (err) {
    if (!(err instanceof SpecEditError)) throw err;
    io.err(`error: ${err.message}\n`);
    return 2;
  }
  try {
    return await replayCanary(s, o, edits, io);
  } catch (err) {
    const message =
      err instanceof CliError ? err.message : explainError(err, attempt(s, "get", s.namespace, o.name ?? ""));
    io.err(`error: ${message}\n`);
    return 1;
  }
}

/** Reads the Canary, edits it, replays the chosen run and prints it; 2 when the edited Canary is invalid. */
async function replayCanary(s: Session, o: ReplayCommandOptions, edits: SpecEdit[], io: Io): Promise<number> {
  const name = o.name ?? "";
  const namespace = s.namespace;
  const canary = await getCanary(s, namespace, name);
  const original = effectiveSpec(canary);
  if (original === undefined) throw new CliError(`canary ${name} has a spec this CLI cannot read`);
  const edited = editCanary(canary, edits);
  if (!edited.ok) {
    io.err(`error: ${edited.error}\n`);
    return 2;
  }
  const run = recordedRun(canary, o.run, io.now());
  const judge = judgeOf(canary, edited.spec);
  const spec = withJudgeDefault(edited.spec, judge.mode);
  const { answers, client } = await openPrometheus(s, o, canary, spec);
  const noRunData = !(await runDataFound(client, spec, namespace, run));
  const notes = notesBefore({ namespace, original, spec, run, noRunData });
  const result = await replay({ ref: { name, namespace }, canary: edited.canary, spec, run, answers });
  notes.push(...notesAfter(result, original, spec));
  const view = replayView({ namespace, name }, run, result, {
    prometheus: client.address,
    judge,
    edits: edited.edits,
    notes,
  });
  io.out(
    o.output === "json" ? `${JSON.stringify(view, null, 2)}\n` : renderReplay(view, spec, style(io.tty)),
  );
  return 0;
}

/** The metric answers from the Prometheus the user named, checked to answer before anything is replayed. */
async function openPrometheus(
  s: Session,
  o: ReplayCommandOptions,
  canary: Canary,
  spec: EffectiveSpec,
): Promise<{ answers: MetricAnswers; client: PrometheusClient }> {
  const { address, how } = prometheusAddress(
    o.prometheus,
    process.env[PROMETHEUS_ENV],
    canary.spec.metricsServer,
  );
  const templates = await readTemplates(s, spec, s.namespace);
  const opened = prometheusAnswers({
    address,
    namespace: s.namespace,
    name: o.name ?? "",
    templates,
    readSecret: secretReader(s),
  });
  await checkReachable(opened.client, how);
  return opened;
}

/** Whether Prometheus holds the run's Istio series; only asked when a builtin metric reads them. */
async function runDataFound(
  client: PrometheusClient,
  spec: EffectiveSpec,
  namespace: string,
  run: RecordedRun,
): Promise<boolean> {
  if (!spec.analysis.metrics.some((m) => m.source.kind === "builtin")) return true;
  return hasRunData(client, spec, namespace, new Date(run.startedAt), new Date(run.endedAt));
}
