// When an informer re-opens its list/watch after an error. Short on purpose: after an API server
// restart the caches are stale until the watches are back, and every second of delay is a second of
// Canaries decided on old state. The old policy (250 ms doubling to 30 s) re-opened up to 16 s after the
// API was back, and 30 s after a 429. Jitter spreads the informers of all controllers reconnecting at once.
import { ApiException } from "@kubernetes/client-node";

export const RECONNECT_BASE_MS = 200;
export const RECONNECT_MAX_MS = 5_000;
/** A server's Retry-After is honoured up to this; longer would leave the cache stale for as long. */
export const RETRY_AFTER_CAP_MS = 5_000;

export interface ReconnectInput {
  /** consecutive failures, counting this one (1 = the first failure since the last success) */
  failures: number;
  /** the server's Retry-After, when it sent one */
  retryAfterMs?: number | undefined;
  /** a number in [0, 1); Math.random in production */
  random: number;
}

/**
 * Delay before the next attempt: exponential from 200 ms, capped at 5 s, with "equal jitter" (between
 * half and all of the step) so it never collapses to zero; at least the server's Retry-After, capped.
 */
export function reconnectDelay({ failures, retryAfterMs, random }: ReconnectInput): number {
  const n = Number.isNaN(failures) ? 1 : Math.max(1, Math.floor(Math.min(failures, 64)));
  const step = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** (n - 1));
  const jittered = step / 2 + (step / 2) * Math.min(Math.max(random, 0), 1);
  const server =
    retryAfterMs === undefined || !(retryAfterMs > 0) ? 0 : Math.min(retryAfterMs, RETRY_AFTER_CAP_MS);
  return Math.round(Math.max(jittered, server));
}

/** Retry-After of an API error in ms (seconds or an HTTP date), or undefined. */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const headers: unknown = err.headers;
  if (typeof headers !== "object" || headers === null) return undefined;
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === "retry-after");
  const value = entry?.[1];
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
