// How long one webhook call may take, retries and backoff included. A hook is called from inside a
// reconcile: without an overall bound, `retries: 1000000` or `timeout: 100000h` would hold a worker
// (and the Canary) for good. Durations are clamped before they reach a timer (see net/timers.ts).
import type { EffectiveWebhook } from "../api/defaults.js";

/** No webhook call, all attempts and sleeps included, runs longer than this. */
export const HOOK_CALL_CAP_MS = 10 * 60_000;
/** Flagger's default webhook timeout, also used for a timeout of 0 ("not set"). */
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;

/** Sleep before retry `attempt` (1-based): 0.5 s, 1 s, 2 s, 4 s, then 5 s each. */
export function retryBackoffMs(attempt: number): number {
  return Math.min(5_000, 500 * 2 ** Math.max(0, Math.min(attempt - 1, 10)));
}

/** One attempt's deadline: the hook's timeout (0 means the default), never above the cap. */
export function attemptTimeoutMs(
  hook: Pick<EffectiveWebhook, "timeoutMs">,
  capMs = HOOK_CALL_CAP_MS,
): number {
  const timeout =
    Number.isFinite(hook.timeoutMs) && hook.timeoutMs > 0 ? hook.timeoutMs : DEFAULT_HOOK_TIMEOUT_MS;
  return Math.min(timeout, capMs);
}

/** The whole call's deadline: every attempt's timeout plus the sleeps between them, at most `capMs`. */
export function hookBudgetMs(
  hook: Pick<EffectiveWebhook, "timeoutMs" | "retries">,
  capMs = HOOK_CALL_CAP_MS,
): number {
  const attempt = attemptTimeoutMs(hook, capMs);
  const retries = Number.isFinite(hook.retries) && hook.retries > 0 ? Math.floor(hook.retries) : 0;
  let total = attempt;
  // Stops as soon as the cap is reached, so a huge retry count costs nothing to evaluate.
  for (let k = 1; k <= retries && total < capMs; k++) total += retryBackoffMs(k) + attempt;
  return Math.min(total, capMs);
}
