import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, type ManagedProcess, startProcess, waitFor } from "./processes.js";

/**
 * A scrape target with its own metrics path and labels (file_sd: one target group, `__metrics_path__`).
 * The mesh simulator's metricsTargets() are these: several paths on one host:port, each with its own
 * `instance` label (targets must differ in their labels, or their `up` series collide).
 */
export interface ScrapeTarget {
  /** `host:port` */
  target: string;
  /** Default the job's (`/metrics`). */
  metricsPath?: string;
  labels?: Record<string, string>;
}

export interface JobOptions {
  /**
   * This job's scrape interval and timeout (seconds; file_sd's `__scrape_interval__` and
   * `__scrape_timeout__`), default the server's. The timeout defaults to the interval and cannot exceed it.
   */
  scrapeIntervalSeconds?: number;
  scrapeTimeoutSeconds?: number;
}

export interface PrometheusOptions {
  /** Default: the scrape interval (Prometheus rejects a timeout longer than the interval). */
  scrapeTimeoutSeconds?: number;
  /** Extra command line flags, e.g. `--enable-feature=extra-scrape-metrics` (scrape_body_size_bytes). */
  extraArgs?: string[];
}

/**
 * The mesh job's scrape interval (= timeout) for a world of this many Canaries (primary + canary, both
 * reporters, a few response codes: ~276 samples and ~250 KB of text per Canary and scrape, spread over
 * the simulator's metrics shards). Measured on 2 cores (bench/mesh-capacity.ts --scrape): Prometheus
 * spends ~1.5 CPU-s per 1,000 Canaries' round and its slowest shard scrape stays far below the timeout at
 * 1 s up to 200 Canaries, 2 s at 400, 5 s at 1,000; at 1,000 Canaries and 1-3 s, scrapes run late or past
 * their timeout. Small worlds keep 1 s so checks see data quickly.
 */
export function scrapeIntervalForCanaries(canaries: number): number {
  return Math.max(1, Math.ceil(canaries / 200));
}

/** A real Prometheus server (Debian's package) scraping targets listed in a file it watches. */
export interface PrometheusServer {
  readonly url: string;
  /**
   * Replaces the scrape targets of one job; Prometheus picks the change up within a second. A string is
   * `host:port` scraped at `/metrics`; a ScrapeTarget may name its own path and labels.
   */
  setTargets(job: string, targets: ReadonlyArray<string | ScrapeTarget>, options?: JobOptions): void;
  /** The server's process id (undefined while it is stopped), for CPU and RSS figures. */
  pid(): number | undefined;
  /** Fault injection: stops the server but keeps its data and port (SIGTERM, or SIGKILL for a crash). */
  stopServer(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same data; resolves once /-/ready answers. */
  startServer(): Promise<void>;
  running(): boolean;
  stop(): Promise<void>;
}

export async function startPrometheus(
  dir: string,
  scrapeIntervalSeconds = 1,
  options: PrometheusOptions = {},
): Promise<PrometheusServer> {
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
      `  scrape_timeout: ${options.scrapeTimeoutSeconds ?? scrapeIntervalSeconds}s`,
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
        ...(options.extraArgs ?? []),
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
    setTargets(job, targets, jobOptions = {}) {
      const file = join(sdDir, `${job}.json`);
      const common: Record<string, string> = { job };
      if (jobOptions.scrapeIntervalSeconds !== undefined) {
        common.__scrape_interval__ = `${jobOptions.scrapeIntervalSeconds}s`;
        common.__scrape_timeout__ = `${jobOptions.scrapeTimeoutSeconds ?? jobOptions.scrapeIntervalSeconds}s`;
      } else if (jobOptions.scrapeTimeoutSeconds !== undefined) {
        common.__scrape_timeout__ = `${jobOptions.scrapeTimeoutSeconds}s`;
      }
      const plain = targets.filter((t): t is string => typeof t === "string");
      const groups: Array<{ targets: string[]; labels: Record<string, string> }> = [];
      if (plain.length > 0) groups.push({ targets: plain, labels: common });
      for (const t of targets) {
        if (typeof t === "string") continue;
        const labels = { ...t.labels, ...common };
        if (t.metricsPath !== undefined) labels.__metrics_path__ = t.metricsPath;
        groups.push({ targets: [t.target], labels });
      }
      // Write-then-rename: Prometheus must never read a half-written file.
      writeFileSync(`${file}.tmp`, JSON.stringify(groups));
      renameSync(`${file}.tmp`, file);
    },
    pid: () => (proc.exited() ? undefined : proc.pid),
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
