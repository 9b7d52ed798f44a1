// Makes the cluster match a recorded status: the primary (created, restored, promoted), its
// autoscaler, the Services and routing, and the canary's scale. Everything here is derived from the
// status alone, so it runs both before deciding (finish what the last recorded decision asked for,
// even if the process died right after recording it) and after recording the next decision.
import type { Logger } from "pino";
import type { Canary, CanaryStatus } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { desiredCanaryScale, desiredRouting, routingEnabled } from "../core/desired.js";
import { statusCookies } from "../router/istio-session-affinity.js";
import { canonicalJson } from "../workload/pod-template-hash.js";
import { type Applier, BlockedError } from "./apply.js";
import type { Observation } from "./observe.js";
import type { PrimaryRecords } from "./primary-record.js";

export class Converger {
  constructor(
    private readonly applier: Applier,
    private readonly records: PrimaryRecords,
    private readonly log: Logger,
  ) {}

  /**
   * Brings the world to `status`. With `previous` (the status the world was just brought to, from the
   * same observation), only what differs is done: the caches have not seen the first pass's writes yet,
   * so comparing against them again would repeat those writes. Returns notes for the Ready condition.
   */
  async converge(
    canary: Canary,
    spec: EffectiveSpec,
    obs: Observation,
    status: CanaryStatus,
    previous?: CanaryStatus,
  ): Promise<string[]> {
    const notes: string[] = [];
    if (previous === undefined || previous.phase !== status.phase)
      await this.primary(canary, spec, obs, status);
    const primaryReady = obs.world.primary?.readiness.ready === true;
    if (routingEnabled(status, primaryReady)) {
      const autoscaler = await this.applier.ensurePrimaryAutoscaler(canary, spec);
      if (autoscaler) notes.push(autoscaler);
      const routing = desiredRouting(spec, status);
      const cookies = statusCookies({ status });
      const unchanged =
        previous !== undefined &&
        routingEnabled(previous, primaryReady) &&
        canonicalJson({ routing, cookies }) ===
          canonicalJson({
            routing: desiredRouting(spec, previous),
            cookies: statusCookies({ status: previous }),
          });
      if (!unchanged) notes.push(...(await this.applier.ensureRouting(canary, spec, obs, routing, cookies)));
    }
    const scale = desiredCanaryScale(status);
    if (previous === undefined || desiredCanaryScale(previous) !== scale)
      await this.applier.scaleCanary(spec, obs, scale);
    return notes;
  }

  /** Creates the primary on initialization, restores it if deleted, copies the template while promoting. */
  private async primary(canary: Canary, spec: EffectiveSpec, obs: Observation, status: CanaryStatus) {
    const phase = status.phase ?? "";
    if (phase === "" || phase === "Terminating" || phase === "Terminated") return;
    const target = obs.world.target;
    if (obs.primary === undefined) {
      if (phase !== "Initializing") return this.restore(canary, spec, obs, status);
      if (target === undefined || obs.target === undefined) return;
      const built = this.applier.initialPrimary(canary, obs, obs.target);
      await this.records.save(canary, target.revision, built);
      await this.applier.createPrimary(canary, spec, obs, built);
      return;
    }
    const tested = status.lastAppliedSpec;
    const copied = obs.world.primary?.revision === tested;
    // Only the revision that passed analysis, and only while the target still holds exactly it.
    if (phase !== "Promoting" || copied || tested === undefined || target?.revision !== tested) return;
    const next = this.applier.promotedPrimary(canary, obs);
    if (next === undefined) return;
    await this.records.save(canary, tested, next, status.lastPromotedSpec);
    await this.applier.promote(canary, spec, obs, next);
  }

  /** Brings a deleted primary back on the last promoted revision, from its record. */
  private async restore(canary: Canary, spec: EffectiveSpec, obs: Observation, status: CanaryStatus) {
    const revision = status.lastPromotedSpec;
    const name = spec.names.primaryWorkload;
    const recorded = revision ? await this.records.load(canary, revision, name) : undefined;
    if (recorded !== undefined) {
      await this.applier.createObject(recorded);
      this.log.warn({ canary: canary.metadata.name, primary: name, revision }, "restored deleted primary");
      return;
    }
    // No record (a Canary initialized before records existed): the target is safe only if it still
    // runs exactly the promoted revision.
    if (revision !== undefined && obs.target !== undefined && obs.world.target?.revision === revision) {
      const built = this.applier.initialPrimary(canary, obs, obs.target);
      await this.records.save(canary, revision, built);
      await this.applier.createPrimary(canary, spec, obs, built);
      return;
    }
    throw new BlockedError(
      `primary Deployment ${name} was deleted and the last promoted revision ${revision ?? "(none)"} was not recorded, so it cannot be restored without promoting untested code: set ${spec.targetRef.name} back to the promoted revision, or delete and re-create the Canary to start over from ${spec.targetRef.name}'s current revision`,
    );
  }
}
