// What the shell observed before asking the decision core what to do. Plain data: no clients, no I/O.

/** How far a Deployment's rollout has come, judged against a ready threshold (percent of replicas). */
export interface Readiness {
  ready: boolean;
  /** e.g. "2 of 3 updated replicas are available" */
  message: string;
  /** the rollout has been stuck longer than the Canary's progressDeadlineSeconds */
  deadlineExceeded: boolean;
}

export interface TargetView {
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
  value?: number;
  /** why there is no value: "no values found", "query failed: ...", "Prometheus unreachable: ..." */
  error?: string;
  thresholdRange: { min?: number; max?: number };
  /** how to print the value: "%" for success rate, "ms" for latency, "" otherwise */
  unit: "%" | "ms" | "";
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
}
