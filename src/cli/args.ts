// Command-line parsing of `kubectl serin`: argv in, a command or a usage error out (exit code 2). Pure.
import type { ControlAction } from "../api/canary.js";
import { parseDuration } from "../api/duration.js";

/** The read-only commands, then the runtime controls (docs/control.md), which write a request and wait. */
export const COMMANDS = {
  get: { usage: "get [NAME] [-w|--watch] [-A]", summary: "phase, weight, last check, next step and harm" },
  explain: { usage: "explain NAME", summary: "every decision of the current or last run, with its numbers" },
  history: {
    usage: "history NAME",
    summary: "past runs: revision, outcome, duration, requests served and failed",
  },
  promote: {
    usage: "promote NAME [--reason TEXT]",
    summary: "open a waiting gate, or promote at the next passed check",
  },
  abort: { usage: "abort NAME [--reason TEXT]", summary: "roll back now" },
  retry: { usage: "retry NAME [--reason TEXT]", summary: "analyse a failed revision again" },
  pause: { usage: "pause NAME [--reason TEXT]", summary: "hold the weight where it is" },
  resume: { usage: "resume NAME [--reason TEXT]", summary: "continue a paused run" },
  replay: {
    usage: "replay NAME [--run K] [--set PATH=VALUE]...",
    summary: "re-decide a past run on its recorded metrics, with an edited analysis (docs/replay.md)",
  },
  dashboard: {
    usage: "dashboard [-A] [--port N]",
    summary: "a live web page on 127.0.0.1, with your credentials (docs/cli.md)",
  },
} as const;
export type CommandName = keyof typeof COMMANDS;

/** The commands that write a control request (the annotation serin.dev/action takes the command's name). */
export const CONTROL_COMMANDS = [
  "promote",
  "abort",
  "retry",
  "pause",
  "resume",
] as const satisfies readonly ControlAction[];
export const isControlCommand = (c: CommandName): c is ControlAction =>
  (CONTROL_COMMANDS as readonly string[]).includes(c);

/** How long a control command waits for the controller's answer unless --wait says otherwise. */
export const DEFAULT_WAIT_MS = 30_000;

/** Commands the issue plans that this build does not have yet: a clear message, not "unknown command". */
export const PLANNED_COMMANDS: readonly string[] = [];

/** The dashboard's port unless --port says otherwise (0: any free port). */
export const DEFAULT_DASHBOARD_PORT = 7070;

export interface Options {
  command: CommandName;
  name?: string;
  namespace?: string;
  allNamespaces: boolean;
  kubeconfig?: string;
  context?: string;
  output: "text" | "json";
  watch: boolean;
  /** control commands: --reason */
  reason?: string;
  /** control commands: how long to wait for status.control to answer (0: do not wait) */
  waitMs?: number;
  /** replay: the history entry's number, or the run under way; --set edits; the Prometheus to ask */
  run?: number | "current";
  set?: string[];
  prometheus?: string;
  /** dashboard: where to listen (default 127.0.0.1, DEFAULT_DASHBOARD_PORT) and whether to open a browser */
  address?: string;
  port?: number;
  allowRemote?: boolean;
  open?: boolean;
}

export type Parsed = { kind: "run"; options: Options } | { kind: "help"; text: string };

export class UsageError extends Error {
  override name = "UsageError";
}

export const USAGE = `kubectl serin — see Serin canary rollouts

Usage: kubectl serin COMMAND [NAME] [flags]   (also: kubectl-serin COMMAND ...)

Commands:
${Object.values(COMMANDS)
  .map((c) => `  ${c.usage.padEnd(34)}${c.summary}`)
  .join("\n")}

Flags:
  -n, --namespace NS      namespace (default: the context's namespace, else "default")
  -A, --all-namespaces    get: Canaries in every namespace
  -w, --watch             get: redraw on every change until interrupted
      --reason TEXT       control commands: why (status.control, the Event; cut at 256 characters)
      --wait DURATION     control commands: how long to wait for the controller's answer
                          (default 30s; 0: write the request and do not wait)
  -o, --output FORMAT     text (default) or json
      --address ADDR      dashboard: listen address (default 127.0.0.1; others need --allow-remote)
      --port N            dashboard: port (default 7070; 0: any free port)
      --allow-remote      dashboard: allow a non-loopback --address (it acts with your credentials)
      --no-open           dashboard: do not open a browser
      --run K             replay: the run (status.history's number; default the latest; "current")
      --set PATH=VALUE    replay: edit the analysis, e.g. analysis.threshold=3 (repeatable)
      --prometheus URL    replay: the Prometheus to read (default $SERIN_PROMETHEUS_URL)
      --kubeconfig PATH   kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context NAME      kubeconfig context (default: the current context)
  -h, --help              this help

Exit codes: 0 ok (a control request done or pending), 1 error (not found, forbidden, API server
unreachable; a control request ignored, or not answered within --wait), 2 usage.
`;

type ValueFlag =
  | "namespace"
  | "kubeconfig"
  | "context"
  | "output"
  | "reason"
  | "wait"
  | "address"
  | "port"
  | "run"
  | "prometheus";

const VALUE_FLAGS: Record<string, ValueFlag> = {
  "-n": "namespace",
  "--namespace": "namespace",
  "--kubeconfig": "kubeconfig",
  "--context": "context",
  "-o": "output",
  "--output": "output",
  "--reason": "reason",
  "--wait": "wait",
  "--run": "run",
  "--prometheus": "prometheus",
  "--address": "address",
  "--port": "port",
};

