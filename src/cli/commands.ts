// Runs one parsed command: reads what it needs through kube.ts, renders it with the pure renderers, and
// returns the exit code (0 ok, 1 error). Errors are said in words (errors.ts), never as a stack trace.
// The control commands (promote, abort, retry, pause, resume) write a request and wait: control.ts.
import { isControlCommand, type Options } from "./args.js";
import { runControl } from "./control.js";
import { runDashboard } from "./dashboard/run.js";
import { explainError } from "./errors.js";
import { style } from "./format.js";
import type { Io } from "./io.js";
import { attempt, getCanary, listCanaries, type Session } from "./kube.js";
import { explainView, renderExplain } from "./render-explain.js";
import { renderDetail, renderTable } from "./render-get.js";
import { historyView, renderHistory } from "./render-history.js";
import { runReplay } from "./replay/command.js";
import { summarize } from "./summary.js";
import { watchGet } from "./watch.js";

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

export async function runCommand(s: Session, o: Options, io: Io): Promise<number> {
  if (o.command === "get" && o.watch) return watchGet(s, o, io);
  if (o.command === "dashboard") return runDashboard(s, o, io);
  if (o.command === "replay") return runReplay(s, o, io);
  if (isControlCommand(o.command) && o.name !== undefined)
    return runControl(s, { ...o, name: o.name }, o.command, io);
  const namespace = o.allNamespaces ? undefined : s.namespace;
  const verb = o.command === "get" && o.name === undefined ? "list" : "get";
  try {
    const st = style(io.tty);
    const now = io.now();
    if (o.name === undefined) {
      // get without a name: every Canary of the namespace (or all of them)
      const canaries = await listCanaries(s, namespace);
      const summaries = canaries
        .map((c) => summarize(c, now))
        .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
      if (o.output === "json") io.out(json({ items: summaries }));
      else if (summaries.length === 0)
        io.err(`No canaries found${namespace !== undefined ? ` in namespace ${namespace}` : ""}.\n`);
      else io.out(renderTable(summaries, o.allNamespaces, st));
      return 0;
    }
    const canary = await getCanary(s, s.namespace, o.name);
    switch (o.command) {
      case "get": {
        const summary = summarize(canary, now);
        io.out(o.output === "json" ? json(summary) : renderDetail(summary, st));
        return 0;
      }
      case "explain": {
        const view = explainView(canary, now);
        io.out(o.output === "json" ? json(view) : renderExplain(view, st));
        return 0;
      }
      case "history": {
        const view = historyView(canary, now);
        io.out(o.output === "json" ? json(view) : renderHistory(view, now, st));
        return 0;
      }
      default:
        // the control commands returned above
        throw new Error(`unexpected command ${o.command}`);
    }
  } catch (err) {
    io.err(`error: ${explainError(err, attempt(s, verb, namespace, o.name))}\n`);
    return 1;
  }
}
