// Tells people what a reconcile did: Kubernetes Events for the decision, a newly blocked state and
// new notes; alerts through AlertProviders; and Flagger's `event` webhooks. Alerts and event hooks are
// notifications: nobody waits for them and their failures never fail a reconcile.
import type { Logger } from "pino";
import type { Canary, CanaryStatus } from "../api/canary.js";
import { API_VERSION, CANARY_KIND } from "../api/constants.js";
import type { EffectiveSpec } from "../api/defaults.js";
import type { Decision } from "../core/decision.js";
import { READY } from "../core/status.js";
import type { KubeClients } from "../kube/client.js";
import { type EventRecorder, involvedObject } from "../kube/events.js";
import { alertSeverity } from "../notifier/alert-policy.js";
import { sendAlerts } from "../notifier/alerts.js";
import { callHooks } from "../webhooks/client.js";
import type { ClusterCache } from "./cluster-cache.js";

export class Reporter {
  constructor(
    private readonly clients: KubeClients,
    private readonly cache: ClusterCache,
    private readonly events: EventRecorder,
    private readonly log: Logger,
  ) {}

  /** Events for what changed: the decision's own, a newly blocked state, and notes not yet told. */
  async report(
    canary: Canary,
    spec: EffectiveSpec,
    before: CanaryStatus,
    decision: Decision | undefined,
    blocked: string | undefined,
    notes: string[],
  ): Promise<void> {
    const involved = involvedObject(API_VERSION, CANARY_KIND, canary.metadata);
    const { events } = this;
    for (const e of decision?.events ?? []) await events.record(involved, e.type, e.reason, e.message);
    if (decision && spec.analysis.alerts.length > 0) {
      for (const e of decision.events) {
        const severity = alertSeverity(e);
        if (severity === undefined) continue;
        void sendAlerts(
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
            fields: { Target: `Deployment/${spec.targetRef.name}`, Phase: decision.status.phase ?? "" },
          },
        );
      }
    }
    if (decision && decision.events.length > 0 && spec.analysis.webhooks.some((h) => h.type === "event")) {
      // Event hooks get every event, like Flagger's; they are notifications, so nobody waits for them.
      const phase = decision.status.phase ?? "";
      for (const e of decision.events) {
        void callHooks(spec.analysis.webhooks, "event", {
          name: involved.name,
          namespace: involved.namespace,
          phase,
          checksum: decision.status.lastAppliedSpec ?? "",
          metadata: { eventMessage: e.message, eventType: e.type, timestamp: String(Date.now()) },
        });
      }
    }
    const readyBefore = before.conditions?.find((c) => c.type === READY);
    if (blocked && readyBefore?.message !== blocked)
      await events.record(involved, "Warning", "Blocked", blocked);
    for (const n of notes) {
      if (!readyBefore?.message?.includes(n)) await events.record(involved, "Normal", "Synced", n);
    }
  }
}
