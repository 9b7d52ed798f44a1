// Node turns a timer delay above 2^31-1 ms into 1 ms; every delay Serin sets is clamped first.
import { describe, expect, it } from "vitest";
import { startDeadline, untilAborted } from "../../../src/net/deadline.js";
import { clampDelay, MAX_TIMER_MS, sleep } from "../../../src/net/timers.js";

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("clampDelay", () => {
  it("caps at 2^31-1 ms and turns NaN and negatives into 0", () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    expect(clampDelay(2 ** 31)).toBe(MAX_TIMER_MS);
    expect(clampDelay(2 ** 31 - 1)).toBe(MAX_TIMER_MS);
    expect(clampDelay(2 ** 53)).toBe(MAX_TIMER_MS);
    expect(clampDelay(Number.POSITIVE_INFINITY)).toBe(MAX_TIMER_MS);
    expect(clampDelay(Number.NaN)).toBe(0);
    expect(clampDelay(-5)).toBe(0);
    expect(clampDelay(1500)).toBe(1500);
    expect(clampDelay(0.2)).toBe(1);
  });
});

describe("sleep", () => {
  it("a sleep of 2^31 ms and more does not end after 1 ms", async () => {
    const ac = new AbortController();
    let ended: boolean | undefined;
    void sleep(2 ** 31, ac.signal).then((v) => {
      ended = v;
    });
    void sleep(2 ** 40, ac.signal);
    await tick(50);
    expect(ended).toBeUndefined();
    ac.abort();
    await tick(5);
    expect(ended).toBe(false);
  });

  it("resolves true after the delay and false at once when aborted (never rejects)", async () => {
    expect(await sleep(10)).toBe(true);
    const ac = new AbortController();
    ac.abort();
    expect(await sleep(60_000, ac.signal)).toBe(false);
    const later = new AbortController();
    const started = Date.now();
    setTimeout(() => later.abort(), 30);
    expect(await sleep(60_000, later.signal)).toBe(false);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe("startDeadline", () => {
  it("a deadline of 2^31 ms and more is not already over", async () => {
    const d = startDeadline(2 ** 31 + 10);
    const e = startDeadline(2 ** 45);
    await tick(30);
    expect(d.signal.aborted).toBe(false);
    expect(e.signal.aborted).toBe(false);
    d.dispose();
    e.dispose();
  });

  it("tells its own expiry from the parent's abort", async () => {
    const short = startDeadline(20);
    await tick(60);
    expect(short.signal.aborted).toBe(true);
    expect(short.expired()).toBe(true);
    expect(short.parentAborted()).toBe(false);
    const parent = new AbortController();
    const child = startDeadline(60_000, parent.signal);
    parent.abort();
    expect(child.signal.aborted).toBe(true);
    expect(child.expired()).toBe(false);
    expect(child.parentAborted()).toBe(true);
    child.dispose();
  });

  it("untilAborted answers at the abort and ignores a later rejection", async () => {
    const ac = new AbortController();
    let reject: (e: Error) => void = () => {};
    const pending = new Promise<string>((_resolve, r) => {
      reject = r;
    });
    setTimeout(() => ac.abort(), 10);
    expect(await untilAborted(pending, ac.signal, () => "stopped")).toBe("stopped");
    reject(new Error("late"));
    await tick(5);
  });
});
