// The dashboard's view of the cluster: every Canary of the scope and the Events about them, kept current by
// watches with the user's kubeconfig (kube.ts). A watch the API server closes is opened again after a fresh
// list (so deletions missed meanwhile are not kept); while the API server cannot be reached the problem is
// told to the page and the list is retried every RETRY_MS (a missing permission: every minute).
import type { Canary } from "../../api/canary.js";
import { statusCode } from "../../kube/client.js";
import { explainError } from "../errors.js";
import {
  attempt,
  type CanaryEvent,
  listCanaries,
  listCanaryEvents,
  type Session,
  watchCanaries,
  watchCanaryEvents,
} from "../kube.js";
import { keyOf } from "./api.js";

const RETRY_MS = 2_000;
/** A missing permission does not come back by itself soon: ask again rarely. */
const FORBIDDEN_RETRY_MS = 60_000;
/** Events kept per Canary: the page shows the latest. */
const EVENTS_KEPT = 50;

/** A change: the key of the Canary that changed, or undefined for the scope as a whole (relist, problem). */
export type ChangeListener = (key: string | undefined) => void;

export interface Watcher {
  canaries(): Canary[];
  canary(key: string): Canary | undefined;
  events(key: string): CanaryEvent[];
  /** what stops the dashboard from being current (the API server unreachable, a permission missing) */
  problem(): string | undefined;
  stop(): void;
}

interface Follow<T> {
  list: () => Promise<T[]>;
  reset: (items: T[]) => void;
  watch: (done: (err: unknown) => void) => Promise<AbortController>;
  problem: (message: string | undefined) => void;
}

const isAbort = (err: unknown): boolean =>
  typeof err === "object" && err !== null && "name" in err && err.name === "AbortError";

/** list, then watch; again when the watch ends; after RETRY_MS when either fails. Returns the stopper. */
function follow<T>(f: Follow<T>, describe: (err: unknown) => string): () => void {
  let stopped = false;
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  const later = (err: unknown) => {
    if (stopped) return;
    const code = statusCode(err);
    const forbidden = code === 401 || code === 403;
    f.problem(`${describe(err)}; retrying${forbidden ? " in a minute" : ""}`);
    timer = setTimeout(() => void start(), forbidden ? FORBIDDEN_RETRY_MS : RETRY_MS);
  };
  const start = async () => {
    if (stopped) return;
    try {
      f.reset(await f.list());
      f.problem(undefined);
      controller = await f.watch((err) => {
        if (stopped) return;
        if (err === undefined || isAbort(err))
          void start(); // closed by the server: watch again
        else later(err);
      });
      if (stopped) controller.abort();
    } catch (err) {
      later(err);
    }
  };
  void start();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    controller?.abort();
  };
}

export function startWatcher(s: Session, namespace: string | undefined, onChange: ChangeListener): Watcher {
  const canaries = new Map<string, Canary>();
  const events = new Map<string, Map<string, CanaryEvent>>();
  const problems = new Map<string, string>();
  const setProblem = (what: string) => (message: string | undefined) => {
    if (problems.get(what) === message) return;
    if (message === undefined) problems.delete(what);
    else problems.set(what, message);
    onChange(undefined);
  };
  const describe = (verb: string) => (err: unknown) => explainError(err, attempt(s, verb, namespace));
  const eventKey = (e: CanaryEvent) => `${e.namespace}/${e.canary}`;
  const putEvent = (e: CanaryEvent) => {
    const forCanary = events.get(eventKey(e)) ?? new Map<string, CanaryEvent>();
    forCanary.set(e.uid, e);
    if (forCanary.size > EVENTS_KEPT) {
      const oldest = [...forCanary.values()].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))[0];
      if (oldest) forCanary.delete(oldest.uid);
    }
    events.set(eventKey(e), forCanary);
  };

  const stopCanaries = follow<Canary>(
    {
      list: () => listCanaries(s, namespace),
      reset: (items) => {
        canaries.clear();
        for (const c of items) canaries.set(keyOf(c), c);
        onChange(undefined);
      },
      watch: (done) =>
        watchCanaries(
          s,
          namespace,
          undefined,
          (e) => {
            const key = keyOf(e.canary);
            if (e.type === "DELETED") canaries.delete(key);
            else canaries.set(key, e.canary);
            onChange(key);
          },
          done,
        ),
      problem: setProblem("canaries"),
    },
    describe("watch"),
  );
  // Events are a nicety: a user who may not list them still gets the dashboard, with the problem said.
  const stopEvents = follow<CanaryEvent>(
    {
      list: () => listCanaryEvents(s, namespace),
      reset: (items) => {
        events.clear();
        for (const e of items) putEvent(e);
        onChange(undefined);
      },
      watch: (done) =>
        watchCanaryEvents(
          s,
          namespace,
          (type, e) => {
            if (type === "DELETED") events.get(eventKey(e))?.delete(e.uid);
            else putEvent(e);
            onChange(eventKey(e));
          },
          done,
        ),
      problem: setProblem("events"),
    },
    (err) =>
      `Events: ${explainError(err, attempt(s, "list", namespace)).replace(/canaries\.serin\.dev/g, "events")}`,
  );

  return {
    canaries: () => [...canaries.values()],
    canary: (key) => canaries.get(key),
    events: (key) => [...(events.get(key)?.values() ?? [])],
    problem: () => (problems.size === 0 ? undefined : [...problems.values()].join("; ")),
    stop: () => {
      stopCanaries();
      stopEvents();
    },
  };
}
