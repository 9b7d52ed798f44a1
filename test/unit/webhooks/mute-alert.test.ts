// muteAlert as Flagger has it: a closed approval gate still records its Event, but its alert is not
// sent when the hooks that said no have muteAlert.
import { describe, expect, it } from "vitest";
import type { EffectiveWebhook } from "../../../src/api/defaults.js";
import { eventAlertMuted, hookFailureAlertsMuted } from "../../../src/webhooks/mute-alert.js";

const hook = (name: string, type: EffectiveWebhook["type"], muteAlert: boolean): EffectiveWebhook => ({
  name,
  type,
  url: "http://gate",
  timeout: "10s",
  timeoutMs: 10_000,
  retries: 0,
  muteAlert,
  disableTLS: false,
  metadata: {},
});

describe("hookFailureAlertsMuted", () => {
  const hooks = [
    hook("quiet-gate", "confirm-promotion", true),
    hook("loud-gate", "confirm-promotion", false),
    hook("rollout-gate", "confirm-rollout", true),
  ];

  it("mutes when every hook that said no has muteAlert", () => {
    expect(hookFailureAlertsMuted(hooks, "confirm-promotion", "quiet-gate: HTTP 403 not yet")).toBe(true);
    expect(hookFailureAlertsMuted(hooks, "confirm-promotion", "loud-gate: HTTP 403")).toBe(false);
    expect(
      hookFailureAlertsMuted(hooks, "confirm-promotion", "quiet-gate: HTTP 403; loud-gate: ECONNREFUSED"),
    ).toBe(false);
  });

  it("without a message naming them, every hook of the type must be muted", () => {
    expect(hookFailureAlertsMuted(hooks, "confirm-promotion")).toBe(false);
    expect(hookFailureAlertsMuted(hooks, "confirm-rollout")).toBe(true);
    expect(hookFailureAlertsMuted(hooks, "confirm-traffic-increase")).toBe(false);
  });

  it("a hook whose name is a prefix of another's is not mistaken for it", () => {
    const prefixed = [hook("gate", "confirm-promotion", false), hook("gate-2", "confirm-promotion", true)];
    expect(hookFailureAlertsMuted(prefixed, "confirm-promotion", "gate-2: HTTP 403")).toBe(true);
  });
});

describe("eventAlertMuted", () => {
  const hooks = [hook("approval", "confirm-rollout", true), hook("promo", "confirm-promotion", false)];

  it("maps the waiting events to their gate", () => {
    expect(
      eventAlertMuted(
        {
          reason: "Waiting",
          message: "Halt catalog.shop advancement waiting for approval: approval: HTTP 403",
        },
        hooks,
      ),
    ).toBe(true);
    expect(
      eventAlertMuted(
        { reason: "WaitingPromotion", message: "Halt ... waiting for promotion approval: promo: HTTP 403" },
        hooks,
      ),
    ).toBe(false);
    expect(eventAlertMuted({ reason: "RolledBack", message: "approval: x" }, hooks)).toBe(false);
  });
});
