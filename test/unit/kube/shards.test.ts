// Shards (docs/scale.md "Shards"): the hash, the balancing plan, and the Lease protocol on an in-memory
// Lease API with a simulated clock — at no instant do two replicas act on one shard, a dead replica's
// shards move only after a lease duration, a partitioned one stops acting within the renew deadline.
import type { V1Lease } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type LeaseApi, SHARD_COUNT_ANNOTATION, ShardManager } from "../../../src/kube/shard-leases.js";
import { fnv1a32, leaseSafe, Observations, plan, shardOf } from "../../../src/kube/shards.js";

const silent = pino({ level: "silent" });

class ApiError extends Error {
  constructor(readonly code: number) {
    super(`HTTP ${code}`);
  }
}

/** The API server's Lease semantics that matter: resourceVersion fencing, 404, 409 on create. */
class FakeLeases {
  readonly leases = new Map<string, V1Lease>();
  private rv = 0;
  writes = 0;
  lists = 0;

  client(reachable: () => boolean = () => true): LeaseApi {
    const check = () => {
      if (!reachable()) throw new Error("connect ECONNREFUSED");
    };
    return {
      list: async (_ns, selector) => {
        check();
        this.lists++;
        const [key, value] = selector.split("=");
        return [...this.leases.values()]
          .filter((l) => l.metadata?.labels?.[key ?? ""] === value)
          .map((l) => structuredClone(l));
      },
      create: async (_ns, lease) => {
        check();
        const name = lease.metadata?.name ?? "";
        if (this.leases.has(name)) throw new ApiError(409);
        return this.store(lease);
      },
      replace: async (_ns, lease) => {
        check();
        const current = this.leases.get(lease.metadata?.name ?? "");
        if (current === undefined) throw new ApiError(404);
        if (current.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw new ApiError(409);
        return this.store(lease);
      },
      remove: async (_ns, name, resourceVersion) => {
        check();
        const current = this.leases.get(name);
        if (current === undefined) throw new ApiError(404);
        if (current.metadata?.resourceVersion !== resourceVersion) throw new ApiError(409);
        this.leases.delete(name);
      },
    };
  }

  private store(lease: V1Lease): V1Lease {
    this.writes++;
    const stored = structuredClone(lease);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.rv) };
    this.leases.set(stored.metadata.name ?? "", stored);
    return structuredClone(stored);
  }

  holder(k: number, prefix = "serin"): string {
    return this.leases.get(`${prefix}-shard-${k}`)?.spec?.holderIdentity ?? "";
  }
}

const S = 16;
/** One Canary key per shard, to ask owns() about a shard. */
const keyFor: string[] = [];
for (let i = 0; keyFor.filter(Boolean).length < S; i++) {
  const key = `ns/canary-${i}`;
  keyFor[shardOf(key, S)] ??= key;
}

interface Replica {
  name: string;
  manager: ShardManager;
  alive: boolean;
  reachable: boolean;
  phaseMs: number;
  fenceLost: number;
  gained: number[];
}

/** Replicas on one fake API and one simulated clock; ticks every retry period, each at its own phase. */
class Fleet {
  now = 1_000_000;
  readonly api = new FakeLeases();
  readonly replicas: Replica[] = [];
  /** per shard: intervals [from, to) during which some replica owned it, for the overlap check */
  readonly violations: string[] = [];

  add(name: string, opts: { shards?: number; phaseMs?: number } = {}): Replica {
    const r: Replica = {
      name,
      alive: true,
      reachable: true,
      phaseMs: opts.phaseMs ?? this.replicas.length * 700,
      fenceLost: 0,
      gained: [],
      manager: undefined as unknown as ShardManager,
    };
    r.manager = new ShardManager(
      this.api.client(() => r.reachable),
      { namespace: "serin-system", prefix: "serin", identity: name, shards: opts.shards ?? S },
      silent,
      undefined,
      () => this.now,
    );
    // start() would run real timers; the simulation calls tick() itself, so only hook the events.
    (r.manager as unknown as { events: unknown }).events = {
      gained: (k: number[]) => r.gained.push(...k),
      released: () => {},
      fenceLost: () => {
        r.fenceLost++;
      },
    };
    this.replicas.push(r);
    return r;
  }

