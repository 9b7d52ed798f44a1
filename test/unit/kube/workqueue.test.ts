import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../../src/kube/workqueue.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("WorkQueue", () => {
  it("queues a key once however often it is added, in FIFO order", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
  });

  it("never hands a key to two workers: a key added while processing comes back after done()", async () => {
    const q = new WorkQueue();
    q.add("a");
    const key = await q.get();
    q.add("a"); // e.g. a watch event during the reconcile
    expect(q.length).toBe(0);
    let second: string | undefined;
    void q.get().then((k) => {
      second = k;
    });
    await sleep(5);
    expect(second).toBeUndefined();
    q.done(key ?? "");
    await sleep(5);
    expect(second).toBe("a");
  });

  it("addAfter keeps the earliest deadline for a key", async () => {
    const q = new WorkQueue();
    q.addAfter("a", 200);
    q.addAfter("a", 20); // earlier wins
    q.addAfter("a", 500); // later is ignored
    const started = Date.now();
    expect(await q.get()).toBe("a");
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(150);
  });

  it("backs off exponentially per key on failures and forgets after success", () => {
    const delays: number[] = [];
    const q = new WorkQueue({ baseDelayMs: 10 });
    const original = q.addAfter.bind(q);
    q.addAfter = (key: string, ms: number) => {
      delays.push(ms);
      original(key, ms);
    };
    for (let i = 0; i < 4; i++) q.addRateLimited("a");
    expect(delays).toEqual([10, 20, 40, 80]);
    expect(q.retries("a")).toBe(4);
    q.forget("a");
    q.addRateLimited("a");
    expect(delays.at(-1)).toBe(10);
    q.shutDown();
  });

  it("limits retries of many keys together with the overall token bucket", () => {
    const delays: number[] = [];
    const q = new WorkQueue({ baseDelayMs: 1, qps: 10, burst: 5, now: () => 1_000 });
    const original = q.addAfter.bind(q);
    q.addAfter = (key: string, ms: number) => {
      delays.push(ms);
      original(key, ms);
    };
    for (let i = 0; i < 8; i++) q.addRateLimited(`key-${i}`);
    // The burst of 5 goes at once (per-key 1 ms), then one slot per 100 ms.
    expect(delays.slice(0, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(delays.slice(5)).toEqual([100, 200, 300]);
    q.shutDown();
  });

  it("shutDown releases waiting workers", async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
  });
});
