// Shards: the pure part of Lease-based sharding (docs/scale.md "Shards"). A Canary belongs to shard
// fnv1a32("namespace/name") mod S; shard k is the Lease `<prefix>-shard-<k>`; a replica proves it is
// alive with its own member Lease `<prefix>-member-<identity>`. Here: the hash, the liveness clock
// (a record is timed by *our* clock from when we saw it change, never by the writer's timestamps) and
// the balancing plan (which shards to take and which to give back). shard-leases.ts runs it on the API.

/** FNV-1a, 32 bits, over the UTF-8 bytes: stable across processes, versions and platforms. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard of a Canary key ("namespace/name"), 0 .. shards-1. */
export function shardOf(key: string, shards: number): number {
  return fnv1a32(key) % shards;
}

/** A replica's preference for a shard: replicas prefer different shards, so they rarely race for one. */
export function preference(identity: string, shard: number): number {
  return fnv1a32(`${identity}#${shard}`);
}

/**
 * Liveness by observation, as client-go's leader election does it: a record (a member Lease's
 * resourceVersion, or its absence) is alive until it has stayed the same for a whole lease duration on
 * our clock. A record seen for the first time is alive: a replica that just started must wait a full
 * lease duration before it may call anyone dead.
 */
export class Observations {
  private readonly seen = new Map<string, { record: string; at: number }>();

  /** Notes the record of `identity` as read at `now` (a consistent read taken before `now`). */
  observe(identity: string, record: string, now: number): void {
    const before = this.seen.get(identity);
    if (before?.record !== record) this.seen.set(identity, { record, at: now });
  }

  /** ms since the record of `identity` last changed (0 if never seen). */
  unchangedFor(identity: string, now: number): number {
    const s = this.seen.get(identity);
    return s === undefined ? 0 : now - s.at;
  }

  forget(identity: string): void {
    this.seen.delete(identity);
  }

  identities(): string[] {
    return [...this.seen.keys()];
  }
}

export interface PlanInput {
  identity: string;
  shards: number;
  /** holder of each shard Lease that exists and names one ("" or missing: free) */
  holders: ReadonlyMap<number, string>;
  /** identities alive by observation (this replica included) */
  live: ReadonlySet<string>;
  /** this replica's shards with a reconcile in flight: never released until it ends */
  busy: ReadonlySet<number>;
  /** every live member runs with the same shard count (else one Canary would map to two shards) */
  agreed: boolean;
}

export interface Plan {
  /** how many shards this replica aims to hold: ceil(shards / live replicas) */
  target: number;
  acquire: number[];
  release: number[];
}

/**
 * What to do this round. Every replica aims at ceil(S / live): the targets add up to at least S, so
 * every shard finds a taker, and nobody ever needs to take a shard from a live replica — an over-target
 * replica gives shards back itself, only idle ones, after it has stopped acting on them.
 */
export function plan(input: PlanInput): Plan {
  const { identity, shards, holders, live, busy } = input;
  const mine: number[] = [];
  const free: number[] = [];
  for (let k = 0; k < shards; k++) {
    const holder = holders.get(k) ?? "";
    if (holder === identity) mine.push(k);
    else if (holder === "" || !live.has(holder)) free.push(k);
  }
  const idle = (k: number) => !busy.has(k);
  if (!input.agreed) return { target: 0, acquire: [], release: mine.filter(idle) };
  const target = Math.ceil(shards / Math.max(1, live.size));
  if (mine.length < target) {
    const byPreference = free.sort((a, b) => preference(identity, b) - preference(identity, a));
    return { target, acquire: byPreference.slice(0, target - mine.length), release: [] };
  }
  if (mine.length > target) {
    const leastPreferred = mine
      .filter(idle)
      .sort((a, b) => preference(identity, a) - preference(identity, b));
    return { target, acquire: [], release: leastPreferred.slice(0, mine.length - target) };
  }
  return { target, acquire: [], release: [] };
}

/** A Lease name part from an identity: lowercase DNS label characters, at most 63 of them. */
export function leaseSafe(identity: string): string {
  const cleaned = identity
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (cleaned.length > 0 && cleaned.length <= 63) return cleaned;
  return `${cleaned.slice(0, 54).replace(/-+$/, "")}-${fnv1a32(identity).toString(16).padStart(8, "0")}`;
}

/** The controller's question before each reconcile (controller.ts): may this replica act on `key`? */
export interface OwnershipGate {
  /** true: act, and call end(key) when the reconcile is over; false: leave the key to its owner. */
  begin(key: string): boolean;
  end(key: string): void;
}
