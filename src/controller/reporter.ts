// Tells people what was decided: drains the decision log that each status write carries (see
// core/decision-log.ts) into Kubernetes Events, alerts through AlertProviders, Flagger's `event`
// webhooks and post-rollout hooks, then advances status.reportedSeq. A record is sent after the status
// that holds it is stored, so a crash in between delays it instead of losing it; Events are named after
// the record, so sending one again after a crash does not duplicate it.
import { PatchStrategy } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { CanaryStatus, DecisionRecord } from "../api/canary.js";
import { API_VERSION, CANARY_KIND, CANARY_PLURAL, GROUP, VERSION } from "../api/constants.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { unreported } from "../core/decision-log.js";
import { describeError, type KubeClients } from "../kube/client.js";
import { type EventRecorder, type InvolvedObject, involvedObject } from "../kube/events.js";
import { alertSeverity } from "../notifier/alert-policy.js";
import { sendAlerts } from "../notifier/alerts.js";
import { callHooks } from "../webhooks/client.js";
import { eventAlertMuted } from "../webhooks/mute-alert.js";
import type { ClusterCache } from "./cluster-cache.js";

/** What the reporter needs of a Canary: who it is (an invalid one has nothing else to offer). */
export interface Subject {
  metadata: { name?: string; namespace?: string; uid?: string };
}

/**
 * The Event for a record's i-th event: the same on every attempt, so sending it again after a crash is a
 * no-op; it starts with the decision's time so that Events recorded in the same second still list in
 * order (kubectl sorts by name after lastTimestamp, which has one-second resolution).
 */
export function decisionEventName(canary: string, uid: string, record: DecisionRecord, i: number): string {
  const at = Date.parse(record.time);
  const time = Number.isNaN(at) ? "0" : at.toString(16);
  // Object names stop at 253 characters: a long Canary name is shortened, never the identifying tail.
  return `${canary.slice(0, 200)}.${time}.${uid.slice(0, 8)}-${record.seq}-${i}`;
}

export class Reporter {
  /** per Canary uid: the highest seq sent by this process (status may not show it yet) */
  private readonly sent = new Map<string, number>();
  /** `uid/seq` of records whose alerts and hooks this process sent (their Events may still be retried) */
  private readonly notified = new Set<string>();

  constructor(
    private readonly clients: KubeClients,
    private readonly cache: ClusterCache,
    private readonly events: EventRecorder,
    private readonly log: Logger,
  ) {}

  /** The highest seq known sent, for the next status write. */
  reportedUpTo(canary: Subject): number | undefined {
    return this.sent.get(canary.metadata.uid ?? "");
  }

  /** Forgets a deleted Canary. */
  forget(uid: string | undefined): void {
    this.sent.delete(uid ?? "");
    for (const key of this.notified) if (key.startsWith(`${uid ?? ""}/`)) this.notified.delete(key);
  }

  /**
   * Sends every record of `status` (as just stored) not sent yet, then records that in status. `spec` is
   * undefined for an invalid Canary: Events only, no alerts or hooks. False while something is left to
   * send (an Event or the status patch did not go through): the caller looks again soon.
   */
  async drain(
    canary: Subject,
    spec: EffectiveSpec | undefined,
    status: CanaryStatus,
    signal?: AbortSignal,
  ): Promise<boolean> {
    const uid = canary.metadata.uid ?? "";
    const already = this.sent.get(uid) ?? 0;
    const pending = unreported(status).filter((d) => d.seq > already);
    if (pending.length === 0) return true;
    const involved = involvedObject(API_VERSION, CANARY_KIND, canary.metadata);
    let last = already;
    for (const record of pending) {
      const complete = await this.send(involved, spec, record, status.lastAppliedSpec ?? "", signal);
      // Cut short (shutdown, deletion) or an Event the API server did not take: this record and the
      // ones after it stay unsent, and the next reconcile (of this replica or the next) sends them.
      if (!complete || signal?.aborted) break;
      last = record.seq;
    }
    if (last === already || !(await this.markReported(canary, last))) return false;
    for (const record of pending) if (record.seq <= last) this.notified.delete(`${uid}/${record.seq}`);
    this.sent.set(uid, last);
    return last === pending[pending.length - 1]?.seq;
  }

  private async send(
    involved: InvolvedObject,
    spec: EffectiveSpec | undefined,
    record: DecisionRecord,
    checksum: string,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    let recorded = true;
    for (const [i, e] of record.events.entries()) {
      const name = decisionEventName(involved.name, involved.uid ?? "", record, i);
      if (!(await this.events.record(involved, e.type, e.reason, e.message, name))) recorded = false;
    }
    // Alerts and hooks go out once per record and process, even while its Events are being retried.
    const key = `${involved.uid ?? ""}/${record.seq}`;
    if (spec === undefined || this.notified.has(key)) return recorded;
    await this.notify(involved, spec, record, checksum, signal);
    if (!signal?.aborted) this.notified.add(key);
    return recorded;
  }

  private async notify(
    involved: InvolvedObject,
    spec: EffectiveSpec,
    record: DecisionRecord,
    checksum: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const notifications: Promise<unknown>[] = [];
    for (const e of record.events) {
      const severity = alertSeverity(e);
      if (severity === undefined || spec.analysis.alerts.length === 0) continue;
      // A webhook's muteAlert silences the alert for its own refusal; the Event is still recorded.
      if (eventAlertMuted(e, spec.analysis.webhooks)) continue;
      notifications.push(
        sendAlerts(
          {
            clients: this.clients,
            findProvider: (ns, n) => this.cache.alertProviders.get(n, ns),
            log: this.log,
          },
          involved.namespace,
          spec.analysis.alerts,
          {
            subject: `${involved.name}.${involved.namespace}`,
            message: e.message,
            severity,
            fields: { Target: `Deployment/${spec.targetRef.name}`, Phase: record.phase },
          },
          { signal },
        ),
      );
    }
    const hooks = spec.analysis.webhooks;
    if (hooks.some((h) => h.type === "event")) {
      // Event hooks get every event, like Flagger's.
      for (const e of record.events) {
        notifications.push(
          callHooks(
            hooks,
            "event",
            {
              name: involved.name,
              namespace: involved.namespace,
              phase: record.phase,
              checksum,
              metadata: {
                eventMessage: e.message,
                eventType: e.type,
                timestamp: String(Date.parse(record.time)),
              },
            },
            { signal },
          ),
        );
      }
    }
    if (record.postRollout) {
      notifications.push(
        callHooks(
          hooks,
          "post-rollout",
          {
            name: involved.name,
            namespace: involved.namespace,
            phase: record.phase,
            checksum,
          },
          { signal },
        ).then((result) => {
          if (!result.ok) this.log.warn({ hooks: result.message }, "post-rollout webhook failed");
        }),
      );
    }
    // Notifications are bounded by their own deadlines; a failure is logged by the sender, never fatal.
    await Promise.allSettled(notifications);
  }

  /** A merge patch of reportedSeq alone: it cannot undo anything a concurrent status write did. */
  private async markReported(canary: Subject, seq: number): Promise<boolean> {
    try {
      await this.clients.rest.send(
        "PATCH",
        {
          apiVersion: `${GROUP}/${VERSION}`,
          plural: CANARY_PLURAL,
          namespace: canary.metadata.namespace ?? "default",
          name: canary.metadata.name ?? "",
          subresource: "status",
        },
        { body: { status: { reportedSeq: seq } }, contentType: PatchStrategy.MergePatch },
      );
      return true;
    } catch (err) {
      this.log.debug({ err: describeError(err) }, "could not record reportedSeq; will try again");
      return false;
    }
  }
}
