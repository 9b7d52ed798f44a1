// Nothing in the queue caps a fleet's throughput: watch events, timers and stale-cache retries are never
// throttled (only failure retries go through the overall bucket), and a fleet in one namespace may use
// idle workers beyond its share while other namespaces keep theirs.
import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../../src/kube/workqueue.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `n` workers' get() calls; returns what each has received so far. */
function workers(q: WorkQueue, n: number): Array<string | undefined> {
  const got: Array<string | undefined> = new Array(n).fill(undefined);
  for (let i = 0; i < n; i++) {
    void q.get().then((k) => {
      got[i] = k;
    });
  }
  return got;
}

describe("WorkQueue throughput at 1,000 Canaries", () => {
  it("add() and addAfter() are never throttled, even with the overall bucket empty", async () => {
    const q = new WorkQueue({ qps: 10, burst: 5, now: () => 1_000 });
    // Empty the bucket with failures first.
    const delays: number[] = [];
    const original = q.addAfter.bind(q);
    q.addAfter = (key: string, ms: number) => {
      delays.push(ms);
      original(key, ms);
    };
    for (let i = 0; i < 10; i++) q.addRateLimited(`failing/${i}`);
    expect(delays.slice(5)).toEqual([100, 200, 300, 400, 500]);
    q.addAfter = original;
    // 1,000 watch events at once: all queued now.
    for (let i = 0; i < 1_000; i++) q.add(`ns-${i % 10}/c-${i}`);
    expect(q.length).toBe(1_000);
    // 1,000 analysis timers due in 10 ms: all queued 10 ms later, not at 10 per second.
    for (let i = 0; i < 1_000; i++) q.addAfter(`timed-${i % 10}/c-${i}`, 10);
    await sleep(60);
    // (+5: the failures the burst let through after their 5 ms backoff; the other 5 wait for slots)
    expect(q.length).toBe(2_005);
    q.shutDown();
  });

  it("failure retries still share the overall bucket; stale-cache retries use only their own backoff", () => {
    const q = new WorkQueue({ baseDelayMs: 5, qps: 10, burst: 2, now: () => 1_000 });
    const delays: number[] = [];
    const original = q.addAfter.bind(q);
    q.addAfter = (key: string, ms: number) => {
      delays.push(ms);
      original(key, ms);
    };
    q.addRateLimited("a/1");
    q.addRateLimited("a/2");
    q.addRateLimited("a/3"); // bucket empty: 100 ms slot
    expect(delays).toEqual([5, 5, 100]);
    delays.length = 0;
    for (let i = 0; i < 50; i++) q.addRateLimited(`stale/${i}`, { overall: false });
    expect(delays).toEqual(new Array(50).fill(5)); // not 200, 300, ... 5,000 ms
    q.addRateLimited("stale/0", { overall: false });
    expect(delays.at(-1)).toBe(10); // its own exponential backoff still applies
    expect(q.retries("stale/0")).toBe(2);
    // And the bucket was left alone: the next failure gets the next slot after a/3's.
    q.addRateLimited("a/4");
    expect(delays.at(-1)).toBe(200);
    q.shutDown();
  });

  it("1,000 namespaces of one Canary each: every worker busy, round-robin", async () => {
    const q = new WorkQueue({ perNamespaceLimit: 4, capacity: 16 });
    for (let i = 0; i < 1_000; i++) q.add(`ns-${i}/c`);
    const got = workers(q, 16);
    await sleep(0);
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => `ns-${i}/c`));
    expect(q.length).toBe(984);
    q.shutDown();
  });

  it("1,000 Canaries in one namespace use capacity - share workers, not one share", async () => {
    const q = new WorkQueue({ perNamespaceLimit: 4, capacity: 16 });
    for (let i = 0; i < 1_000; i++) q.add(`shop/c-${i}`);
    const got = workers(q, 16);
    await sleep(0);
    expect(got.filter((k) => k !== undefined)).toHaveLength(12);
    expect(q.inFlightIn("shop")).toBe(12);
    // Another namespace still finds its share free at once.
    for (let i = 0; i < 6; i++) q.add(`billing/c-${i}`);
    await sleep(0);
    expect(got.filter((k) => k?.startsWith("billing/"))).toHaveLength(4);
    // Two shop keys done: shop is over its share and 14 are in flight (ceiling 16 - 4 = 12), so the
    // freed workers wait for a namespace below its share rather than borrow again.
    q.done("shop/c-0");
    q.done("shop/c-1");
    const more = workers(q, 2);
    await sleep(0);
    expect(more).toEqual([undefined, undefined]);
    // A billing key done: billing is below its share again, and its next key flows.
    q.done(got.find((k) => k?.startsWith("billing/")) ?? "");
    await sleep(0);
    expect(more[0]).toBe("billing/c-4");
    expect(q.inFlightIn("shop") + q.inFlightIn("billing")).toBe(14);
    q.shutDown();
  });

  it("without capacity the share is a hard limit (the previous behaviour)", async () => {
    const q = new WorkQueue({ perNamespaceLimit: 4 });
    for (let i = 0; i < 100; i++) q.add(`shop/c-${i}`);
    const got = workers(q, 16);
    await sleep(0);
    expect(got.filter((k) => k !== undefined)).toHaveLength(4);
    q.shutDown();
  });

  it("a hung namespace that borrowed workers still leaves every other namespace its share", async () => {
    const q = new WorkQueue({ perNamespaceLimit: 2, capacity: 8 });
    for (let i = 0; i < 20; i++) q.add(`noisy/hang-${i}`);
    const got = workers(q, 8);
    await sleep(0);
    expect(q.inFlightIn("noisy")).toBe(6); // never done: hung webhooks
    q.add("quiet/a");
    q.add("quiet/b");
    q.add("quiet/c");
    await sleep(0);
    expect(got.filter((k) => k?.startsWith("quiet/"))).toEqual(["quiet/a", "quiet/b"]);
    q.shutDown();
  });
});
