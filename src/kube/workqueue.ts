// A keyed work queue with controller-runtime's discipline:
// - a key is queued at most once (dirty set), and never processed by two workers at once (processing set):
//   a key added while processing is re-queued when its worker calls done();
// - addAfter() for "look again in N ms" (the per-canary analysis timer), keeping the earliest deadline;
// - addRateLimited() for failures: per-key exponential backoff 5 ms .. 1000 s, with an overall token bucket
//   (10 qps, burst 100) so a cluster-wide outage does not become a retry storm. As in controller-runtime,
//   the bucket applies only to these failure retries: add() and addAfter() (watch events, the analysis
//   timer, the judge's looks) are never throttled — at 1,000 Canaries stepping every 10 s they alone are
//   100 adds/s, and a 10 qps cap on them would make every step late. A retry after a stale cache (409,
//   404: `{ overall: false }`) is not an outage either and skips the bucket too.
// And one addition: fairness between namespaces. Keys ("namespace/name") wait in one FIFO per namespace,
// get() serves the namespaces round-robin, and a namespace with `perNamespaceLimit` keys in flight is
// skipped until one of them is done. Four Canaries whose webhooks hang can then hold at most their own
// namespace's share of the workers, not every worker of the controller. With `capacity` (the number of
// workers), the limit is work-conserving: a namespace at its share may borrow an idle worker when no
// namespace below its share has a key waiting, as long as `perNamespaceLimit` workers stay free for the
// others. A fleet in one namespace then uses capacity - share workers instead of one share (12 of 16,
// not 4), and any other namespace still finds at least its share free.
import { clampDelay } from "../net/timers.js";

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
  /** keys of one namespace processed at once (default: unlimited) */
  perNamespaceLimit?: number;
  /** workers taking keys: lets a namespace at its limit borrow idle workers (see above); default none */
  capacity?: number;
  metrics?: WorkQueueMetrics;
  now?: () => number;
}

/** The namespace part of a "namespace/name" key ("" for keys without one). */
export function namespaceOf(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

export class WorkQueue {
  /** queued keys per namespace, FIFO; a namespace is present only while it has queued keys */
  private readonly queues = new Map<string, string[]>();
  /** namespaces in the order get() serves them; the head is served next */
  private readonly rotation: string[] = [];
  private queued = 0;
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly qps: number;
  private readonly burst: number;
  private readonly perNamespaceLimit: number;
  /** keys that may be in flight at once when some are borrowed beyond a namespace's limit */
  private readonly borrowCeiling: number;
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
    this.perNamespaceLimit = Math.max(1, options.perNamespaceLimit ?? Number.POSITIVE_INFINITY);
    this.borrowCeiling = options.capacity === undefined ? 0 : options.capacity - this.perNamespaceLimit;
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
    this.enqueue(key);
  }

  /** Adds the key after `delayMs` (clamped to what a Node timer can hold); an earlier pending deadline wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    // NaN is a caller's bug: wait as long as a timer can rather than spin (watch events and the
    // periodic resync still bring the key back sooner).
    const delay = clampDelay(Number.isNaN(delayMs) ? Number.POSITIVE_INFINITY : delayMs);
    if (delay <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delay;
    const pending = this.timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delay);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /**
   * Backoff for a failed key: max(per-key exponential, overall bucket). `overall: false` skips the
   * bucket: for a retry after a stale cache (409, 404), which says nothing about the API server's health.
   */
  addRateLimited(key: string, options: { overall?: boolean } = {}): void {
    const attempts = this.failures.get(key) ?? 0;
    this.failures.set(key, attempts + 1);
    this.metrics.retried();
    const perKey = Math.min(this.baseDelayMs * 2 ** attempts, this.maxDelayMs);
    this.addAfter(key, options.overall === false ? perKey : Math.max(perKey, this.bucketDelay()));
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
    const key = this.next();
    if (key !== undefined) return Promise.resolve(this.take(key));
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    if (!this.processing.delete(key)) return;
    const ns = namespaceOf(key);
    const n = (this.inFlight.get(ns) ?? 1) - 1;
    if (n > 0) this.inFlight.set(ns, n);
    else this.inFlight.delete(ns);
    // Added again while we worked on it: process the newer state (the key stays dirty until taken).
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
    else this.dispatch(); // a slot of this namespace is free: a waiting worker may take its next key
  }

  /** Keys waiting to be handed out (not counting those in flight or behind a timer). */
  get length(): number {
    return this.queued;
  }

  /** Keys being processed per namespace (for tests and diagnostics). */
  inFlightIn(namespace: string): number {
    return this.inFlight.get(namespace) ?? 0;
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private enqueue(key: string): void {
    const ns = namespaceOf(key);
    let q = this.queues.get(ns);
    if (q === undefined) {
      q = [];
      this.queues.set(ns, q);
      this.rotation.push(ns);
    }
    q.push(key);
    this.queued++;
    this.metrics.depth(this.queued);
    this.dispatch();
  }

  /** Hands queued keys to waiting workers while both exist. */
  private dispatch(): void {
    while (this.waiters.length > 0) {
      const key = this.next();
      if (key === undefined) return;
      this.waiters.shift()?.(this.take(key));
    }
  }

  /**
   * Removes and returns the next key: the first namespace in rotation below its limit, FIFO within it;
   * failing that, with `capacity`, the first namespace with a key at all, while fewer than
   * capacity - perNamespaceLimit keys are in flight (a borrowed worker).
   */
  private next(): string | undefined {
    const key = this.nextFrom(false);
    if (key !== undefined || this.processing.size >= this.borrowCeiling) return key;
    return this.nextFrom(true);
  }

  private nextFrom(borrowing: boolean): string | undefined {
    for (let i = 0; i < this.rotation.length; i++) {
      const ns = this.rotation[i] ?? "";
      if (!borrowing && (this.inFlight.get(ns) ?? 0) >= this.perNamespaceLimit) continue;
      const q = this.queues.get(ns);
      const key = q?.shift();
      if (q === undefined || key === undefined) continue;
      this.rotation.splice(i, 1);
      // Served: go to the back of the rotation if it has more, so every namespace gets its turn.
      if (q.length > 0) this.rotation.push(ns);
      else this.queues.delete(ns);
      this.queued--;
      this.metrics.depth(this.queued);
      return key;
    }
    return undefined;
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    const ns = namespaceOf(key);
    this.inFlight.set(ns, (this.inFlight.get(ns) ?? 0) + 1);
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
