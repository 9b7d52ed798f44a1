// Flagger's webhook protocol, so existing load testers, approval gates and notifiers work unchanged:
// POST JSON {name, namespace, phase, checksum, metadata}; 200-202 is yes, anything else (or no
// answer within the hook's timeout, after its retries) is no.
import { Agent } from "node:https";
import axios from "axios";
import type { EffectiveWebhook } from "../api/defaults.js";
import type { HookResult } from "../core/world.js";
import { networkErrorDetail } from "../net/error-detail.js";

export interface HookPayload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata?: Record<string, string>;
}

/** The payload for a Canary's hooks: its phase, and the revision under analysis as the checksum. */
export function hookPayload(
  ref: { name: string; namespace: string },
  status: { phase?: string; lastAppliedSpec?: string },
  revision: string | undefined,
): HookPayload {
  return {
    name: ref.name,
    namespace: ref.namespace,
    phase: status.phase ?? "",
    checksum: revision ?? status.lastAppliedSpec ?? "",
  };
}

const insecureAgent = new Agent({ rejectUnauthorized: false });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function callHook(hook: EffectiveWebhook, payload: HookPayload): Promise<HookResult> {
  const body = { ...payload, metadata: { ...hook.metadata, ...payload.metadata } };
  let message = "";
  for (let attempt = 0; attempt <= hook.retries; attempt++) {
    if (attempt > 0) await sleep(Math.min(5_000, 500 * 2 ** (attempt - 1)));
    try {
      const res = await axios.post(hook.url, body, {
        timeout: hook.timeoutMs,
        validateStatus: () => true,
        ...(hook.disableTLS ? { httpsAgent: insecureAgent } : {}),
      });
      if (res.status >= 200 && res.status <= 202)
        return { ok: true, message: `${hook.name}: HTTP ${res.status}` };
      const text = typeof res.data === "string" ? res.data.slice(0, 200).trim() : "";
      message = `${hook.name}: HTTP ${res.status}${text ? ` ${text}` : ""}`;
    } catch (err) {
      message = `${hook.name}: ${networkErrorDetail(err)}`;
    }
  }
  return { ok: false, message };
}

/** Calls every hook of `type` at once; the gate opens only when all of them say yes. */
export async function callHooks(
  hooks: readonly EffectiveWebhook[],
  type: EffectiveWebhook["type"],
  payload: HookPayload,
): Promise<HookResult> {
  const chosen = hooks.filter((h) => h.type === type);
  const results = await Promise.all(chosen.map((h) => callHook(h, payload)));
  const failed = results.filter((r) => !r.ok);
  return failed.length > 0
    ? { ok: false, message: failed.map((r) => r.message).join("; ") }
    : { ok: true, message: results.map((r) => r.message).join("; ") };
}
