// What the bench learns about each Canary from watching the Canaries (an admin watch across all
// namespaces): every status write arrives as a watch event and is dated when it arrives (ms, the same
// for Serin and Flagger; Flagger's status timestamps have one-second resolution).

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

export interface CanaryObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  status?: {
    phase?: string;
    canaryWeight?: number;
    failedChecks?: number;
    lastTransitionTime?: string;
    conditions?: Condition[];
  };
}

/** The steps whose time is scheduled one analysis interval after the previous step. */
export const SCHEDULED_STEPS = ["w20", "w30", "w40", "w50", "promoting"] as const;

export interface Track {
  key: string;
  namespace: string;
  createdAt?: number;
  initializedAt?: number;
  pushedAt?: number;
  /** first status seen Progressing after the push */
  detectedAt?: number;
  /** first time each step was seen after the push: w0, w10 … w50, promoting, finalising, succeeded, failed */
  steps: Map<string, number>;
  /**
   * Analysis ticks from weight 10 on: every status write that shows a tick's outcome (a new weight, one
   * more failed check, the promotion), in order. A tick that wrote nothing shows as a gap of two intervals.
   */
  ticks: number[];
  lastWeight: number;
  maxFailedChecks: number;
  phases: string[];
  phase: string;
  message: string;
}

export class CanaryTracker {
  readonly tracks = new Map<string, Track>();
  events = 0;

  track(namespace: string, name: string): Track {
    const key = `${namespace}/${name}`;
    let t = this.tracks.get(key);
    if (t === undefined) {
      t = {
        key,
        namespace,
        steps: new Map(),
        ticks: [],
        lastWeight: 0,
        maxFailedChecks: 0,
        phases: [],
        phase: "",
        message: "",
      };
      this.tracks.set(key, t);
    }
    return t;
  }

  all(): Track[] {
    return [...this.tracks.values()];
  }

  observe(obj: CanaryObject, at: number): void {
    this.events++;
    const t = this.tracks.get(`${obj.metadata?.namespace}/${obj.metadata?.name}`);
    if (t === undefined) return;
    const status = obj.status ?? {};
    const phase = status.phase ?? "";
    t.phase = phase;
    t.message = status.conditions?.find((c) => c.type === "Promoted")?.message ?? "";
    if (t.phases[t.phases.length - 1] !== phase) t.phases.push(phase);
    const failedChecks = status.failedChecks ?? 0;
    const moreFailed = failedChecks > t.maxFailedChecks;
    t.maxFailedChecks = Math.max(t.maxFailedChecks, failedChecks);
    if (phase === "Initialized" && t.initializedAt === undefined) t.initializedAt = at;
    if (t.pushedAt === undefined || at < t.pushedAt) return;
    const weight = status.canaryWeight ?? 0;
    if (t.steps.has("w10") && !t.steps.has("promoting")) {
      const newWeight = phase === "Progressing" && weight !== t.lastWeight;
      if (newWeight || moreFailed || phase === "Promoting") t.ticks.push(at);
    }
    if (phase === "Progressing") t.lastWeight = weight;
    const first = (step: string) => {
      if (!t.steps.has(step)) t.steps.set(step, at);
    };
    switch (phase) {
      case "Progressing":
        if (t.detectedAt === undefined) t.detectedAt = at;
        first(`w${status.canaryWeight ?? 0}`);
        break;
      case "Promoting":
        first("promoting");
        break;
      case "Finalising":
        first("finalising");
        break;
      case "Succeeded":
        if (t.detectedAt !== undefined) first("succeeded");
        break;
      case "Failed":
        if (t.detectedAt !== undefined) first("failed");
        break;
      default:
        break;
    }
  }
}

export interface RolloutFigures {
  canaries: number;
  initialized: number;
  detectionMs: number[];
  /**
   * Each analysis tick's time minus its schedule (previous tick + one interval), ms. The fleet's
   * Canaries use the threshold judge, whose every check writes status (a weight, a failed check or the
   * promotion), so a gap of two intervals is a tick 10 s late, not a tick that wrote nothing: counting
   * it as two on-time ticks (as this did before) hid the lateness of a loaded controller.
   */
  driftMs: number[];
  /** gaps longer than 1.5 intervals (a tick at least half an interval late) */
  spannedTicks: number;
  /** largest gap between consecutive scheduled steps (weights 10 … 50, promotion), ms */
  stepGapMaxMs: number;
  /** weight 0 → 10: waits for the canary pods, not on the schedule */
  firstStepMs: number[];
  pushToSucceededMs: number[];
  succeeded: number;
  failed: number;
  withFailedChecks: number;
  /** steps taken (weights, promotion, finalising, end), for CPU per step */
  steps: number;
  phases: Map<string, number>;
}

export function rolloutFigures(tracks: Track[], intervalMs: number): RolloutFigures {
  const f: RolloutFigures = {
    canaries: tracks.length,
    initialized: tracks.filter((t) => t.initializedAt !== undefined).length,
    detectionMs: [],
    driftMs: [],
    spannedTicks: 0,
    stepGapMaxMs: 0,
    firstStepMs: [],
    pushToSucceededMs: [],
    succeeded: 0,
    failed: 0,
    withFailedChecks: 0,
    steps: 0,
    phases: new Map(),
  };
  for (const t of tracks) {
    f.phases.set(t.phase || "none", (f.phases.get(t.phase || "none") ?? 0) + 1);
    if (t.maxFailedChecks > 0) f.withFailedChecks++;
    if (t.pushedAt === undefined) continue;
    if (t.detectedAt !== undefined) f.detectionMs.push(t.detectedAt - t.pushedAt);
    f.steps += t.steps.size;
    const w0 = t.steps.get("w0");
    const w10 = t.steps.get("w10");
    if (w0 !== undefined && w10 !== undefined) f.firstStepMs.push(w10 - w0);
    let previous = w10;
    for (const step of SCHEDULED_STEPS) {
      const at = t.steps.get(step);
      if (previous !== undefined && at !== undefined)
        f.stepGapMaxMs = Math.max(f.stepGapMaxMs, at - previous);
      previous = at;
    }
    let tick = w10;
    for (const at of t.ticks) {
      if (tick !== undefined) {
        const gap = at - tick;
        if (gap > 1.5 * intervalMs) f.spannedTicks++;
        f.driftMs.push(gap - intervalMs);
      }
      tick = at;
    }
    const done = t.steps.get("succeeded");
    if (done !== undefined) {
      f.succeeded++;
      f.pushToSucceededMs.push(done - t.pushedAt);
    }
    if (t.steps.has("failed")) f.failed++;
  }
  return f;
}
