// The parent's side of load-worker.ts: forks it (tsx), starts N webapp → catalog runs, snapshots, stops.
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadSummary } from "./load-worker.js";

export type { LoadSummary };

const WORKER = fileURLToPath(new URL("./load-worker.ts", import.meta.url));

export interface LoadProcess {
  pid: number;
  snapshot(): Promise<LoadSummary>;
  stop(): Promise<LoadSummary>;
  /** Ends the worker without a result (teardown after a failure). */
  kill(): void;
}

function reply(child: ChildProcess, t: string, timeoutMs = 60_000): Promise<{ summary: LoadSummary }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off("message", on);
      reject(new Error(`load worker: no ${t} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: { t?: string; summary?: LoadSummary }) => {
      if (m.t !== t) return;
      clearTimeout(timer);
      child.off("message", on);
      resolve(m as { summary: LoadSummary });
    };
    child.on("message", on);
  });
}

export async function startLoadProcess(opts: {
  proxyUrl: string;
  namespaces: string[];
  qps: number;
  durationMs: number;
}): Promise<LoadProcess> {
  const child = fork(WORKER, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // The worker spreads the runs' starts (20 new sidecars per second): allow for it.
  const started = reply(child, "started", 60_000 + opts.namespaces.length * 100);
  child.send({ t: "start", ...opts });
  await started;
  let result: Promise<LoadSummary> | undefined;
  return {
    pid: child.pid as number,
    async snapshot() {
      const r = reply(child, "snapshot");
      child.send({ t: "snapshot" });
      return (await r).summary;
    },
    kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
    stop() {
      result ??= (async () => {
        if (!child.connected) throw new Error("load worker gone");
        const r = reply(child, "result", 120_000);
        child.send({ t: "stop" });
        return (await r).summary;
      })();
      return result;
    },
  };
}
