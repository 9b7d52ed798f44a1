// Node's timers keep their delay in a signed 32-bit field: a delay above 2^31-1 ms (~24.8 days) is
// silently replaced by 1 ms, so a "huge" timeout would fire at once. Every timer Serin creates from a
// user-supplied duration goes through clampDelay.

/** The largest delay setTimeout honours (2^31-1 ms, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay setTimeout will honour: NaN and negatives become 0, anything above MAX_TIMER_MS becomes it. */
export function clampDelay(ms: number): number {
  if (Number.isNaN(ms) || ms <= 0) return 0;
  return Math.min(Math.ceil(ms), MAX_TIMER_MS);
}

/**
 * Waits `ms` (clamped); resolves true when the time passed, false as soon as `signal` aborts.
 * Never rejects, so an abort during a retry backoff is a plain answer, not an unhandled rejection.
 * The timer is unref'd: a pending backoff alone does not keep a stopping process alive.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, clampDelay(ms));
    timer.unref();
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
