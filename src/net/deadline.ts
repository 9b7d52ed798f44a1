// An AbortSignal that fires when a time budget runs out or when a parent signal aborts, and can tell
// the two apart afterwards: "timed out" and "aborted" (shutdown, lost leadership) are different
// answers for a Canary's status.
import { clampDelay } from "./timers.js";

export interface Deadline {
  /** aborts at the deadline or when the parent aborts, whichever comes first */
  readonly signal: AbortSignal;
  /** true when the time budget ran out (not the parent) */
  expired(): boolean;
  /** true when the parent signal aborted */
  parentAborted(): boolean;
  /** stops the timer and detaches from the parent; call it when the guarded work is over */
  dispose(): void;
}

/** Starts a deadline `ms` (clamped, so never the 1 ms overflow) from now, chained to `parent`. */
export function startDeadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const onParent = () => controller.abort(parent?.reason);
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (parent?.aborted) {
    controller.abort(parent.reason);
  } else {
    parent?.addEventListener("abort", onParent, { once: true });
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`deadline of ${ms} ms exceeded`));
    }, clampDelay(ms));
    // The work it guards keeps the process alive if it must; the deadline alone should not.
    timer.unref();
  }
  return {
    signal: controller.signal,
    expired: () => timedOut,
    parentAborted: () => parent?.aborted === true,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParent);
    },
  };
}

/** Resolves with the promise's value, or with `onAbort()` as soon as `signal` aborts (never rejects on abort). */
export function untilAborted<T, U>(
  promise: Promise<T>,
  signal: AbortSignal,
  onAbort: () => U,
): Promise<T | U> {
  if (signal.aborted) return Promise.resolve(onAbort());
  return new Promise<T | U>((resolve, reject) => {
    const abort = () => resolve(onAbort());
    signal.addEventListener("abort", abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", abort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", abort);
        reject(err);
      },
    );
  });
}
