#!/usr/bin/env node
// kubectl-serin: `kubectl serin get|explain|history|replay|dashboard|promote|abort|retry|pause|resume` (a
// kubectl plugin: kubectl finds kubectl-serin on PATH). Exit codes: 0 ok, 1 error (not found, forbidden,
// unreachable; a control request ignored or not answered), 2 usage.
import { parseArgs, USAGE, UsageError } from "./args.js";
import { runCommand } from "./commands.js";
import { CliError } from "./errors.js";
import { processIo } from "./io.js";
import { openSession } from "./kube.js";

export async function main(argv: readonly string[]): Promise<number> {
  const io = processIo();
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.kind === "help") {
    io.out(parsed.text);
    return 0;
  }
  try {
    const session = openSession(parsed.options);
    return await runCommand(session, parsed.options, io);
  } catch (err) {
    io.err(
      `error: ${err instanceof CliError ? err.message : err instanceof Error ? err.message : String(err)}\n`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // A watch's sockets may linger after it ends: do not let them keep the process alive.
    setTimeout(() => process.exit(code), 2_000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
