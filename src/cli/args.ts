// Command-line parsing of `kubectl serin`: argv in, a command or a usage error out (exit code 2). Pure.

/** Read-only commands; the runtime controls (promote, abort, retry, pause, resume) come with issue 9 item 1. */
export const COMMANDS = {
  get: { usage: "get [NAME] [-w|--watch] [-A]", summary: "phase, weight, last check, next step and harm" },
  explain: { usage: "explain NAME", summary: "every decision of the current or last run, with its numbers" },
  history: {
    usage: "history NAME",
    summary: "past runs: revision, outcome, duration, requests served and failed",
  },
  // ---- runtime controls: reserved, not implemented yet (issue 9 item 1; another change adds them) ----
  // promote: { usage: "promote NAME", summary: "approve a waiting gate, or skip the remaining steps" },
  // abort:   { usage: "abort NAME [--reason TEXT]", summary: "roll back now" },
  // retry:   { usage: "retry NAME", summary: "re-run the analysis of a failed revision" },
  // pause:   { usage: "pause NAME", summary: "hold the weight where it is" },
  // resume:  { usage: "resume NAME", summary: "continue a paused run" },
} as const;
export type CommandName = keyof typeof COMMANDS;

/** Commands the issue plans that this build does not have yet: a clear message, not "unknown command". */
export const PLANNED_COMMANDS = [
  "promote",
  "abort",
  "retry",
  "pause",
  "resume",
  "dashboard",
  "replay",
] as const;

export interface Options {
  command: CommandName;
  name?: string;
  namespace?: string;
  allNamespaces: boolean;
  kubeconfig?: string;
  context?: string;
  output: "text" | "json";
  watch: boolean;
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
  -o, --output FORMAT     text (default) or json
      --kubeconfig PATH   kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)
      --context NAME      kubeconfig context (default: the current context)
  -h, --help              this help

Exit codes: 0 ok, 1 error (not found, forbidden, API server unreachable), 2 usage.
`;

const VALUE_FLAGS: Record<string, "namespace" | "kubeconfig" | "context" | "output"> = {
  "-n": "namespace",
  "--namespace": "namespace",
  "--kubeconfig": "kubeconfig",
  "--context": "context",
  "-o": "output",
  "--output": "output",
};

export function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const values: Partial<Record<"namespace" | "kubeconfig" | "context" | "output", string>> = {};
  let allNamespaces = false;
  let watch = false;
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
  if (cmd !== "get" && name === undefined)
    throw new UsageError(`${cmd} needs a Canary name: ${COMMANDS[cmd].usage}`);
  if (name !== undefined && allNamespaces)
    throw new UsageError("a Canary name cannot be used with --all-namespaces");
  if (watch && cmd !== "get") throw new UsageError(`--watch is for get, not ${cmd}`);
  if (allNamespaces && cmd !== "get") throw new UsageError(`--all-namespaces is for get, not ${cmd}`);
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json")
    throw new UsageError(`--output must be text or json, not "${output}"`);
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
    },
  };
}
