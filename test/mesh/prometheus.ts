// Wiring the simulator's /metrics into a real Prometheus, and reading it back (for e2e tests).
import { rename, writeFile } from "node:fs/promises";
import http from "node:http";
import { z } from "zod";

/** `http://127.0.0.1:41737/metrics` -> `127.0.0.1:41737`. */
export function scrapeTarget(metricsUrl: string): string {
  return new URL(metricsUrl).host;
}

/**
 * Prometheus file_sd target list for the simulator. Prometheus re-reads the file when it changes, so the
 * simulator can start (on a random port) after Prometheus.
 */
export async function writeFileSdTargets(
  path: string,
  metricsUrls: string[],
  labels: Record<string, string> = {},
): Promise<void> {
  const groups = [{ targets: metricsUrls.map(scrapeTarget), labels: { mesh: "serin-simulator", ...labels } }];
  // Write-then-rename: Prometheus must never read a half-written file.
  await writeFile(`${path}.tmp`, `${JSON.stringify(groups, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/**
 * A `scrape_configs` entry (serialise into prometheus.yml as YAML or JSON: both parse) reading the targets
 * from `fileSdPath`. Scrape often: rate() needs two samples inside the query window.
 */
export function meshScrapeConfig(fileSdPath: string, scrapeInterval = "2s"): Record<string, unknown> {
  return {
    job_name: "istio-mesh-simulator",
    scrape_interval: scrapeInterval,
    scrape_timeout: scrapeInterval,
    metrics_path: "/metrics",
    file_sd_configs: [{ files: [fileSdPath], refresh_interval: "5s" }],
  };
}

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        try {
          resolve(JSON.parse(text));
        } catch {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}: ${text.slice(0, 200)}`));
        }
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url}: timeout`)));
    req.on("error", reject);
  });
}

const TargetsSchema = z.object({
  data: z.object({
    activeTargets: z.array(
      z.object({ scrapeUrl: z.string(), health: z.string(), lastError: z.string().optional() }),
    ),
  }),
});

/** Wait until Prometheus scrapes `metricsUrl` successfully. */
export async function waitForPrometheusTarget(prometheusUrl: string, metricsUrl: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = "not listed";
  while (Date.now() < deadline) {
    const parsed = TargetsSchema.safeParse(await getJson(new URL("/api/v1/targets", prometheusUrl).href));
    const t = parsed.success
      ? parsed.data.data.activeTargets.find((x) => x.scrapeUrl === metricsUrl)
      : undefined;
    if (t?.health === "up") return;
    if (t) last = `${t.health} ${t.lastError ?? ""}`;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Prometheus at ${prometheusUrl} does not scrape ${metricsUrl}: ${last}`);
}

/** Prometheus sample values are strings; NaN and the infinities must be mapped explicitly. */
export function parseSampleValue(v: string): number {
  if (v === "NaN") return Number.NaN;
  if (v === "+Inf") return Number.POSITIVE_INFINITY;
  if (v === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(v);
}

const QuerySchema = z.object({
  status: z.string(),
  error: z.string().optional(),
  data: z
    .object({
      resultType: z.string(),
      result: z.array(
        z.object({ metric: z.record(z.string(), z.string()), value: z.tuple([z.number(), z.string()]) }),
      ),
    })
    .optional(),
});

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** Instant query (`/api/v1/query`); a vector result as numbers. */
export async function queryPrometheus(prometheusUrl: string, promql: string): Promise<Sample[]> {
  const url = new URL("/api/v1/query", prometheusUrl);
  url.searchParams.set("query", promql);
  const parsed = QuerySchema.parse(await getJson(url.href));
  if (parsed.status !== "success" || !parsed.data)
    throw new Error(`query failed: ${parsed.error ?? parsed.status}`);
  return parsed.data.result.map((r) => ({ metric: r.metric, value: parseSampleValue(r.value[1]) }));
}
