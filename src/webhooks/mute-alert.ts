// Webhook `muteAlert` as Flagger has it: when an approval gate (confirm-rollout, confirm-promotion,
// confirm-traffic-increase) says no, Flagger records a Warning event and sends a warn alert
// "Halt ... waiting for approval <hook>" — unless that hook has `muteAlert: true`. The Event is still
// recorded; only the alert through the AlertProviders is skipped.
import type { EffectiveWebhook } from "../api/defaults.js";
import type { CanaryEvent } from "../core/decision.js";

export type ApprovalGate = "confirm-rollout" | "confirm-promotion" | "confirm-traffic-increase";

/** The decision events that report a closed approval gate (core/decide.ts, core/transitions.ts), by gate. */
const GATE_OF_EVENT: Readonly<Record<string, ApprovalGate>> = {
  Waiting: "confirm-rollout",
  WaitingPromotion: "confirm-promotion",
  WaitingTrafficIncrease: "confirm-traffic-increase",
};

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * True when the alert for a "no" from the `type` gate is muted. `failureMessage` is the gate's
 * combined answer ("gate-a: HTTP 403 ...; gate-b: ..."): the hooks it names are the ones that said no,
 * and the alert is muted when all of them have muteAlert. Without a message (or when it names none of
 * them), every hook of that type must have muteAlert.
 */
export function hookFailureAlertsMuted(
  hooks: readonly EffectiveWebhook[],
  type: EffectiveWebhook["type"],
  failureMessage?: string,
): boolean {
  const ofType = hooks.filter((h) => h.type === type);
  if (ofType.length === 0) return false;
  const named =
    failureMessage === undefined
      ? []
      : ofType.filter((h) => new RegExp(`(^|[:;] )${escapeRegExp(h.name)}: `).test(failureMessage));
  const failing = named.length > 0 ? named : ofType;
  return failing.every((h) => h.muteAlert);
}

/** True when `event` reports a closed approval gate whose failing hooks all have muteAlert. */
export function eventAlertMuted(
  event: Pick<CanaryEvent, "reason" | "message">,
  hooks: readonly EffectiveWebhook[],
): boolean {
  const gate = GATE_OF_EVENT[event.reason];
  return gate !== undefined && hookFailureAlertsMuted(hooks, gate, event.message);
}
