// What the shell observed before asking the decision core what to do. Plain data: no clients, no I/O.
import type { EvidenceState } from "../api/canary.js";

/** How far a Deployment's rollout has come, judged against a ready threshold (percent of replicas). */
export interface Readiness {
  ready: boolean;
  /** e.g. "2 of 3 updated replicas are available" */
  message: string;
  /** the rollout has been stuck longer than the Canary's progressDeadlineSeconds */
  deadlineExceeded: boolean;
}

export interface TargetView {
  /** the first container's image, to name the revision in messages */
  image?: string;
  /** hash of the pod template plus the checksums of the ConfigMaps/Secrets it uses */
  revision: string;
  /** checksums of the tracked ConfigMaps/Secrets, keyed "configmap/name" or "secret/name" */
  trackedConfigs: Record<string, string>;
  readiness: Readiness;
}

export interface PrimaryView {
  readiness: Readiness;
  /** the revision its pod template was built from (annotation written by Serin), if known */
  revision?: string;
}

/** The result of one metric check; `value` is absent when the query failed or found nothing. */
export interface MetricResult {
  name: string;
  /** the canary's value */
  value?: number;
  /** why there is no value: "no values found", "query failed: ...", "Prometheus unreachable: ..." */
  error?: string;
  /** the query answered but found nothing to measure (no requests in the window): the no-data policy applies */
  noData?: boolean;
  thresholdRange: { min?: number; max?: number };
  /** how to print the value: "%" for success rate, "ms" for latency, "" otherwise */
  unit: "%" | "ms" | "";
  /** built-in checks also measure the primary over the same window, and count the requests behind both */
  primaryValue?: number;
  canaryRequests?: number;
  primaryRequests?: number;
  /** the range the values were read over, e.g. "37s" (built-in checks) */
  window?: string;
}

/** Requests one version served since the run's traffic start; `slow` is over the latency threshold. */
export interface Served {
  requests: number;
  errors: number;
  slow?: number;
}

/** The counts could not be read (Prometheus unreachable): no look this time, the checks decide alone. */
export interface ServedUnavailable {
  at: Date;
  error: string;
}

export const servedCounts = (s: ServedCounts | ServedUnavailable | undefined): ServedCounts | undefined =>
  s === undefined || "error" in s ? undefined : s;

/** What canary and primary served since the run's traffic start, read from Prometheus at `at`. */
export interface ServedCounts {
  at: Date;
  canary: Served;
  primary: Served;
  /** the latency threshold `slow` counts against (the histogram bucket at or above it), if any */
  slowerThanMs?: number;
}

/** Requests canary and primary served since a step (split check), from the sources its route applies to. */
export interface ObservedSplit {
  at: Date;
  canary: number;
  primary: number;
}

/** The split could not be read (Prometheus unreachable): no verdict, never a mismatch. */
export interface SplitUnavailable {
  at: Date;
  error: string;
}

/** Webhook types whose answer steers a run (post-rollout and event hooks are notifications only). */
export type GateHook =
  | "confirm-rollout"
  | "pre-rollout"
  | "rollout"
  | "confirm-traffic-increase"
  | "confirm-promotion"
  | "rollback";

/** All hooks of one type, called: ok when every one answered 2xx (<= 202, like Flagger). */
export interface HookResult {
  ok: boolean;
  /** "load-test: HTTP 500" or "approved by gate" */
  message: string;
}

/** A runtime control request read from the Canary's serin.dev/action* annotations (core/control.ts). */
export interface ControlRequest {
  /** as written: promote, abort, retry, pause, resume (anything else is ignored with a reason) */
  action: string;
  id: string;
  reason?: string;
  by?: string;
}

export interface ObservedWorld {
  now: Date;
  /** the user's Deployment (the canary); undefined when it does not exist */
  target: TargetView | undefined;
  /** the `<target>-primary` Deployment; undefined when it does not exist yet */
  primary: PrimaryView | undefined;
  /** metric results, present when the shell ran the checks because the core asked for them */
  analysis?: MetricResult[];
  /** webhook answers, present for the types the core asked for */
  hooks?: Partial<Record<GateHook, HookResult>>;
  /** served counts since the run's traffic start, present when the core asked for them */
  served?: ServedCounts | ServedUnavailable;
  /** requests per side since the current step (core/split/plan.ts), present when the core asked for them */
  split?: ObservedSplit | SplitUnavailable;
  /** the judge's state after its latest look, when the shell holds one newer than status (looks are not written) */
  evidence?: EvidenceState;
  /** a control request on the Canary; consumed once (its id lands in status.control) */
  request?: ControlRequest;
}
