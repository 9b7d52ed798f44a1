// Lease-based shards on the API (docs/scale.md "Shards"): each replica renews one member Lease and
// reads all the set's Leases with one consistent LIST per retry period; it holds the shard Leases that
// name it, takes free or dead ones up to its target and gives idle ones back above it (shards.ts plan).
// Fencing: a replica acts on a shard only while its last successful member renewal *started* less than
// the renew deadline ago. Another replica calls it dead only after seeing its member Lease unchanged
// for a whole lease duration, which begins no earlier than that renewal was sent: the owner has stopped
// (and exited) leaseDuration - renewDeadline before anyone else may take its shards over.
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { clampDelay } from "../net/timers.js";
import { describeError, isConflict, isNotFound, pooledApiClient } from "./client.js";
import { leaseSafe, Observations, type OwnershipGate, plan, shardOf } from "./shards.js";

/** The few Lease calls sharding makes; the API server's in production, an in-memory one in tests. */
export interface LeaseApi {
  /** A consistent read (no resourceVersion: served from etcd's quorum, never from a cache). */
  list(namespace: string, labelSelector: string): Promise<V1Lease[]>;
  create(namespace: string, lease: V1Lease): Promise<V1Lease>;
  /** Replace, fenced by metadata.resourceVersion: 409 when someone wrote in between. */
  replace(namespace: string, lease: V1Lease): Promise<V1Lease>;
  remove(namespace: string, name: string, resourceVersion: string): Promise<void>;
}

export class KubeLeaseApi implements LeaseApi {
  private readonly api: CoordinationV1Api;
  constructor(config: KubeConfig) {
    this.api = pooledApiClient(config, CoordinationV1Api);
  }
  async list(namespace: string, labelSelector: string): Promise<V1Lease[]> {
    return (await this.api.listNamespacedLease({ namespace, labelSelector })).items;
  }
  create(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.api.createNamespacedLease({ namespace, body });
  }
  replace(namespace: string, body: V1Lease): Promise<V1Lease> {
    return this.api.replaceNamespacedLease({ name: body.metadata?.name ?? "", namespace, body });
  }
  async remove(namespace: string, name: string, resourceVersion: string): Promise<void> {
    await this.api.deleteNamespacedLease({ name, namespace, body: { preconditions: { resourceVersion } } });
  }
}

export const SHARD_SET_LABEL = "serin.dev/shard-set";
export const SHARD_ROLE_LABEL = "serin.dev/shard-role";
/** On member Leases: the replica's shard count. Replicas that disagree on it stand down. */
export const SHARD_COUNT_ANNOTATION = "serin.dev/shards";