  owners(k: number): string[] {
    const key = keyFor[k] ?? "";
    return this.replicas.filter((r) => r.alive && r.manager.owns(key)).map((r) => r.name);
  }

  /** Advances the clock in 100 ms steps, ticking due replicas and checking "one owner at a time". */
  async run(ms: number): Promise<void> {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 100;
      for (const r of this.replicas) {
        if (r.alive && (this.now - r.phaseMs) % r.manager.retryPeriodMs === 0) await r.manager.tick();
      }
      for (let k = 0; k < S; k++) {
        const owners = this.owners(k);
        if (owners.length > 1) this.violations.push(`t=${this.now} shard ${k}: ${owners.join(", ")}`);
      }
    }
  }

  counts(): Record<string, number> {
    return Object.fromEntries(this.replicas.map((r) => [r.name, r.alive ? r.manager.held().length : 0]));
  }
}

describe("shard hash", () => {
  it("is FNV-1a 32 (known vectors) and stable", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
    // Pinned: a change of hash would move every Canary to another shard during an upgrade.
    expect(shardOf("istioinaction/catalog-release", 32)).toBe(fnv1a32("istioinaction/catalog-release") % 32);
    expect([shardOf("default/a", 32), shardOf("default/b", 32), shardOf("shop/é", 32)]).toEqual([
      fnv1a32("default/a") % 32,
      fnv1a32("default/b") % 32,
      fnv1a32("shop/é") % 32,
    ]);
    expect(shardOf("default/podinfo", 32)).toBe(shardOf("default/podinfo", 32));
  });

  it("spreads 2,000 Canaries evenly over 32 shards", () => {
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 2000; i++) {
      const k = shardOf(`ns-${i % 40}/canary-${i}`, 32);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(40);
    expect(Math.max(...counts)).toBeLessThan(90);
  });

  it("makes Lease-safe names from identities", () => {
    expect(leaseSafe("Host_A-12-ab")).toBe("host-a-12-ab");
    const long = leaseSafe("x".repeat(100));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });
});

describe("liveness by observation", () => {
  it("times a record from when it was seen to change, on the observer's clock", () => {
    const o = new Observations();
    o.observe("a", "rv1", 1000);
    expect(o.unchangedFor("a", 5000)).toBe(4000);
    o.observe("a", "rv1", 6000);
    expect(o.unchangedFor("a", 6000)).toBe(5000);
    o.observe("a", "rv2", 7000);
    expect(o.unchangedFor("a", 7000)).toBe(0);
    expect(o.unchangedFor("never-seen", 7000)).toBe(0);
  });
});

