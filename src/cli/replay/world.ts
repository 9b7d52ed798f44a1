// The world the replay decides in: a synthetic observed world (target and primary ready, the target
// running the run's revision, the primary some earlier one), webhooks assumed to answer, and decideAt()
// asking the pure decision core at one virtual moment, with the metric answers for that moment.
import type { Canary, CanaryStatus, EvidenceState } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";
// The controller's own loop of asking the core and answering what it asks for (metrics, served, hooks).
import { decideWithAnswers } from "../../controller/deciding.js";
import type { CanaryRef } from "../../core/context.js";
import type { Decision } from "../../core/decision.js";
import { currentRun } from "../../core/evidence/run.js";
import type { HookResult, ObservedWorld, Readiness, TargetView } from "../../core/world.js";
import type { MetricAnswers, RecordedRun } from "./types.js";

const READY: Readiness = { ready: true, message: "ready (assumed by the replay)", deadlineExceeded: false };

/** The revision the primary ran before the run: unknown to the replay, and never equal to the run's. */
const PREVIOUS = "replay-previous-revision";

/** The status right after the run started (startRun): weight 0, no check, its record without traffic yet. */
export function initialStatus(run: RecordedRun): CanaryStatus {
  return {
    phase: "Progressing",
    canaryWeight: 0,
    failedChecks: 0,
    iterations: 0,
    lastAppliedSpec: run.revision,
    lastPromotedSpec: PREVIOUS,
    lastTransitionTime: run.startedAt,
    run: { revision: run.revision, ...(run.image ? { image: run.image } : {}) },
  };
}

/**
 * Webhooks are not called: every gate is assumed to answer ok (a load test ran, approvals were given),
 * and rollback hooks to ask for no rollback.
 */
export function assumedHook(type: string): HookResult {
  return type === "rollback"
    ? { ok: false, message: "no rollback asked (assumed by the replay)" }
    : { ok: true, message: "ok (assumed by the replay)" };
}

/** The run's workload, as the replay assumes it: ready, running the run's revision. */
export function replayTarget(run: RecordedRun): TargetView {
  return {
    revision: run.revision,
    ...(run.image ? { image: run.image } : {}),
    trackedConfigs: {},
    readiness: READY,
  };
}

/** What decideAt() needs besides the moment: the Canary, its (edited) spec and the answers. */
export interface DecisionInputs {
  ref: CanaryRef;
  canary: Canary;
  spec: EffectiveSpec;
  target: TargetView;
  answers: MetricAnswers;
}

/** The core's decision at the virtual moment `at`, from `status` and the judge's `evidence` so far. */
export function decideAt(
  i: DecisionInputs,
  status: CanaryStatus,
  evidence: EvidenceState | undefined,
  at: Date,
): Promise<Decision> {
  const world: ObservedWorld = {
    now: at,
    target: i.target,
    primary: { readiness: READY, revision: PREVIOUS },
    ...(evidence ? { evidence } : {}),
  };
  const runOf = (s: CanaryStatus) => currentRun(s, i.target, at);
  return decideWithAnswers(i.canary, i.ref, i.spec, status, world, {
    analyse: (s) => i.answers.analyse(i.spec, runOf(s), at),
    served: async (s) => {
      const since = runOf(s).trafficSince;
      const t = since ? Date.parse(since) : Number.NaN;
      return Number.isNaN(t)
        ? { at, error: "the run has no traffic yet" }
        : i.answers.served(i.spec, new Date(t), at);
    },
    hooks: async (type) => assumedHook(type),
    // The split the mesh sent is history, not something the edited settings change: not re-verified.
    split: async () => undefined,
  });
}
