// Where the CLI writes and what time it is: injected, so the commands run in tests without a terminal.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: ANSI styles and in-place redraws */
  tty: boolean;
  now(): Date;
  /** ends a watch like Ctrl-C does (tests); the process' SIGINT and SIGTERM always do */
  stop?: AbortSignal;
}

export const processIo = (): Io => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  tty: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
  now: () => new Date(),
});