export interface ShardOptions {
  namespace: string;
  /** Lease names: `<prefix>-shard-<k>`, `<prefix>-member-<identity>`; label serin.dev/shard-set=<prefix> */
  prefix: string;
  /** unique per process incarnation */
  identity: string;
  shards: number;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ShardEvents {
  /** shards this replica now acts on: enqueue their Canaries (a fresh reconcile from status) */
  gained(shards: number[]): void;
  /** shards it no longer acts on (already idle): forget what it kept in memory about their Canaries */
  released(shards: number[]): void;
  /** renewals failed past the renew deadline: stop at once (main exits, as with --leader-elect) */
  fenceLost(): void;
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

const noEvents: ShardEvents = { gained: () => {}, released: () => {}, fenceLost: () => {} };

export class ShardManager implements OwnershipGate {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
  /** shards this replica acts on (it holds their Leases and is not giving them back) */
  private readonly acting = new Set<number>();
  private readonly inFlight = new Map<number, number>();
  private readonly observations = new Observations();
  /** no action at or after this instant unless a renewal succeeds first */
  private fenceUntil = Number.NEGATIVE_INFINITY;
  private member: V1Lease | undefined;
  private readonly memberName: string;
  private readonly selector: string;
  private events: ShardEvents = noEvents;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: NodeJS.Timeout | undefined;
  /** Ends the loop's sleep early: clearing the timer alone would leave stop() awaiting it forever. */
  private wakeNow: (() => void) | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  /** every live identity at the last round (for metrics and tests) */
  live: ReadonlySet<string> = new Set();
  /** the first round has run: readiness */
  tried = false;
  private disagreed = false;
  private readonly owned: Gauge | undefined;
  private readonly changes: Counter<"change"> | undefined;
  private readonly liveGauge: Gauge | undefined;

  constructor(
    private readonly api: LeaseApi,
    private readonly options: ShardOptions,
    private readonly log: Logger,
    registry?: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!(this.renewDeadlineMs < this.leaseDurationMs && this.retryPeriodMs < this.renewDeadlineMs))
      throw new Error("shards: need retry period < renew deadline < lease duration");
    this.memberName = `${options.prefix}-member-${leaseSafe(options.identity)}`;
    this.selector = `${SHARD_SET_LABEL}=${options.prefix}`;
    if (registry) {
      this.owned = new Gauge({
        name: "serin_shards_owned",
        help: "Shards (Leases) this replica holds and acts on",
        registers: [registry],
      });
      this.owned.set(0);
      this.liveGauge = new Gauge({
        name: "serin_shard_replicas_live",
        help: "Replicas this one believes alive (its own member Lease included)",
        registers: [registry],
      });
      this.changes = new Counter({
        name: "serin_shard_changes_total",
        help: "Shards gained, released (given back to balance) or lost (renewals failed)",
        labelNames: ["change"] as const,
        registers: [registry],
      });
    }
  }

  get identity(): string {
    return this.options.identity;
  }

  /** The shards this replica acts on now. */
  held(): number[] {
    return this.isFenced() ? [] : [...this.acting].sort((a, b) => a - b);
  }

  shardOf(key: string): number {
    return shardOf(key, this.options.shards);
  }

  /** May act on `key` now: holds its shard, is not giving it back, and renewed recently enough. */
  owns(key: string): boolean {
    return !this.stopped && !this.isFenced() && this.acting.has(this.shardOf(key));
  }

  begin(key: string): boolean {
    if (!this.owns(key)) return false;
    const k = this.shardOf(key);
    this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
    return true;
  }

  end(key: string): void {
    const k = this.shardOf(key);
    const n = (this.inFlight.get(k) ?? 1) - 1;
    if (n > 0) this.inFlight.set(k, n);
    else this.inFlight.delete(k);
  }

  /** Runs a round now and then every retry period until stop(). */
  start(events: ShardEvents): void {
    this.events = events;
    const run = async () => {
      while (!this.stopped) {
        const began = this.now();
        await this.tick();
        if (this.stopped) return;
        await new Promise<void>((r) => {
          this.wakeNow = r;
          this.wake = setTimeout(r, clampDelay(Math.max(0, this.retryPeriodMs - (this.now() - began))));
        });
      }
    };
    this.loop = run();
  }

  /**
   * Stops acting; once nothing is in flight (the controller has drained), gives every shard back and
   * deletes the member Lease, so the others take over within one retry period instead of a lease
   * duration. With reconciles still running it gives nothing back: the Leases expire instead.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wake);
    this.wakeNow?.();
    clearTimeout(this.fenceTimer);
    await this.loop;
    const acted = [...this.acting];
    this.acting.clear();
    this.owned?.set(0);
    if (acted.length > 0)
      this.log.info({ shards: acted, identity: this.identity }, "shards released: stopping");
    if ([...this.inFlight.values()].some((n) => n > 0)) return;
    // Nothing in flight and nothing will start: giving back any Lease that still names us is safe.
    const leases = await this.bounded(this.api.list(this.options.namespace, this.selector)).catch(() => []);
    const shards: number[] = [];
    for (const lease of leases) {
      const k = this.indexOf(lease);
      if (k === undefined || lease.spec?.holderIdentity !== this.identity) continue;
      if (
        await this.writeHolder(lease, "").then(
          () => true,
          () => false,
        )
      )
        shards.push(k);
    }
    if (this.member?.metadata?.resourceVersion)
      await this.bounded(
        this.api.remove(this.options.namespace, this.memberName, this.member.metadata.resourceVersion),
      ).catch(() => undefined);
    this.log.info({ shards, identity: this.identity }, "shards given back on shutdown");
  }

  /** One round: renew, read, take and give back. Public for tests, which drive the clock themselves. */
  async tick(): Promise<void> {
    const started = this.now();
    // Past the fence (a late timer, a stalled event loop): drop everything before a renewal could
    // extend the fence — what was held then must be claimed again with a fenced write (below).
    if (this.isFenced()) this.loseAll();
    const renewed = await this.renewMember(started);
    // Checked against the old fence, before a renewal moves it: if it passed while the call was out,
    // everything is dropped here even when the timer has not fired yet.
    if (this.isFenced()) this.loseAll();
    if (renewed) {
      this.fenceUntil = started + this.renewDeadlineMs;
      this.armFence();
    }
    if (this.isFenced()) return;
    let leases: V1Lease[];
    try {
      leases = await this.bounded(this.api.list(this.options.namespace, this.selector));
    } catch (err) {
      this.log.warn({ err: describeError(err) }, "shards: listing Leases failed");
      return;
    }
    const at = this.now();
    const { holders, byShard, members } = this.read(leases, at);
    const live = new Set<string>([this.identity]);
    let agreed = true;
    for (const id of new Set([...members.keys(), ...holders.values()])) {
      if (id === "" || id === this.identity) continue;
      if (this.observations.unchangedFor(id, at) >= this.leaseDurationMs) continue;
      live.add(id);
      const count = members.get(id)?.metadata?.annotations?.[SHARD_COUNT_ANNOTATION];
      if (count !== undefined && count !== String(this.options.shards)) agreed = false;
    }
    this.live = live;
    this.liveGauge?.set(live.size);
    if (agreed === this.disagreed)
      this.log[agreed ? "info" : "error"](
        { shards: this.options.shards },
        agreed
          ? "shards: every live replica runs with the same --shards again"
          : "shards: another live replica runs with a different --shards; standing down until it is gone",
      );
    this.disagreed = !agreed;

    // The Leases are the truth: a shard that names us again (a give-back that failed) is ours; one that
    // no longer names us was taken, which the fence should make impossible — stop acting on it at once.
    const mine = new Set([...holders].filter(([, h]) => h === this.identity).map(([k]) => k));
    const taken = [...this.acting].filter((k) => !mine.has(k));
    if (taken.length > 0) {
      for (const k of taken) this.acting.delete(k);
      this.changes?.inc({ change: "lost" }, taken.length);
      this.log.error({ shards: taken, identity: this.identity }, "shard lost: its Lease names another");
      this.events.released(taken);
    }
    const back = [...mine].filter((k) => !this.acting.has(k));

    const busy = new Set([...this.inFlight].filter(([, n]) => n > 0).map(([k]) => k));
    const p = plan({ identity: this.identity, shards: this.options.shards, holders, live, busy, agreed });

    // Give back: stop acting first (synchronously: no reconcile of it starts after this line), then write.
    const release = p.release.filter((k) => !busy.has(k));
    for (const k of release) {
      this.acting.delete(k);
      mine.delete(k);
    }
    for (const k of release) {
      this.changes?.inc({ change: "released" });
      // Logged when acting stops, before the Lease says so: the next holder's "shard gained" comes after.
      this.log.info({ shard: k, identity: this.identity, target: p.target }, "shard released");
    }
    if (release.length > 0) this.events.released(release);
    for (const k of release) {
      const lease = byShard.get(k);
      if (lease === undefined) continue;
      try {
        await this.writeHolder(lease, "");
      } catch (err) {
        if (!isConflict(err)) this.log.warn({ shard: k, err: describeError(err) }, "shard release failed");
      }
    }

    const gained: number[] = [];
    // A Lease that names us while we do not act on it (a give-back whose write failed, or shards held
    // before a fence loss) is claimed again with a write fenced by the resourceVersion just read: if
    // another replica judged us dead and is taking it with that same version, one of the two gets 409.
    for (const k of [...back.filter((x) => mine.has(x)), ...p.acquire]) {
      if (this.stopped || this.isFenced()) break;
      try {
        const lease = byShard.get(k);
        if (lease === undefined)
          await this.bounded(this.api.create(this.options.namespace, this.shardLease(k)));
        else await this.writeHolder(lease, this.identity);
        gained.push(k);
      } catch (err) {
        if (!isConflict(err)) this.log.warn({ shard: k, err: describeError(err) }, "shard acquire failed");
      }
    }
    if (!this.stopped && !this.isFenced()) {
      for (const k of gained) {
        this.acting.add(k);
        this.changes?.inc({ change: "gained" });
        this.log.info({ shard: k, identity: this.identity, target: p.target }, "shard gained");
      }
      if (gained.length > 0) this.events.gained(gained);
    }
    this.owned?.set(this.acting.size);
    await this.collectGarbage(members, holders, at);
    this.tried = true;
  }

  private isFenced(): boolean {
    return this.now() >= this.fenceUntil;
  }

  /** The fence passed without a renewal: stop acting on everything, now. */
  private loseAll(): void {
    if (this.acting.size === 0) return;
    const lost = [...this.acting];
    this.acting.clear();
    this.owned?.set(0);
    this.changes?.inc({ change: "lost" }, lost.length);
    this.log.error(
      { shards: lost, identity: this.identity, renewDeadlineMs: this.renewDeadlineMs },
      "shards lost: member Lease not renewed within the renew deadline",
    );
    this.events.released(lost);
    this.events.fenceLost();
  }

  private armFence(): void {
    clearTimeout(this.fenceTimer);
    this.fenceTimer = setTimeout(
      () => {
        if (!this.stopped && this.isFenced()) this.loseAll();
      },
      clampDelay(Math.max(0, this.fenceUntil - this.now())),
    );
    this.fenceTimer.unref?.();
  }

  private async renewMember(now: number): Promise<boolean> {
    const time = new V1MicroTime(now);
    try {
      if (this.member === undefined) {
        this.member = await this.bounded(
          this.api.create(this.options.namespace, {
            metadata: {
              name: this.memberName,
              namespace: this.options.namespace,
              labels: { [SHARD_SET_LABEL]: this.options.prefix, [SHARD_ROLE_LABEL]: "member" },
              annotations: { [SHARD_COUNT_ANNOTATION]: String(this.options.shards) },
            },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
              acquireTime: time,
              renewTime: time,
            },
          }),
        );
        return true;
      }
      this.member = await this.bounded(
        this.api.replace(this.options.namespace, {
          ...this.member,
          spec: { ...this.member.spec, renewTime: time },
        }),
      );
      return true;
    } catch (err) {
      // Gone (deleted by hand) or changed under us: start over with a fresh create or the listed one.
      if (isNotFound(err)) this.member = undefined;
      this.log.warn({ err: describeError(err) }, "shards: member Lease renewal failed");
      return false;
    }
  }