describe("balancing plan", () => {
  const base = { identity: "a", shards: 8, busy: new Set<number>(), agreed: true };
  it("alone: takes every free shard", () => {
    const p = plan({ ...base, holders: new Map(), live: new Set(["a"]) });
    expect(p.target).toBe(8);
    expect(p.acquire.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("a newcomer: the holder gives back idle shards down to ceil(S / live), never a busy one", () => {
    const holders = new Map(Array.from({ length: 8 }, (_, k) => [k, "a"] as const));
    const p = plan({ ...base, holders, live: new Set(["a", "b", "c"]), busy: new Set([0, 1, 2, 3, 4]) });
    expect(p.target).toBe(3);
    expect(p.release.sort()).toEqual([5, 6, 7]);
    const b = plan({ ...base, identity: "b", holders, live: new Set(["a", "b", "c"]) });
    expect(b.acquire).toEqual([]); // nothing free: a live holder's shards are never taken
  });

  it("takes a dead holder's shards, up to its target", () => {
    const holders = new Map<number, string>([
      [0, "a"],
      [1, "a"],
      [2, "dead"],
      [3, "dead"],
      [4, "dead"],
      [5, "dead"],
      [6, "b"],
      [7, "b"],
    ]);
    const p = plan({ ...base, holders, live: new Set(["a", "b"]) });
    expect(p.target).toBe(4);
    expect(p.acquire).toHaveLength(2);
    expect(p.acquire.every((k) => k >= 2 && k <= 5)).toBe(true);
  });

  it("replicas that disagree on the shard count stand down", () => {
    const holders = new Map<number, string>([
      [0, "a"],
      [1, "a"],
    ]);
    const p = plan({ ...base, holders, live: new Set(["a", "b"]), agreed: false, busy: new Set([1]) });
    expect(p).toEqual({ target: 0, acquire: [], release: [0] });
  });
});

describe("shard Leases", () => {
  it("three replicas split the shards, one owner per shard at every instant", async () => {
    const fleet = new Fleet();
    fleet.add("a");
    await fleet.run(3_000);
    expect(fleet.counts()).toEqual({ a: S });
    fleet.add("b");
    fleet.add("c");
    await fleet.run(10_000);
    const counts = Object.values(fleet.counts());
    expect(counts.reduce((x, y) => x + y, 0)).toBe(S);
    expect(Math.max(...counts)).toBeLessThanOrEqual(Math.ceil(S / 3));
    expect(fleet.violations).toEqual([]);
    for (let k = 0; k < S; k++) expect(fleet.owners(k)).toHaveLength(1);
  });

  it("a dead replica's shards move only after a lease duration, then within a retry period or two", async () => {
    const fleet = new Fleet();
    const [a, b, c] = [fleet.add("a"), fleet.add("b"), fleet.add("c")];
    await fleet.run(20_000);
    const orphaned = b.manager.held();
    expect(orphaned.length).toBeGreaterThan(0);
    b.alive = false; // SIGKILL: no more renewals, nothing given back
    const killedAt = fleet.now;
    const takenAt = new Map<number, number>();
    while (fleet.now - killedAt < 30_000 && takenAt.size < orphaned.length) {
      await fleet.run(100);
      for (const k of orphaned) if (!takenAt.has(k) && fleet.owners(k).length > 0) takenAt.set(k, fleet.now);
    }
    const delays = [...takenAt.values()].map((t) => t - killedAt);
    expect(takenAt.size).toBe(orphaned.length);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(a.manager.leaseDurationMs);
    expect(Math.max(...delays)).toBeLessThanOrEqual(a.manager.leaseDurationMs + 2 * a.manager.retryPeriodMs);
    await fleet.run(6_000);
    expect(a.manager.held().length + c.manager.held().length).toBe(S);
    expect(fleet.violations).toEqual([]);
    // Its member Lease is collected once it has been dead for two lease durations and holds nothing.
    await fleet.run(20_000);
    expect([...fleet.api.leases.keys()].some((n) => n.includes("member-b"))).toBe(false);
  });

  it("a replica cut off from the API stops acting within the renew deadline, before anyone takes over", async () => {
    const fleet = new Fleet();
    const [a, b] = [fleet.add("a"), fleet.add("b")];
    await fleet.run(20_000);
    const cut = a.manager.held();
    const lastRenew = fleet.now;
    a.reachable = false;
    let stoppedAt: number | undefined;
    let takenAt: number | undefined;
    while (fleet.now - lastRenew < 30_000) {
      await fleet.run(100);
      if (stoppedAt === undefined && a.manager.held().length === 0) stoppedAt = fleet.now;
      if (takenAt === undefined && cut.every((k) => fleet.owners(k).includes("b"))) takenAt = fleet.now;
    }
    expect(stoppedAt).toBeDefined();
    expect(takenAt).toBeDefined();
    expect((stoppedAt ?? 0) - lastRenew).toBeLessThanOrEqual(a.manager.renewDeadlineMs);
    expect((takenAt ?? 0) - (stoppedAt ?? 0)).toBeGreaterThanOrEqual(
      a.manager.leaseDurationMs - a.manager.renewDeadlineMs - a.manager.retryPeriodMs,
    );
    expect(a.fenceLost).toBe(1);
    expect(b.manager.held()).toHaveLength(S);
    expect(fleet.violations).toEqual([]);
  });

  it("back after a fence loss, a replica claims its shards again with fenced writes, never by memory", async () => {
    const fleet = new Fleet();
    const [a, b] = [fleet.add("a"), fleet.add("b")];
    await fleet.run(20_000);
    const held = a.manager.held();
    a.reachable = false;
    await fleet.run(a.manager.renewDeadlineMs + 1_000); // fenced, but not yet dead for b
    expect(a.manager.held()).toEqual([]);
    expect(a.fenceLost).toBe(1);
    const writes = fleet.api.writes;
    a.reachable = true;
    await fleet.run(4_000);
    expect(a.manager.held()).toEqual(held);
    // one write per shard claimed back, besides the member renewals
    expect(fleet.api.writes - writes).toBeGreaterThanOrEqual(held.length);
    expect(b.manager.held()).toHaveLength(S - held.length);
    expect(fleet.violations).toEqual([]);
  });

  it("never gives back a shard with a reconcile in flight", async () => {
    const fleet = new Fleet();
    const a = fleet.add("a");
    await fleet.run(3_000);
    const all = a.manager.held();
    for (const k of all) expect(a.manager.begin(keyFor[k] ?? "")).toBe(true);
    fleet.add("b");
    await fleet.run(10_000);
    expect(a.manager.held()).toEqual(all); // all busy: nothing given back
    for (const k of all) a.manager.end(keyFor[k] ?? "");
    await fleet.run(6_000);
    expect(a.manager.held()).toHaveLength(S / 2);
    expect(fleet.violations).toEqual([]);
  });

  it("a graceful stop gives every shard back at once", async () => {
    const fleet = new Fleet();
    const [a, b] = [fleet.add("a"), fleet.add("b")];
    await fleet.run(20_000);
    await a.manager.stop();
    a.alive = false;
    for (let k = 0; k < S; k++) expect(fleet.api.holder(k)).not.toBe("a");
    await fleet.run(4_200); // two retry periods, far less than a lease duration
    expect(b.manager.held()).toHaveLength(S);
    expect([...fleet.api.leases.keys()].some((n) => n.includes("member-a"))).toBe(false);
  });

  it("stop() on a started manager wakes its sleeping loop and gives the shards back at once", async () => {
    // Real timers, through start(): the loop sleeps a retry period between rounds, and SIGTERM arrives
    // during that sleep. Clearing the timer alone left stop() awaiting the loop until main's deadline.
    const api = new FakeLeases();
    const manager = new ShardManager(
      api.client(),
      { namespace: "serin-system", prefix: "serin", identity: "solo", shards: 4 },
      silent,
    );
    manager.start({ gained: () => {}, released: () => {}, fenceLost: () => {} });
    for (let i = 0; i < 50 && manager.held().length < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(manager.held()).toHaveLength(4);
    const began = Date.now();
    const stopped = await Promise.race([
      manager.stop().then(() => "stopped"),
      new Promise((r) => setTimeout(() => r("still asleep"), 1_000)),
    ]);
    expect(stopped).toBe("stopped");
    expect(Date.now() - began).toBeLessThan(1_000);
    for (let k = 0; k < 4; k++) expect(api.holder(k)).toBe("");
    expect(api.leases.has("serin-member-solo")).toBe(false);
  });

  it("replicas with different --shards stand down until one kind is gone", async () => {
    const fleet = new Fleet();
    const a = fleet.add("a");
    await fleet.run(3_000);
    const b = fleet.add("b", { shards: 8 });
    await fleet.run(6_000);
    expect(a.manager.held()).toEqual([]);
    expect(b.manager.held()).toEqual([]);
    expect(fleet.api.leases.get("serin-member-b")?.metadata?.annotations?.[SHARD_COUNT_ANNOTATION]).toBe("8");
    a.alive = false;
    await fleet.run(20_000);
    expect(b.manager.held()).toHaveLength(8);
  });

  it("idle API traffic: one renewal and one list per replica per retry period", async () => {
    const fleet = new Fleet();
    fleet.add("a");
    fleet.add("b");
    fleet.add("c");
    await fleet.run(30_000);
    const [writes, lists] = [fleet.api.writes, fleet.api.lists];
    await fleet.run(60_000);
    // 3 replicas x 30 rounds in a minute, no shard moved.
    expect(fleet.api.writes - writes).toBe(90);
    expect(fleet.api.lists - lists).toBe(90);
  });
});
