// Envoy circuit breakers (a cluster's circuit_breakers thresholds), per client sidecar and cluster.

/** Envoy circuit breaker thresholds, as the simulator enforces them (Infinity = no limit). */
export interface PoolLimits {
  /** max_connections: requests in flight at once (HTTP/1.1: one per connection). */
  maxConnections: number;
  /** max_pending_requests: requests allowed to wait for a connection. */
  maxPending: number;
  /** max_requests: requests in flight at once to the cluster. */
  maxRequests: number;
}

export type Release = () => void;

interface Pool {
  active: number;
  pending: Array<(release: Release | undefined) => void>;
}

export type Admission = { kind: "granted"; release: Release } | { kind: "overflow" } | { kind: "aborted" };

export class ConnectionPools {
  private readonly pools = new Map<string, Pool>();

  /**
   * Admit one request: straight through while fewer than maxConnections are in flight, else queued while
   * fewer than maxPending wait, else overflow (Envoy answers 503 with response flag UO).
   */
  acquire(key: string, limits: PoolLimits, signal?: AbortSignal): Promise<Admission> {
    if (
      limits.maxConnections === Number.POSITIVE_INFINITY &&
      limits.maxRequests === Number.POSITIVE_INFINITY &&
      !this.pools.has(key)
    ) {
      return Promise.resolve({ kind: "granted", release: () => {} });
    }
    let pool = this.pools.get(key);
    if (!pool) {
      pool = { active: 0, pending: [] };
      this.pools.set(key, pool);
    }
    const p = pool;
    if (p.active >= limits.maxRequests) return Promise.resolve({ kind: "overflow" });
    if (p.active < limits.maxConnections) {
      p.active++;
      return Promise.resolve({ kind: "granted", release: this.releaser(key, p) });
    }
    if (p.pending.length >= limits.maxPending) return Promise.resolve({ kind: "overflow" });
    // An already-aborted signal never fires 'abort' again: queueing would strand the waiter.
    if (signal?.aborted) return Promise.resolve({ kind: "aborted" });
    return new Promise<Admission>((resolve) => {
      const waiter = (release: Release | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(release ? { kind: "granted", release } : { kind: "aborted" });
      };
      const onAbort = () => {
        const i = p.pending.indexOf(waiter);
        if (i >= 0) p.pending.splice(i, 1);
        resolve({ kind: "aborted" });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      p.pending.push(waiter);
    });
  }

  private releaser(key: string, pool: Pool): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = pool.pending.shift();
      if (next) {
        next(this.releaser(key, pool));
        return;
      }
      pool.active--;
      if (pool.active <= 0 && pool.pending.length === 0) this.pools.delete(key);
    };
  }
}
