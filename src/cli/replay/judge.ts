// Which judge the replay decides with: the spec's analysis.judge.mode, or, when the spec leaves it to the
// controller's --judge flag (which the CLI cannot read), the one the recorded run's status shows. Pure.
import type { Canary, JudgeMode } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";

/** The judge, and in words what was assumed about it when the spec does not say. */
export interface ReplayJudge {
  mode: JudgeMode;
  assumed?: string;
}

/** Which judge decided the recorded run when the spec leaves it to the controller's --judge flag. */
export function judgeOf(canary: Canary, spec: EffectiveSpec): ReplayJudge {
  if (spec.analysis.judge.mode !== undefined) return { mode: spec.analysis.judge.mode };
  const run = canary.status?.run;
  // Only the sequential judge keeps evidence and holds checks.
  if (run?.evidence !== undefined || (run?.checks ?? []).some((c) => c.verdict === "held"))
    return {
      mode: "sequential",
      assumed:
        "analysis.judge.mode is unset and the controller's --judge is sequential, as the run's evidence in status shows",
    };
  return {
    mode: "threshold",
    assumed:
      "analysis.judge.mode is unset: the controller's --judge default (threshold) assumed; --set analysis.judge.mode=sequential to replay with the sequential judge",
  };
}
