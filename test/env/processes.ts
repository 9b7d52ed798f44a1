import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** A child process of the test environment, its output kept in a log file for post-mortems. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  exited(): boolean;
  /** SIGTERM to the process group, SIGKILL after 8 s; resolves when it has exited. */
  stop(): Promise<void>;
  /** Sends `signal` (e.g. SIGKILL: a crash) to the process group and resolves when it has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `env`, when given, is the child's whole environment (default: this process's). */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  logDir: string,
  env?: NodeJS.ProcessEnv,
): ManagedProcess {
  const logPath = join(logDir, `${name}.log`);
  const log = createWriteStream(logPath, { flags: "a" });
  const child: ChildProcess = spawn(command, args, {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    ...(env ? { env } : {}),
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exitedFlag = false;
  const exit = new Promise<void>((resolve) => {
    child.on("exit", () => {
      exitedFlag = true;
      resolve();
    });
    child.on("error", () => {
      exitedFlag = true;
      resolve();
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  return {
    name,
    pid,
    logPath,
    exited: () => exitedFlag,
    async stop() {
      if (exitedFlag) return;
      // The whole process group: some binaries fork helpers.
      signalGroup(pid, "SIGTERM");
      const killed = await Promise.race([exit.then(() => true), sleep(8000).then(() => false)]);
      if (!killed) {
        signalGroup(pid, "SIGKILL");
        await exit;
      }
      log.end();
    },
    async kill(signal) {
      if (exitedFlag) return;
      signalGroup(pid, signal);
      const gone = await Promise.race([exit.then(() => true), sleep(10_000).then(() => false)]);
      if (!gone) {
        signalGroup(pid, "SIGKILL");
        await exit;
      }
      log.end();
    },
  };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A loopback port that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("no port"));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

/**
 * n distinct free ports: every listener stays open until all n are chosen, so the kernel cannot hand
 * the same port out twice (n sequential freePort() calls can return a port twice).
 */
export async function distinctFreePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    return await Promise.all(
      servers.map(
        (server) =>
          new Promise<number>((resolve, reject) => {
            server.on("error", reject);
            server.listen(0, "127.0.0.1", () => {
              const address = server.address();
              if (address === null || typeof address === "string") reject(new Error("no port"));
              else resolve(address.port);
            });
          }),
      ),
    );
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}

/** Polls `fn` every 250 ms until it returns a value, which it resolves to; throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Polls `probe` until it returns true, failing with the process log tail when the process dies first. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; process?: ManagedProcess; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (opts.process?.exited()) {
      throw new Error(`${what}: process ${opts.process.name} exited; see ${opts.process.logPath}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(opts.intervalMs ?? 250);
  }
  const where = opts.process ? `; see ${opts.process.logPath}` : "";
  throw new Error(
    `${what}: not ready after ${opts.timeoutMs} ms (${lastError || "probe returned false"})${where}`,
  );
}
