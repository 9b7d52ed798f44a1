import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, type ManagedProcess, startProcess, waitFor } from "./processes.js";

/** A real Prometheus server (Debian's package) scraping targets listed in a file it watches. */
export interface PrometheusServer {
  readonly url: string;
  /** Replaces the scrape targets of one job; Prometheus picks the change up within a second. */
  setTargets(job: string, targets: string[]): void;
  /** Fault injection: stops the server but keeps its data and port (SIGTERM, or SIGKILL for a crash). */
  stopServer(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once /-/ready answers. */
  startServer(): Promise<void>;
  running(): boolean;
  stop(): Promise<void>;
}

export async function startPrometheus(dir: string, scrapeIntervalSeconds = 1): Promise<PrometheusServer> {
  mkdirSync(join(dir, "data"), { recursive: true });
  const sdDir = join(dir, "targets");
  mkdirSync(sdDir, { recursive: true });
  const port = await freePort();
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      `  scrape_interval: ${scrapeIntervalSeconds}s`,
      `  scrape_timeout: ${scrapeIntervalSeconds}s`,
      "scrape_configs:",
      "  - job_name: serin-testenv",
      "    file_sd_configs:",
      `      - files: ["${sdDir}/*.json"]`,
      "        refresh_interval: 1s",
      "",
    ].join("\n"),
  );
  const launch = (): ManagedProcess =>
    startProcess(
      "prometheus",
      "prometheus",
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--storage.tsdb.retention.time=2h",
        "--log.level=warn",
      ],
      dir,
    );
  let proc = launch();
  const url = `http://127.0.0.1:${port}`;
  const ready = () =>
    waitFor("prometheus /-/ready", async () => (await fetch(`${url}/-/ready`)).ok, {
      timeoutMs: 60_000,
      process: proc,
    });
  await ready();
  // Stops and starts one after another, never interleaved.
  let transition: Promise<void> = Promise.resolve();
  const inTurn = (work: () => Promise<void>): Promise<void> => {
    const next = transition.then(work);
    transition = next.catch(() => {});
    return next;
  };
  return {
    url,
    setTargets(job, targets) {
      const file = join(sdDir, `${job}.json`);
      // Write-then-rename: Prometheus must never read a half-written file.
      writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels: { job } }]));
      renameSync(`${file}.tmp`, file);
    },
    stopServer: (signal = "SIGTERM") =>
      inTurn(async () => {
        if (proc.exited()) return;
        await (signal === "SIGTERM" ? proc.stop() : proc.kill(signal));
      }),
    startServer: () =>
      inTurn(async () => {
        if (!proc.exited()) return;
        proc = launch();
        await ready();
      }),
    running: () => !proc.exited(),
    stop: () => inTurn(() => proc.stop()),
  };
}
