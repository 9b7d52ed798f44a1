// `kubectl serin promote|abort|retry|pause|resume NAME`: writes a control request (docs/control.md) as
// four annotations with a JSON merge patch, then polls the Canary until status.control carries the
// request's id, and says what the controller made of it. Exit 0 done or pending, 1 ignored or no answer.
import { randomBytes } from "node:crypto";
import type { ControlAction, ControlRecord } from "../api/canary.js";
import { ANNOTATIONS } from "../api/constants.js";
import { formatDuration } from "../api/duration.js";
import { statusCode } from "../kube/client.js";
import { DEFAULT_WAIT_MS, type Options } from "./args.js";
import { explainError } from "./errors.js";
import type { Io } from "./io.js";
import { attempt, getCanary, patchCanary, type Session } from "./kube.js";

/** How often the Canary is read while waiting for the controller's answer. */
export const POLL_MS = 1_000;

/** A request id no other request shares: `<unix ms>-<8 random hex digits>`. */
export function newActionId(now: Date, random: string = randomBytes(4).toString("hex")): string {
  return `${now.getTime()}-${random}`;
}

/**
 * The JSON merge patch writing a request: all four annotations, so no reason or author of an earlier
 * request left unread is taken for this one's (null removes the annotation).
 */
export function requestPatch(
  action: ControlAction,
  id: string,
  by: string | undefined,
  reason: string | undefined,
): { metadata: { annotations: Record<string, string | null> } } {
  return {
    metadata: {
      annotations: {
        [ANNOTATIONS.action]: action,
        [ANNOTATIONS.actionId]: id,
        [ANNOTATIONS.actionBy]: by ?? null,
        [ANNOTATIONS.actionReason]: reason?.trim() ? reason.trim() : null,
      },
    },
  };
}

export type Outcome = "done" | "pending" | "ignored" | "timeout" | "not-waited";

/** What the controller's result means for the user and the exit code. */
export function outcomeOf(result: string): "done" | "pending" | "ignored" {
  if (result.startsWith("ignored")) return "ignored";
  if (result.startsWith("pending")) return "pending";
  return "done";
}

/** "ignored: the run is Failed" → "the run is Failed" */
export const detail = (result: string, prefix: string) => result.slice(prefix.length).replace(/^:\s*/, "");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What came of a control request: the patch refused, not waited for, answered, unreadable, or no answer. */
export type ControlResult = { id: string; by?: string; reason?: string } & (
  | { kind: "refused"; error: unknown }
  | { kind: "not-waited" }
  | { kind: "answered"; control: ControlRecord }
  | { kind: "unreadable"; error: unknown }
  | { kind: "timeout"; lastError?: unknown }
);

export interface ControlRequest {
  namespace: string;
  name: string;
  action: ControlAction;
  reason?: string;
  /** how long to wait for status.control to carry the request's id (0: do not wait) */
  waitMs: number;
}

/**
 * Writes a control request and waits for the controller's answer: the one way both the CLI and the
 * dashboard steer a rollout, so they cannot drift apart. Errors are returned, not thrown: the caller says them.
 */
export async function sendControl(s: Session, r: ControlRequest, now: Date): Promise<ControlResult> {
  const { namespace, name, action } = r;
  const id = newActionId(now);
  const by = s.user;
  const reason = r.reason?.trim() ? r.reason.trim() : undefined;
  const base = { id, ...(by ? { by } : {}), ...(reason ? { reason } : {}) };
  try {
    await patchCanary(s, namespace, name, requestPatch(action, id, by, reason));
  } catch (error) {
    return { ...base, kind: "refused", error };
  }
  if (r.waitMs <= 0) return { ...base, kind: "not-waited" };
  const deadline = Date.now() + r.waitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const control = (await getCanary(s, namespace, name)).status?.control;
      lastError = undefined;
      if (control?.id === id) return { ...base, kind: "answered", control };
    } catch (error) {
      const code = statusCode(error);
      // forbidden to read, or deleted while waiting: no answer will come
      if (code === 403 || code === 404 || code === 401) return { ...base, kind: "unreadable", error };
      lastError = error; // a blip: keep trying until the deadline
    }
    const left = deadline - Date.now();
    if (left <= 0) return { ...base, kind: "timeout", ...(lastError !== undefined ? { lastError } : {}) };
    await sleep(Math.min(POLL_MS, left));
  }
}

export async function runControl(
  s: Session,
  o: Options & { name: string },
  action: ControlAction,
  io: Io,
): Promise<number> {
  const { namespace } = s;
  const name = o.name;
  const waitMs = o.waitMs ?? DEFAULT_WAIT_MS;
  const target = `canary ${name} in namespace ${namespace}`;
  const r = await sendControl(
    s,
    { namespace, name, action, waitMs, ...(o.reason !== undefined ? { reason: o.reason } : {}) },
    io.now(),
  );
  const { id, by, reason } = r;
  const report = (outcome: Outcome, control?: ControlRecord) => {
    if (o.output !== "json") return;
    io.out(
      `${JSON.stringify(
        {
          namespace,
          name,
          action,
          id,
          ...(by ? { by } : {}),
          ...(reason ? { reason } : {}),
          outcome,
          ...(control ? { control } : {}),
        },
        null,
        2,
      )}\n`,
    );
  };

  switch (r.kind) {
    case "refused":
      io.err(`error: ${explainError(r.error, attempt(s, "patch", namespace, name))}\n`);
      return 1;
    case "not-waited":
      report("not-waited");
      if (o.output !== "json")
        io.out(
          `${action} requested on ${target} (id ${id}); not waiting: see status.control with kubectl serin get ${name}\n`,
        );
      return 0;
    case "unreadable":
      io.err(
        `error: ${action} requested (id ${id}), but reading the answer failed: ${explainError(r.error, attempt(s, "get", namespace, name))}\n`,
      );
      return 1;
    case "timeout":
      report("timeout");
      io.err(
        `error: ${action} requested on ${target} (id ${id}), but the controller did not answer within ${formatDuration(waitMs)}: is Serin running? The request stays on the Canary until the controller reads it.${
          r.lastError !== undefined
            ? ` Last read failed: ${explainError(r.lastError, attempt(s, "get", namespace, name))}`
            : ""
        }\n`,
      );
      return 1;
    case "answered":
      return answer(r.control);
  }

  function answer(control: ControlRecord): number {
    const outcome = outcomeOf(control.result);
    report(outcome, control);
    const text = o.output !== "json";
    switch (outcome) {
      case "done":
        if (text) io.out(`${action} ${name}: done\n`);
        return 0;
      case "pending":
        if (text) io.out(`${action} ${name}: pending: ${detail(control.result, "pending")}\n`);
        return 0;
      case "ignored":
        io.err(`error: ${action} ${name} was ignored: ${detail(control.result, "ignored")}\n`);
        return 1;
    }
  }
}
