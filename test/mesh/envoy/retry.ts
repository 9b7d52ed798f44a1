// Envoy's route retry policy (config.route.v3.RetryPolicy) and its retry_on conditions for HTTP/1.
import type { RetryPolicyJson } from "./xds-json.js";
import { durationMs } from "./xds-json.js";

export interface RetryPolicy {
  numRetries: number;
  retryOn: ReadonlySet<string>;
  statusCodes: ReadonlySet<number>;
  perTryTimeoutMs: number | undefined;
  /** envoy.retry_host_predicates.previous_hosts: a retry avoids hosts already tried. */
  avoidPreviousHosts: boolean;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

/** What happened on one attempt, reduced to what retry_on looks at. */
export type AttemptOutcome =
  | { kind: "status"; status: number; grpcStatus?: string | undefined }
  /** The connection to the upstream failed: nothing was sent. */
  | { kind: "connect-failure" }
  /** The upstream reset / closed the stream after the request was sent. */
  | { kind: "reset" }
  | { kind: "per-try-timeout" };

export function compileRetryPolicy(p: RetryPolicyJson | undefined): RetryPolicy | undefined {
  if (!p) return undefined;
  const retryOn = new Set(
    (p.retry_on ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const base = durationMs(p.retry_back_off?.base_interval) ?? 25;
  const max = durationMs(p.retry_back_off?.max_interval) ?? base * 10;
  return {
    // Envoy's default when a policy is present without num_retries is 1.
    numRetries: p.num_retries ?? 1,
    retryOn,
    statusCodes: new Set(p.retriable_status_codes ?? []),
    perTryTimeoutMs: (() => {
      const t = durationMs(p.per_try_timeout);
      return t !== undefined && t > 0 ? t : undefined;
    })(),
    avoidPreviousHosts: (p.retry_host_predicate ?? []).some(
      (h) => h.name === "envoy.retry_host_predicates.previous_hosts",
    ),
    backoffBaseMs: base,
    backoffMaxMs: Math.max(base, max),
  };
}

const GRPC_CODES: Record<string, string> = {
  cancelled: "1",
  "deadline-exceeded": "4",
  "resource-exhausted": "8",
  unavailable: "14",
  internal: "13",
};

/** Envoy's RetryStateImpl decisions for the conditions the simulator can produce. */
export function isRetriable(policy: RetryPolicy, outcome: AttemptOutcome): boolean {
  const on = policy.retryOn;
  switch (outcome.kind) {
    case "connect-failure":
      return (
        on.has("connect-failure") ||
        on.has("5xx") ||
        on.has("gateway-error") ||
        on.has("reset") ||
        on.has("reset-before-request")
      );
    case "reset":
      return on.has("reset") || on.has("5xx") || on.has("gateway-error");
    case "per-try-timeout":
      return on.has("5xx") || on.has("gateway-error") || on.has("reset");
    case "status": {
      const s = outcome.status;
      if (on.has("5xx") && s >= 500 && s <= 599) return true;
      if (on.has("gateway-error") && (s === 502 || s === 503 || s === 504)) return true;
      if (on.has("retriable-4xx") && s === 409) return true;
      if (on.has("retriable-status-codes") && policy.statusCodes.has(s)) return true;
      if (outcome.grpcStatus !== undefined) {
        for (const [cond, code] of Object.entries(GRPC_CODES))
          if (on.has(cond) && outcome.grpcStatus === code) return true;
      }
      return false;
    }
  }
}

/** Envoy's fully jittered exponential back-off: uniform in [0, (2^n - 1) * base], capped at max. */
export function backoffMs(policy: RetryPolicy, retryNumber: number, rng: () => number): number {
  const ceiling = Math.min((2 ** Math.max(1, retryNumber) - 1) * policy.backoffBaseMs, policy.backoffMaxMs);
  return rng() * ceiling;
}
