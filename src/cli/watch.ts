// `kubectl serin get [NAME] --watch`: the view redrawn on every watch event (and every second on a terminal,
// for the countdown to the next step), until Ctrl-C. Watches end (the API server closes them); this one
// watches again, and says so while the API server cannot be reached. I/O shell around the pure renderers.
import type { Canary } from "../api/canary.js";
import { statusCode } from "../kube/client.js";
import type { Options } from "./args.js";
import { explainError } from "./errors.js";
import { clock, style } from "./format.js";
import type { Io } from "./io.js";
import { attempt, getCanary, listCanaries, type Session, watchCanaries } from "./kube.js";
import { renderDetail, renderTable } from "./render-get.js";
import { HIDE_CURSOR, redraw, SHOW_CURSOR } from "./screen.js";
import { summarize } from "./summary.js";

const RETRY_MS = 2_000;

const keyOf = (c: Canary) => `${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`;

/** The body of a frame: the detail of one Canary or the table of all, from the Canaries seen so far. */
export function watchBody(
  canaries: readonly Canary[],
  o: Options,
  namespace: string | undefined,
  now: Date,
  tty: boolean,
): string {
  const st = style(tty);
  if (o.name !== undefined) {
    const c = canaries[0];
    return c === undefined
      ? `canary ${o.name} not found in namespace ${namespace ?? ""} (deleted?); watching for it\n`
      : renderDetail(summarize(c, now), st);
  }
  if (canaries.length === 0)
    return `No canaries found${namespace ? ` in namespace ${namespace}` : ""}; watching\n`;
  const sorted = [...canaries].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  return renderTable(
    sorted.map((c) => summarize(c, now)),
    o.allNamespaces,
    st,
  );
}

export function watchGet(s: Session, o: Options, io: Io): Promise<number> {
  const namespace = o.allNamespaces ? undefined : s.namespace;
  const json = o.output === "json";
  let seen = new Map<string, Canary>();
  let problem: string | undefined;
  let lastBody = "";
  let controller: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;
  let finished = false;

  const draw = () => {
    if (json) return; // JSON lines are written per event
    const now = io.now();
    const body = watchBody([...seen.values()], o, namespace, now, io.tty);
    if (io.tty) {
      const scope = o.name ?? (namespace ? `namespace ${namespace}` : "all namespaces");
      const header = `${scope} — context ${s.context} — ${clock(now.toISOString())}${problem ? ` — ${problem}` : ""} — Ctrl-C to quit\n\n`;
      io.out(redraw(header + body, true));
    } else if (body !== lastBody) {
      io.out(redraw(body, false));
    }
    lastBody = body;
  };
  const emit = (type: string, c: Canary) => {
    if (json) io.out(`${JSON.stringify({ type, ...summarize(c, io.now()) })}\n`);
  };

  return new Promise<number>((resolve) => {
    const finish = (code: number, message?: string) => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      if (retry) clearTimeout(retry);
      controller?.abort();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      io.stop?.removeEventListener("abort", onSignal);
      if (io.tty && !json) io.out(SHOW_CURSOR);
      if (message) io.err(`error: ${message}\n`);
      resolve(code);
    };
    const onSignal = () => finish(0);
    const fatal = (err: unknown) => {
      const code = statusCode(err);
      return code === 401 || code === 403 || (code === 404 && o.name === undefined);
    };
    const later = (err: unknown, verb: string) => {
      if (finished) return;
      const message = explainError(err, attempt(s, verb, namespace, o.name));
      if (fatal(err)) return finish(1, message);
      problem = `${message}; retrying`;
      if (!io.tty) io.err(`${problem}\n`);
      draw();
      retry = setTimeout(() => void start(), RETRY_MS);
    };

    /** Read the current state, draw it, then watch for changes; again whenever the watch ends. */
    const start = async () => {
      if (finished) return;
      let current: Canary[];
      try {
        current = await read();
      } catch (err) {
        return later(err, o.name !== undefined ? "get" : "list");
      }
      seen = new Map(current.map((c) => [keyOf(c), c]));
      problem = undefined;
      for (const c of current) emit("ADDED", c);
      draw();
      try {
        controller = await watchCanaries(
          s,
          namespace,
          o.name,
          (e) => {
            if (e.type === "DELETED") seen.delete(keyOf(e.canary));
            else seen.set(keyOf(e.canary), e.canary);
            emit(e.type, e.canary);
            draw();
          },
          (err) => {
            if (finished) return;
            if (err === undefined || isAbort(err)) return void start(); // the server closed it: watch again
            later(err, "watch");
          },
        );
      } catch (err) {
        later(err, "watch");
      }
    };
    const read = async (): Promise<Canary[]> => {
      if (o.name === undefined) return listCanaries(s, namespace);
      try {
        return [await getCanary(s, s.namespace, o.name)];
      } catch (err) {
        if (statusCode(err) === 404) return []; // deleted while watched: say so and keep watching
        throw err;
      }
    };

    // A missing Canary or a missing permission is an error at once, not an empty screen.
    const first = o.name !== undefined ? getCanary(s, s.namespace, o.name) : listCanaries(s, namespace);
    first.then(
      () => {
        process.on("SIGINT", onSignal);
        process.on("SIGTERM", onSignal);
        if (io.stop?.aborted) return finish(0);
        io.stop?.addEventListener("abort", onSignal);
        if (io.tty && !json) io.out(`\x1b[2J${HIDE_CURSOR}`);
        if (io.tty && !json) timer = setInterval(draw, 1_000);
        void start();
      },
      (err: unknown) => finish(1, explainError(err, attempt(s, o.name ? "get" : "list", namespace, o.name))),
    );
  });
}

const isAbort = (err: unknown): boolean =>
  typeof err === "object" && err !== null && "name" in err && err.name === "AbortError";