/** The dashboard's switches (no value). */
const DASHBOARD_SWITCHES = ["--allow-remote", "--no-open"] as const;

export function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const values: Partial<Record<ValueFlag, string>> = {};
  let allNamespaces = false;
  let watch = false;
  const switches = new Set<string>();
  const sets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "-h" || arg === "--help" || arg === "help") return { kind: "help", text: USAGE };
    if (arg === "-A" || arg === "--all-namespaces") {
      allNamespaces = true;
      continue;
    }
    if (arg === "-w" || arg === "--watch") {
      watch = true;
      continue;
    }
    if ((DASHBOARD_SWITCHES as readonly string[]).includes(arg)) {
      switches.add(arg);
      continue;
    }
    // replay's --set may be repeated (and its value holds "=")
    if (arg === "--set" || arg.startsWith("--set=")) {
      const value = arg === "--set" ? argv[++i] : arg.slice("--set=".length);
      if (value === undefined || value === "") throw new UsageError("flag --set needs PATH=VALUE");
      sets.push(value);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const key = VALUE_FLAGS[flag];
    if (key !== undefined) {
      const value = flag !== arg ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") throw new UsageError(`flag ${flag} needs a value`);
      values[key] = value;
      continue;
    }
    // -nshop, -ojson: kubectl's short form with the value attached
    if (/^-[no]./.test(arg)) {
      values[arg[1] === "n" ? "namespace" : "output"] = arg.slice(2);
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") throw new UsageError(`unknown flag ${arg}`);
    positional.push(arg);
  }
  const [command, name, ...extra] = positional;
  if (command === undefined) return { kind: "help", text: USAGE };
  if ((PLANNED_COMMANDS as readonly string[]).includes(command))
    throw new UsageError(`${command}: not available in this version of kubectl serin yet`);
  if (!(command in COMMANDS)) throw new UsageError(`unknown command "${command}"`);
  const cmd = command as CommandName;
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (cmd === "dashboard" && name !== undefined)
    throw new UsageError(`dashboard takes no Canary name (it shows them all): ${COMMANDS.dashboard.usage}`);
  if (cmd !== "get" && cmd !== "dashboard" && name === undefined)
    throw new UsageError(`${cmd} needs a Canary name: ${COMMANDS[cmd].usage}`);
  if (name !== undefined && allNamespaces)
    throw new UsageError("a Canary name cannot be used with --all-namespaces");
  if (watch && cmd !== "get") throw new UsageError(`--watch is for get, not ${cmd}`);
  if (allNamespaces && cmd !== "get" && cmd !== "dashboard")
    throw new UsageError(`--all-namespaces is for get and dashboard, not ${cmd}`);
  const dashboard = cmd === "dashboard" ? dashboardOptions(values, switches) : {};
  if (cmd !== "dashboard") {
    for (const flag of ["address", "port"] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for dashboard, not ${cmd}`);
    for (const flag of switches) throw new UsageError(`${flag} is for dashboard, not ${cmd}`);
  }
  const replay = replayOptions(cmd, values, sets);
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json")
    throw new UsageError(`--output must be text or json, not "${output}"`);
  const control = isControlCommand(cmd);
  for (const flag of ["reason", "wait"] as const)
    if (values[flag] !== undefined && !control)
      throw new UsageError(`--${flag} is for promote, abort, retry, pause and resume, not ${cmd}`);
  let waitMs: number | undefined;
  if (control) {
    try {
      waitMs = values.wait === undefined ? DEFAULT_WAIT_MS : parseDuration(values.wait);
    } catch (err) {
      throw new UsageError(`--wait: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return {
    kind: "run",
    options: {
      command: cmd,
      ...(name !== undefined ? { name } : {}),
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      allNamespaces,
      ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
      ...(values.context !== undefined ? { context: values.context } : {}),
      output,
      watch,
      ...(values.reason !== undefined ? { reason: values.reason } : {}),
      ...(waitMs !== undefined ? { waitMs } : {}),
      ...dashboard,
      ...replay,
    },
  };
}

function dashboardOptions(
  values: Partial<Record<ValueFlag, string>>,
  switches: ReadonlySet<string>,
): Pick<Options, "address" | "port" | "allowRemote" | "open"> {
  const raw = values.port ?? String(DEFAULT_DASHBOARD_PORT);
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535)
    throw new UsageError(`--port must be a number from 0 to 65535, not "${raw}"`);
  return {
    address: values.address ?? "127.0.0.1",
    port,
    allowRemote: switches.has("--allow-remote"),
    open: !switches.has("--no-open"),
  };
}

function replayOptions(
  cmd: CommandName,
  values: Partial<Record<ValueFlag, string>>,
  sets: readonly string[],
): Pick<Options, "run" | "set" | "prometheus"> {
  if (cmd !== "replay") {
    for (const flag of ["run", "prometheus"] as const)
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for replay, not ${cmd}`);
    if (sets.length > 0) throw new UsageError(`--set is for replay, not ${cmd}`);
    return {};
  }
  const raw = values.run;
  if (raw !== undefined && raw !== "current" && !/^[1-9]\d*$/.test(raw))
    throw new UsageError(`--run must be a run number (kubectl serin history) or "current", not "${raw}"`);
  return {
    ...(raw !== undefined ? { run: raw === "current" ? "current" : Number(raw) } : {}),
    ...(sets.length > 0 ? { set: [...sets] } : {}),
    ...(values.prometheus !== undefined ? { prometheus: values.prometheus } : {}),
  };
}