  /** Shard holders, shard Leases and member Leases of the set, and every identity's record observed. */
  private read(leases: V1Lease[], at: number) {
    const holders = new Map<number, string>();
    const byShard = new Map<number, V1Lease>();
    const members = new Map<string, V1Lease>();
    for (const lease of leases) {
      const role = lease.metadata?.labels?.[SHARD_ROLE_LABEL];
      const holder = lease.spec?.holderIdentity ?? "";
      if (role === "member" && holder !== "") {
        members.set(holder, lease);
        if (lease.metadata?.name === this.memberName && holder === this.identity && this.member === undefined)
          this.member = lease;
      }
      const k = this.indexOf(lease);
      if (k !== undefined) {
        byShard.set(k, lease);
        if (holder !== "") holders.set(k, holder);
      }
    }
    for (const [id, lease] of members)
      this.observations.observe(id, `member@${lease.metadata?.resourceVersion}`, at);
    for (const id of holders.values()) if (!members.has(id)) this.observations.observe(id, "absent", at);
    return { holders, byShard, members };
  }

  private indexOf(lease: V1Lease): number | undefined {
    if (lease.metadata?.labels?.[SHARD_ROLE_LABEL] !== "shard") return undefined;
    const match = /-shard-(\d+)$/.exec(lease.metadata?.name ?? "");
    const k = match ? Number(match[1]) : Number.NaN;
    return Number.isInteger(k) && k >= 0 && k < this.options.shards ? k : undefined;
  }

