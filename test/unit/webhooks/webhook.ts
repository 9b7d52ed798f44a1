import type { EffectiveWebhook } from "../../../src/api/defaults.js";

/** A confirm-promotion hook with Flagger's defaults but a 1 s timeout, for tests against local servers. */
export function webhook(name: string, url: string, extra: Partial<EffectiveWebhook> = {}): EffectiveWebhook {
  return {
    name,
    type: "confirm-promotion",
    url,
    timeout: "1s",
    timeoutMs: 1000,
    retries: 0,
    muteAlert: false,
    disableTLS: false,
    metadata: {},
    ...extra,
  };
}
