// For an e2e file that needs a Prometheus of its own (to stop it, or to scrape more than the mesh): a real
// Prometheus scraping the shared mesh simulator, and a Serin that queries it. The shared Prometheus keeps
// serving the other files.
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";
import { type PrometheusServer, startPrometheus } from "../env/prometheus.js";
import { type SerinProcess, startSerin } from "./serin-process.js";

export interface OwnPrometheusWorld {
  prometheus: PrometheusServer;
  serin: SerinProcess;
  stop(): Promise<void>;
}

export async function startWithOwnPrometheus(
  name: string,
  extraArgs: string[] = [],
): Promise<OwnPrometheusWorld> {
  const prometheus = await startPrometheus(mkdtempSync(join(inject("envDir"), `${name}-prometheus-`)));
  prometheus.setTargets("mesh", [new URL(inject("meshMetricsUrl")).host]);
  const serin = await startSerin({
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: prometheus.url,
    logDir: inject("envDir"),
    name: `serin-${name}`,
    extraArgs,
  });
  return {
    prometheus,
    serin,
    async stop() {
      await serin.stop();
      await prometheus.stop();
    },
  };
}
