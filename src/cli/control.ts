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
const detail = (result: string, prefix: string) => result.slice(prefix.length).replace(/^:\s*/, "");

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runControl(
  s: Session,
  o: Options & { name: string },
  action: ControlAction,
  io: Io,
): Promise<number> {
  const { namespace } = s;
  const name = o.name;
  const waitMs = o.waitMs ?? DEFAULT_WAIT_MS;
  const id = newActionId(io.now());
  const by = s.user;
  const reason = o.reason?.trim() ? o.reason.trim() : undefined;
  const target = `canary ${name} in namespace ${namespace}`;
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

  try {
    await patchCanary(s, namespace, name, requestPatch(action, id, by, reason));
  } catch (err) {
    io.err(`error: ${explainError(err, attempt(s, "patch", namespace, name))}\n`);
    return 1;
  }
  if (waitMs <= 0) {
    report("not-waited");
    if (o.output !== "json")
      io.out(
        `${action} requested on ${target} (id ${id}); not waiting: see status.control with kubectl serin get ${name}\n`,
      );
    return 0;
  }

  const deadline = Date.now() + waitMs;
  let lastError: unknown;
  for (;;) {
    try {
      const canary = await getCanary(s, namespace, name);
      lastError = undefined;
      const control = canary.status?.control;
      if (control?.id === id) return answer(control);
    } catch (err) {
      const code = statusCode(err);
      // forbidden to read, or deleted while waiting: no answer will come
      if (code === 403 || code === 404 || code === 401) {
        io.err(
          `error: ${action} requested (id ${id}), but reading the answer failed: ${explainError(err, attempt(s, "get", namespace, name))}\n`,
        );
        return 1;
      }
      lastError = err; // a blip: keep trying until the deadline
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(POLL_MS, left));
  }
  report("timeout");
  io.err(
    `error: ${action} requested on ${target} (id ${id}), but the controller did not answer within ${formatDuration(waitMs)}: is Serin running? The request stays on the Canary until the controller reads it.${
      lastError !== undefined
        ? ` Last read failed: ${explainError(lastError, attempt(s, "get", namespace, name))}`
        : ""
    }\n`,
  );
  return 1;

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
