// Leader election on a coordination.k8s.io/v1 Lease (client-node has none): acquire when the lease is
// free or expired, renew every retry period, and give up leadership if renewals fail for longer than
// the renew deadline. Writes carry resourceVersion, so of two candidates only one wins (the other gets 409).
import { CoordinationV1Api, type KubeConfig, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { clampDelay } from "../net/timers.js";
import { describeError, isConflict, isNotFound, pooledApiClient } from "./client.js";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

// Clamped: a misconfigured period above 2^31-1 ms would otherwise make Node fire after 1 ms.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, clampDelay(ms)));

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly leaseDuration: number;
  private readonly renewDeadline: number;
  private readonly retryPeriod: number;
  private stopped = false;
  private observedRecord = "";
  private observedAt = 0;
  leading = false;

  constructor(
    config: KubeConfig,
    private readonly options: LeaderElectionOptions,
    private readonly log: Logger,
  ) {
    this.api = pooledApiClient(config, CoordinationV1Api);
    this.leaseDuration = options.leaseDurationSeconds ?? 15;
    this.renewDeadline = options.renewDeadlineSeconds ?? 10;
    this.retryPeriod = options.retryPeriodSeconds ?? 2;
  }

  /** Resolves once this instance leads; then keeps renewing and calls onLost if it stops leading. */
  async acquire(onLost: () => void): Promise<void> {
    while (!this.stopped && !(await this.tryAcquireOrRenew())) await sleep(this.retryPeriod * 1000);
    // Stopped while waiting (SIGTERM on a standby): never claim leadership on the way out.
    if (this.stopped) return;
    this.leading = true;
    this.log.info(
      { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity },
      "became leader",
    );
    void this.renewLoop(onLost);
  }

  stop(): void {
    this.stopped = true;
  }

  private async renewLoop(onLost: () => void): Promise<void> {
    let lastRenew = Date.now();
    while (!this.stopped) {
      await sleep(this.retryPeriod * 1000);
      if (await this.tryAcquireOrRenew()) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.renewDeadline * 1000) {
        this.leading = false;
        this.log.error({ identity: this.options.identity }, "lost leadership");
        onLost();
        return;
      }
    }
  }

  /** One attempt, bounded by the renew deadline: a hung API call must not outlive our lease. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), clampDelay(this.renewDeadline * 1000));
    });
    try {
      return await Promise.race([this.attempt(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async attempt(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: this.leaseDuration,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity;
      // Like client-go, time the lease with our own clock from when we saw its record change, never by
      // comparing the holder's renewTime with our clock: clocks skew, and a skewed standby must not steal.
      const record = `${holder ?? ""}/${String(spec.renewTime ?? "")}`;
      if (record !== this.observedRecord) {
        this.observedRecord = record;
        this.observedAt = Date.now();
      }
      const expired = this.observedAt + (spec.leaseDurationSeconds ?? this.leaseDuration) * 1000 < Date.now();
      if (holder && holder !== identity && !expired) return false;
      const takingOver = holder !== identity;
      lease.spec = {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseDuration,
        renewTime: now,
        ...(takingOver ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
      };
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (!isConflict(err))
        this.log.warn({ err: describeError(err) }, "leader election: lease update failed");
      return false;
    }
  }
}
