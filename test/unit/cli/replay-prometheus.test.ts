// The replay's queries are the controller's, evaluated at the replayed moment (Prometheus' `time=`):
// against a small HTTP server answering /api/v1/query, every query of a replayed check carries the time,
// while the controller's (no evaluation time) carry none.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDefaults } from "../../../src/api/defaults.js";
import { PrometheusUnreachable, prometheusAnswers } from "../../../src/cli/replay/prometheus.js";
import { PrometheusClient } from "../../../src/metrics/prometheus-client.js";
import { runMetricChecks } from "../../../src/metrics/run-checks.js";
import { canary } from "./fixtures.js";

let server: Server;
let address = "";
const seen: Array<{ query: string; time: string | null }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const query = u.searchParams.get("query") ?? "";
    seen.push({ query, time: u.searchParams.get("time") });
    const vector = (result: unknown[]) =>
      res.end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
    res.writeHead(200, { "content-type": "application/json" });
    const t = Number(u.searchParams.get("time") ?? Date.now() / 1000);
    if (query === "1")
      return res.end(JSON.stringify({ status: "success", data: { resultType: "scalar", result: [t, "1"] } }));
    const series = (workload: string, value: string, extra: Record<string, string> = {}) => ({
      metric: { destination_workload: workload, ...extra },
      value: [t, value],
    });
    if (query.includes("response_code!~"))
      return vector([series("catalog", "80"), series("catalog-primary", "100")]);
    if (query.includes("histogram_quantile"))
      return vector([series("catalog", "12"), series("catalog-primary", "11")]);
    return vector([
      series("catalog", "40", { response_code: "200" }),
      series("catalog", "10", { response_code: "500" }),
      series("catalog-primary", "400", { response_code: "200" }),
    ]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const spec = withDefaults(canary("catalog-release", {}).spec);
const AT = new Date("2026-12-02T10:00:10.200Z");
const run = { revision: "r", trafficSince: "2026-12-02T10:00:00.000Z" };

describe("evaluation time", () => {
  it("the client sends time= only when asked", async () => {
    seen.length = 0;
    const client = new PrometheusClient({ address });
    await client.query("1");
    await client.query("1", { time: AT });
    expect(seen.map((s) => s.time)).toEqual([null, "1796205610.200"]);
  });

  it("the controller's checks carry no time (Prometheus' now), as before", async () => {
    seen.length = 0;
    const results = await runMetricChecks({
      name: "catalog-release",
      namespace: "shop",
      spec,
      defaultPrometheus: new PrometheusClient({ address }),
      findTemplate: () => undefined,
      run,
      now: AT,
    });
    expect(results.every((r) => r.value !== undefined)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => s.time === null)).toBe(true);
  });

  it("a replayed check and its served counts are read at the replayed moment, over the controller's windows", async () => {
    seen.length = 0;
    const { answers } = prometheusAnswers({
      address,
      namespace: "shop",
      name: "catalog-release",
      templates: new Map(),
    });
    const results = await answers.analyse(spec, run, AT);
    expect(results.find((r) => r.name === "request-success-rate")).toMatchObject({
      value: 80,
      primaryValue: 100,
      canaryRequests: 50,
      window: "10s",
    });
    const served = await answers.served(spec, new Date(run.trafficSince), AT);
    expect("canary" in served && served.canary).toEqual({ requests: 50, errors: 10 });
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.every((s) => s.time === "1796205610.200")).toBe(true);
    expect(seen.some((s) => s.query.includes("[10s]"))).toBe(true);
  });

  it("an unreachable Prometheus stops the replay", async () => {
    const { answers } = prometheusAnswers({
      address: "http://127.0.0.1:1",
      namespace: "shop",
      name: "catalog-release",
      templates: new Map(),
      timeoutMs: 2_000,
    });
    await expect(answers.analyse(spec, run, AT)).rejects.toThrow(PrometheusUnreachable);
  });
});
