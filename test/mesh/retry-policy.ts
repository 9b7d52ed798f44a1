// Istio's route retry policy -> Envoy semantics (pilot's retry.ConvertPolicy + Envoy's retry_on).
import { parseDurationMs } from "./durations.js";
import type { HttpRetry } from "./istio-types.js";

export interface RetryPolicy {
  numRetries: number;
  retryOn: ReadonlySet<string>;
  statusCodes: ReadonlySet<number>;
  perTryTimeoutMs: number | undefined;
  /** Envoy previous_hosts predicate: a retry prefers a pod not tried yet. */
  avoidPreviousHosts: boolean;
  backoffBaseMs: number;
}

/** What happened on one attempt, reduced to what retry_on looks at. */
export type AttemptOutcome =
  | { kind: "status"; status: number }
  | { kind: "connect-failure" }
  | { kind: "reset" }
  | { kind: "per-try-timeout" };

const DEFAULT_RETRY_ON = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

function parseRetryOn(text: string): { on: Set<string>; codes: Set<number> } {
  const on = new Set<string>();
  const codes = new Set<number>();
  for (const raw of text.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    if (/^\d{3}$/.test(part)) codes.add(Number(part));
    else on.add(part);
  }
  if (codes.size > 0) on.add("retriable-status-codes");
  return { on, codes };
}

/**
 * No `retries` on the route: Istio's default (2 retries on connect failure and 503).
 * `attempts <= 0`: retries disabled. Otherwise the default with the route's overrides.
 */
export function retryPolicyFor(
  retries: HttpRetry | undefined,
  consistentHash: boolean,
): RetryPolicy | undefined {
  const base = parseRetryOn(DEFAULT_RETRY_ON);
  const policy: RetryPolicy = {
    numRetries: 2,
    retryOn: base.on,
    statusCodes: new Set([503]),
    perTryTimeoutMs: undefined,
    avoidPreviousHosts: !consistentHash,
    backoffBaseMs: 25,
  };
  if (!retries) return policy;
  if ((retries.attempts ?? 0) <= 0) return undefined;
  policy.numRetries = retries.attempts ?? 0;
  if (retries.retryOn) {
    const p = parseRetryOn(retries.retryOn);
    policy.retryOn = p.on;
    policy.statusCodes = p.codes;
  }
  const perTry = parseDurationMs(retries.perTryTimeout);
  if (perTry !== undefined && perTry > 0) policy.perTryTimeoutMs = perTry;
  if (retries.retryIgnorePreviousHosts !== undefined)
    policy.avoidPreviousHosts = retries.retryIgnorePreviousHosts;
  const backoff = parseDurationMs(retries.backoff);
  if (backoff !== undefined && backoff > 0) policy.backoffBaseMs = backoff;
  return policy;
}

/** Envoy's retry_on conditions for HTTP. */
export function isRetriable(policy: RetryPolicy, outcome: AttemptOutcome): boolean {
  const on = policy.retryOn;
  switch (outcome.kind) {
    case "connect-failure":
      return on.has("connect-failure") || on.has("5xx") || on.has("gateway-error") || on.has("reset");
    case "reset":
      return on.has("reset") || on.has("5xx");
    case "per-try-timeout":
      return on.has("5xx") || on.has("gateway-error") || on.has("reset");
    case "status": {
      const s = outcome.status;
      if (on.has("5xx") && s >= 500) return true;
      if (on.has("gateway-error") && (s === 502 || s === 503 || s === 504)) return true;
      if (on.has("retriable-4xx") && s === 409) return true;
      return on.has("retriable-status-codes") && policy.statusCodes.has(s);
    }
  }
}

/** Envoy's fully jittered exponential back-off, capped at 10x the base interval. */
export function backoffMs(policy: RetryPolicy, retryNumber: number, rng: () => number): number {
  const ceiling = Math.min(
    policy.backoffBaseMs * 2 ** Math.max(0, retryNumber - 1),
    policy.backoffBaseMs * 10,
  );
  return rng() * ceiling;
}
