import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, type ManagedProcess, startProcess, waitFor } from "./processes.js";

/** A real Prometheus server (Debian's package) scraping targets listed in a file it watches. */
export interface PrometheusServer {
  readonly url: string;
  /** Replaces the scrape targets of one job; Prometheus picks the change up within a second. */
  setTargets(job: string, targets: string[]): void;
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
  const proc: ManagedProcess = startProcess(
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
  const url = `http://127.0.0.1:${port}`;
  await waitFor("prometheus /-/ready", async () => (await fetch(`${url}/-/ready`)).ok, {
    timeoutMs: 60_000,
    process: proc,
  });
  return {
    url,
    setTargets(job, targets) {
      const file = join(sdDir, `${job}.json`);
      // Write-then-rename: Prometheus must never read a half-written file.
      writeFileSync(`${file}.tmp`, JSON.stringify([{ targets, labels: { job } }]));
      renameSync(`${file}.tmp`, file);
    },
    stop: () => proc.stop(),
  };
}
