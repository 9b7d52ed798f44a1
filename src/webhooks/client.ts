// Flagger's webhook protocol, so existing load testers, approval gates and notifiers work unchanged:
// POST JSON {name, namespace, phase, checksum, metadata}; 200-202 is yes, anything else (or no
// answer within the hook's timeout, after its retries) is no. Every call is bounded by an overall
// deadline (budget.ts) and stops at once when the caller's signal aborts: the answer is then
// "<hook>: aborted", never a thrown error.
import axios from "axios";
import type { EffectiveWebhook } from "../api/defaults.js";
import type { HookResult } from "../core/world.js";
import { agentsFor } from "../net/agents.js";
import { startDeadline } from "../net/deadline.js";
import { ABORTED, networkErrorDetail } from "../net/error-detail.js";
import { redact } from "../net/redact.js";
import { sleep } from "../net/timers.js";
import { attemptTimeoutMs, HOOK_CALL_CAP_MS, hookBudgetMs, retryBackoffMs } from "./budget.js";

export interface HookPayload {
  name: string;
  namespace: string;
  phase: string;
  checksum: string;
  metadata?: Record<string, string>;
}

export interface HookCallOptions {
  /** aborts the call (shutdown, lost leadership), including a retry backoff in progress */
  signal?: AbortSignal;
  /** the overall cap for this call; HOOK_CALL_CAP_MS unless a caller (or a test) wants less */
  capMs?: number;
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

/** Gates answer with a word or a sentence; a page of HTML is not worth keeping in memory. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/** One POST with its own deadline inside the call's; the message has no hook name yet. */
async function attempt(
  hook: EffectiveWebhook,
  body: unknown,
  timeoutMs: number,
  parent: AbortSignal,
): Promise<HookResult> {
  const deadline = startDeadline(timeoutMs, parent);
  try {
    const res = await axios.post(hook.url, body, {
      signal: deadline.signal,
      // The deadline covers the whole exchange; axios' own timeout is only an idle-socket timeout.
      timeout: 0,
      validateStatus: () => true,
      maxContentLength: MAX_ANSWER_BYTES,
      ...agentsFor(hook.disableTLS),
    });
    if (res.status >= 200 && res.status <= 202) return { ok: true, message: `HTTP ${res.status}` };
    const text = typeof res.data === "string" ? redact(res.data.slice(0, 200).trim()) : "";
    return { ok: false, message: `HTTP ${res.status}${text ? ` ${text}` : ""}` };
  } catch (err) {
    if (deadline.expired()) return { ok: false, message: `timeout: no answer within ${timeoutMs} ms` };
    return { ok: false, message: networkErrorDetail(err) };
  } finally {
    deadline.dispose();
  }
}

export async function callHook(
  hook: EffectiveWebhook,
  payload: HookPayload,
  options: HookCallOptions = {},
): Promise<HookResult> {
  const capMs = options.capMs ?? HOOK_CALL_CAP_MS;
  const body = { ...payload, metadata: { ...hook.metadata, ...payload.metadata } };
  const timeoutMs = attemptTimeoutMs(hook, capMs);
  const budgetMs = hookBudgetMs(hook, capMs);
  const overall = startDeadline(budgetMs, options.signal);
  const retries = Number.isFinite(hook.retries) && hook.retries > 0 ? hook.retries : 0;
  let last = "";
  let attempts = 0;
  try {
    for (let n = 0; n <= retries; n++) {
      if (n > 0 && !(await sleep(retryBackoffMs(n), overall.signal))) break;
      if (overall.signal.aborted) break;
      attempts++;
      const result = await attempt(hook, body, timeoutMs, overall.signal);
      if (result.ok) return { ok: true, message: `${hook.name}: ${result.message}` };
      last = result.message;
    }
  } catch (err) {
    // Nothing above should throw; if it does, it is this hook's "no", not a failed reconcile.
    last = networkErrorDetail(err);
  } finally {
    overall.dispose();
  }
  if (overall.parentAborted()) return { ok: false, message: `${hook.name}: ${ABORTED}` };
  if (overall.expired()) {
    const tail = last && !last.startsWith("timeout") ? `; last answer: ${last}` : "";
    return {
      ok: false,
      message: `${hook.name}: no success within ${budgetMs} ms (${attempts} attempt${attempts === 1 ? "" : "s"})${tail}`,
    };
  }
  return { ok: false, message: `${hook.name}: ${last}` };
}

/** Calls every hook of `type` at once; the gate opens only when all of them say yes. */
export async function callHooks(
  hooks: readonly EffectiveWebhook[],
  type: EffectiveWebhook["type"],
  payload: HookPayload,
  options: HookCallOptions = {},
): Promise<HookResult> {
  const chosen = hooks.filter((h) => h.type === type);
  const results = await Promise.all(chosen.map((h) => callHook(h, payload, options)));
  const failed = results.filter((r) => !r.ok);
  return failed.length > 0
    ? { ok: false, message: failed.map((r) => r.message).join("; ") }
    : { ok: true, message: results.map((r) => r.message).join("; ") };
}
