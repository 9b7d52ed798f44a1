// The informers' reconnect policy: short, jittered, reset by success, Retry-After honoured but capped.
import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  RECONNECT_BASE_MS,
  RECONNECT_MAX_MS,
  RETRY_AFTER_CAP_MS,
  reconnectDelay,
  retryAfterMs,
} from "../../../src/kube/backoff.js";

describe("reconnectDelay", () => {
  it("starts at 100-200 ms and doubles", () => {
    expect(reconnectDelay({ failures: 1, random: 0 })).toBe(RECONNECT_BASE_MS / 2);
    expect(reconnectDelay({ failures: 1, random: 0.999_999 })).toBe(RECONNECT_BASE_MS);
    expect(reconnectDelay({ failures: 2, random: 1 })).toBe(400);
    expect(reconnectDelay({ failures: 3, random: 1 })).toBe(800);
  });

  it("never exceeds 5 s however long the outage (the old policy reached 16-30 s)", () => {
    for (const failures of [6, 7, 10, 100, 1e6]) {
      for (const random of [0, 0.5, 0.999]) {
        const d = reconnectDelay({ failures, random });
        expect(d).toBeLessThanOrEqual(RECONNECT_MAX_MS);
        expect(d).toBeGreaterThanOrEqual(RECONNECT_MAX_MS / 2);
      }
    }
  });

  it("jitter spreads reconnects but never collapses to zero", () => {
    const ds = [0, 0.25, 0.5, 0.75].map((random) => reconnectDelay({ failures: 4, random }));
    expect(new Set(ds).size).toBe(4);
    expect(Math.min(...ds)).toBeGreaterThan(0);
  });

  it("honours Retry-After, but only up to 5 s (a 429 waited 30 s more)", () => {
    expect(reconnectDelay({ failures: 1, random: 0, retryAfterMs: 1_000 })).toBe(1_000);
    expect(reconnectDelay({ failures: 1, random: 0, retryAfterMs: 120_000 })).toBe(RETRY_AFTER_CAP_MS);
    // A shorter Retry-After than the backoff does not shorten the backoff.
    expect(reconnectDelay({ failures: 5, random: 1, retryAfterMs: 1 })).toBe(3_200);
  });

  it("tolerates nonsense input", () => {
    expect(reconnectDelay({ failures: 0, random: -1 })).toBe(RECONNECT_BASE_MS / 2);
    expect(reconnectDelay({ failures: Number.NaN, random: 2 })).toBe(RECONNECT_BASE_MS);
    expect(reconnectDelay({ failures: Number.POSITIVE_INFINITY, random: 1 })).toBe(RECONNECT_MAX_MS);
    expect(reconnectDelay({ failures: 1, random: 0, retryAfterMs: Number.NaN })).toBe(RECONNECT_BASE_MS / 2);
  });
});

describe("retryAfterMs", () => {
  const api = (headers: Record<string, string>) => new ApiException(429, "Too Many Requests", "", headers);

  it("reads seconds and HTTP dates from an ApiException, any header case", () => {
    expect(retryAfterMs(api({ "retry-after": "2" }))).toBe(2_000);
    expect(retryAfterMs(api({ "Retry-After": "1" }))).toBe(1_000);
    const now = Date.parse("2026-12-01T20:00:00Z");
    expect(retryAfterMs(api({ "retry-after": "Tue, 01 Dec 2026 20:00:03 GMT" }), now)).toBe(3_000);
  });

  it("is undefined without a usable header or for other errors", () => {
    expect(retryAfterMs(api({}))).toBeUndefined();
    expect(retryAfterMs(api({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterMs(new Error("ECONNREFUSED"))).toBeUndefined();
  });
});
