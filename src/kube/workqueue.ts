// A keyed work queue with controller-runtime's discipline:
// - a key is queued at most once (dirty set), and never processed by two workers at once (processing set):
//   a key added while processing is re-queued when its worker calls done();
// - addAfter() for "look again in N ms" (the per-canary analysis timer), keeping the earliest deadline;
// - addRateLimited() for failures: per-key exponential backoff 5 ms .. 1000 s, with an overall token bucket
//   (10 qps, burst 100) so a cluster-wide outage does not become a retry storm.

export interface WorkQueueMetrics {
  depth(n: number): void;
  added(): void;
  retried(): void;
}

const noMetrics: WorkQueueMetrics = { depth: () => {}, added: () => {}, retried: () => {} };

export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  qps?: number;
  burst?: number;
  metrics?: WorkQueueMetrics;
  now?: () => number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private lastRefill: number;
  private nextBucketSlot = 0;
  private shuttingDown = false;
  private readonly metrics: WorkQueueMetrics;
  private readonly now: () => number;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? 5;
    this.maxDelayMs = options.maxDelayMs ?? 1_000_000;
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    this.tokens = this.burst;
    this.metrics = options.metrics ?? noMetrics;
    this.now = options.now ?? Date.now;
    this.lastRefill = this.now();
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics.added();
    this.dirty.add(key);
    if (this.processing.has(key)) return; // done() re-queues it
    const waiter = this.waiters.shift();
    if (waiter) waiter(key);
    else {
      this.queue.push(key);
      this.metrics.depth(this.queue.length);
    }
  }

  /** Adds the key after `delayMs`; an earlier pending deadline for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /** Backoff for a failed key: max(per-key exponential, overall bucket). */
  addRateLimited(key: string): void {
    const attempts = this.failures.get(key) ?? 0;
    this.failures.set(key, attempts + 1);
    this.metrics.retried();
    const perKey = Math.min(this.baseDelayMs * 2 ** attempts, this.maxDelayMs);
    this.addAfter(key, Math.max(perKey, this.bucketDelay()));
  }

  /** Clears the key's failure history (call after a successful reconcile). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Resolves with the next key, or undefined once the queue shuts down. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.metrics.depth(this.queue.length);
      return Promise.resolve(this.take(key));
    }
    return new Promise((resolve) =>
      this.waiters.push((k) => resolve(k === undefined ? undefined : this.take(k))),
    );
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      // Added again while we worked on it: process the newer state (the key stays dirty until taken).
      const waiter = this.waiters.shift();
      if (waiter) waiter(key);
      else {
        this.queue.push(key);
        this.metrics.depth(this.queue.length);
      }
    }
  }

  get length(): number {
    return this.queue.length;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private bucketDelay(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.qps);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    // Out of tokens: hand out evenly spaced future slots.
    this.nextBucketSlot = Math.max(this.nextBucketSlot, now) + 1000 / this.qps;
    return this.nextBucketSlot - now;
  }
}
