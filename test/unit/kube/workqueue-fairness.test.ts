// Fairness between namespaces and timer safety: one namespace whose reconciles hang must not stop
// another namespace's keys, and no delay may overflow Node's 32-bit timers.
import { afterEach, describe, expect, it, vi } from "vitest";
import { namespaceOf, WorkQueue } from "../../../src/kube/workqueue.js";
import { MAX_TIMER_MS } from "../../../src/net/timers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("per-namespace in-flight limit", () => {
  it("a namespace with N stuck keys does not stop another namespace's key being handed out", async () => {
    const q = new WorkQueue({ perNamespaceLimit: 2 });
    for (let i = 0; i < 6; i++) q.add(`shop/stuck-${i}`);
    // Two workers take two of shop's keys and never finish (hung webhooks).
    expect(await q.get()).toBe("shop/stuck-0");
    expect(await q.get()).toBe("shop/stuck-1");
    expect(q.inFlightIn("shop")).toBe(2);
    // A third worker finds nothing it may take: shop is at its limit.
    let third: string | undefined;
    void q.get().then((k) => {
      third = k;
    });
    await sleep(5);
    expect(third).toBeUndefined();
    // Another namespace's key goes to that waiting worker at once.
    q.add("billing/invoice");
    await sleep(0);
    expect(third).toBe("billing/invoice");
    // And when one of shop's keys finishes, its next key flows again.
    q.done("shop/stuck-0");
    expect(await q.get()).toBe("shop/stuck-2");
    q.shutDown();
  });

  it("serves namespaces round-robin, FIFO within each", async () => {
    const q = new WorkQueue();
    for (const k of ["a/1", "a/2", "a/3", "b/1", "c/1", "b/2"]) q.add(k);
    const order: string[] = [];
    for (let i = 0; i < 6; i++) order.push((await q.get()) ?? "");
    expect(order).toEqual(["a/1", "b/1", "c/1", "a/2", "b/2", "a/3"]);
    expect(q.length).toBe(0);
  });

  it("keeps the other guarantees: dedupe, no concurrent processing, re-queue after done", async () => {
    const q = new WorkQueue({ perNamespaceLimit: 1 });
    q.add("ns/a");
    q.add("ns/a");
    expect(q.length).toBe(1);
    const key = await q.get();
    q.add("ns/a"); // changed while processing
    q.add("ns/b");
    let next: string | undefined;
    void q.get().then((k) => {
      next = k;
    });
    await sleep(5);
    expect(next).toBeUndefined(); // ns is at its limit of 1
    q.done(key ?? "");
    await sleep(0);
    expect(next).toBe("ns/b"); // FIFO: b was queued before a came back
    q.done("ns/b");
    expect(await q.get()).toBe("ns/a");
    q.shutDown();
  });

  it("done() of a key that was not handed out changes nothing", () => {
    const q = new WorkQueue({ perNamespaceLimit: 1 });
    q.done("ns/never");
    expect(q.inFlightIn("ns")).toBe(0);
  });

  it("namespaceOf", () => {
    expect(namespaceOf("shop/catalog")).toBe("shop");
    expect(namespaceOf("plain")).toBe("");
  });
});

describe("timer safety", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("addAfter clamps delays above 2^31-1 ms instead of letting Node fire them after 1 ms", () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter("ns/slow", 597 * 3_600_000 * 10); // far beyond 24.8 days
    vi.advanceTimersByTime(10);
    expect(q.length).toBe(0);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(q.length).toBe(1);
    q.shutDown();
  });

  it("NaN and Infinity wait the longest a timer can, never zero", () => {
    vi.useFakeTimers();
    const q = new WorkQueue();
    q.addAfter("ns/nan", Number.NaN);
    q.addAfter("ns/inf", Number.POSITIVE_INFINITY);
    vi.advanceTimersByTime(1_000);
    expect(q.length).toBe(0);
    q.shutDown();
  });

  it("huge per-key backoff stays within a timer's range", async () => {
    vi.useFakeTimers();
    const q = new WorkQueue({ baseDelayMs: 5, maxDelayMs: Number.MAX_SAFE_INTEGER });
    // 40 failures in a row: the next backoff would be 5 ms x 2^40, far beyond a timer's range.
    for (let i = 0; i < 40; i++) {
      q.addRateLimited("ns/k");
      vi.advanceTimersByTime(MAX_TIMER_MS);
      q.done((await q.get()) ?? "");
    }
    q.addRateLimited("ns/k");
    vi.advanceTimersByTime(1_000);
    expect(q.length).toBe(0); // not fired early through an overflow
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(q.length).toBe(1);
    q.shutDown();
  });
});