  private shardLease(k: number): V1Lease {
    const time = new V1MicroTime(this.now());
    return {
      metadata: {
        name: `${this.options.prefix}-shard-${k}`,
        namespace: this.options.namespace,
        labels: { [SHARD_SET_LABEL]: this.options.prefix, [SHARD_ROLE_LABEL]: "shard" },
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: time,
        renewTime: time,
        leaseTransitions: 0,
      },
    };
  }

  /** Names a new holder ("" gives it back), fenced by the resourceVersion we read. */
  private async writeHolder(lease: V1Lease, holder: string): Promise<void> {
    const time = new V1MicroTime(this.now());
    const spec = lease.spec ?? {};
    await this.bounded(
      this.api.replace(this.options.namespace, {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: holder,
          leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
          renewTime: time,
          ...(holder !== "" ? { acquireTime: time, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
        },
      }),
    );
  }

  /** Member Leases of replicas dead for two lease durations that hold no shard: delete (crashed pods). */
  private async collectGarbage(
    members: Map<string, V1Lease>,
    holders: Map<number, string>,
    at: number,
  ): Promise<void> {
    const holding = new Set(holders.values());
    for (const [id, lease] of members) {
      if (id === this.identity || holding.has(id)) continue;
      if (this.observations.unchangedFor(id, at) < 2 * this.leaseDurationMs) continue;
      const rv = lease.metadata?.resourceVersion;
      if (!rv || !lease.metadata?.name) continue;
      try {
        await this.bounded(this.api.remove(this.options.namespace, lease.metadata.name, rv));
        this.observations.forget(id);
        this.log.info({ member: id }, "shards: removed the member Lease of a replica gone for good");
      } catch (err) {
        if (!isConflict(err) && !isNotFound(err))
          this.log.debug({ member: id, err: describeError(err) }, "shards: member Lease not removed");
      }
    }
    // Identities we no longer see anywhere need no clock.
    const seen = new Set([...members.keys(), ...holding]);
    for (const id of this.observations.identities()) if (!seen.has(id)) this.observations.forget(id);
  }

  /** An API call bounded by the renew deadline: a hung call must not outlive our fence. */
  private async bounded<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Lease call timed out after ${this.renewDeadlineMs} ms`)),
        clampDelay(this.renewDeadlineMs),
      );
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
