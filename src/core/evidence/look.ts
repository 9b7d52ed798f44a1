// One look of the sequential judge: the counts since the run's traffic start, compared with the counts
// at its previous look, make one batch of evidence. Pure.
import type { EvidenceState, RunRecord } from "../../api/canary.js";
import type { Served, ServedCounts } from "../world.js";
import { formatCount, formatSeconds, percentOf } from "./format.js";
import { type Arm, decisive, freshLogE, mixtureLogE, updateLogE } from "./sequential.js";

export interface LookResult {
  state: EvidenceState;
  /** the reason to roll back now, when the evidence of a regression is decisive */
  regression?: string;
}

const ZERO: Served = { requests: 0, errors: 0 };

/** The state to continue from: the shell's newer in-memory one for this run, else the one in status. */
export function latestState(
  run: RunRecord | undefined,
  fromShell: EvidenceState | undefined,
): EvidenceState | undefined {
  const stored = run?.evidence;
  if (fromShell === undefined) return stored;
  if (stored === undefined) return fromShell;
  return Date.parse(fromShell.asOf) >= Date.parse(stored.asOf) ? fromShell : stored;
}

function delta(now: number, before: number): number {
  return Math.max(0, now - before);
}

function batchArm(now: Served, before: Served, pick: "errors" | "slow"): Arm {
  return {
    requests: delta(now.requests, before.requests),
    events: delta(now[pick] ?? 0, before[pick] ?? 0),
  };
}

/**
 * Folds the counts read at `served.at` into the state. Counts never go down between looks: a smaller
 * number (Prometheus' extrapolation at the window's edges) is a batch of zero, and the higher count
 * already seen stays the reference.
 */
export function look(
  state: EvidenceState | undefined,
  served: ServedCounts,
  alpha: number,
  trafficSince: Date,
  /** the spec has a latency threshold: the latency test runs (once it has counts) and shares alpha */
  latencyTest = served.slowerThanMs !== undefined,
): LookResult {
  const before = state ?? {
    asOf: trafficSince.toISOString(),
    canary: ZERO,
    primary: ZERO,
    errorsLogE: freshLogE(),
    ...(served.slowerThanMs !== undefined ? { slowLogE: freshLogE() } : {}),
  };
  const errorsLogE = updateLogE(before.errorsLogE, {
    canary: batchArm(served.canary, before.canary, "errors"),
    primary: batchArm(served.primary, before.primary, "errors"),
  });
  // A look without slow counts (the bucket query failed, no traffic yet) keeps the latency evidence so far.
  const slowLogE =
    served.slowerThanMs !== undefined && served.canary.slow !== undefined
      ? updateLogE(before.slowLogE ?? freshLogE(), {
          canary: batchArm(served.canary, before.canary, "slow"),
          primary: batchArm(served.primary, before.primary, "slow"),
        })
      : before.slowLogE;
  const state_: EvidenceState = {
    asOf: served.at.toISOString(),
    canary: highWater(before.canary, served.canary),
    primary: highWater(before.primary, served.primary),
    errorsLogE,
    ...(slowLogE ? { slowLogE } : {}),
  };
  // Two tests share the false-alarm budget (Bonferroni), so together they stay within alpha. The split is
  // the spec's, fixed for the whole run: a test that spent alpha/2 must never be judged at alpha.
  const perTest = latencyTest || slowLogE ? alpha / 2 : alpha;
  const elapsed = formatSeconds(served.at.getTime() - trafficSince.getTime());
  const level = `${trimPercent(alpha * 100)}%`;
  if (decisive(errorsLogE, perTest)) {
    const c = state_.canary;
    const p = state_.primary;
    return {
      state: state_,
      regression: `canary 5xx ${percentOf(c.errors, c.requests)} vs primary ${percentOf(p.errors, p.requests)} over ${formatCount(c.requests)} vs ${formatCount(p.requests)} requests; regression certain at the ${level} false-alarm level after ${elapsed} (e-value ${formatE(errorsLogE)})`,
    };
  }
  if (slowLogE && decisive(slowLogE, perTest)) {
    const c = state_.canary;
    const p = state_.primary;
    const over = `over ${served.slowerThanMs}ms`;
    return {
      state: state_,
      regression: `canary requests ${over} ${percentOf(c.slow ?? 0, c.requests)} vs primary ${percentOf(p.slow ?? 0, p.requests)} over ${formatCount(c.requests)} vs ${formatCount(p.requests)} requests; latency regression certain at the ${level} false-alarm level after ${elapsed} (e-value ${formatE(slowLogE)})`,
    };
  }
  return { state: state_ };
}

function highWater(a: Served, b: Served): Served {
  const out: Served = { requests: Math.max(a.requests, b.requests), errors: Math.max(a.errors, b.errors) };
  if (a.slow !== undefined || b.slow !== undefined) out.slow = Math.max(a.slow ?? 0, b.slow ?? 0);
  return out;
}

function trimPercent(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(2).replace(/\.?0+$/, "");
}

function formatE(logE: readonly number[]): string {
  const l = mixtureLogE(logE);
  return l > Math.log(1e6) ? `>1e6` : String(Math.round(Math.exp(l)));
}
