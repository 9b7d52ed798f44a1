// The PromQL Serin sends, evaluated by Prometheus itself: `promtool test rules` (Debian's prometheus
// package, installed by scripts/setup.sh) runs each query against synthetic Istio series and compares the
// answer. The fake-Prometheus tests check which query goes where; these check what the queries mean.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  bucketsSince,
  durationByWorkload,
  requestSuccessRateQuery,
  requestsSince,
  successRateByWorkload,
} from "../../../src/metrics/istio-queries.js";

const dir = mkdtempSync(join(tmpdir(), "serin-promql-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  expr: string;
  /** minutes after the series start (samples are one minute apart) */
  evalMinute: number;
  exp: Array<{ labels: string; value: number }>;
}

/** Runs promtool on the series and cases; returns "" when every case matched, else promtool's report. */
function promtool(series: Array<[string, string]>, cases: Case[]): string {
  const yaml = JSON.stringify({
    rule_files: [],
    evaluation_interval: "1m",
    tests: [
      {
        interval: "1m",
        input_series: series.map(([s, values]) => ({ series: s, values })),
        promql_expr_test: cases.map((c) => ({
          expr: c.expr,
          eval_time: `${c.evalMinute}m`,
          exp_samples: c.exp,
        })),
      },
    ],
  });
  const file = join(dir, `t-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, yaml);
  try {
    execFileSync("promtool", ["test", "rules", file], { encoding: "utf8", stdio: "pipe" });
    return "";
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ""}${e.stderr ?? ""}`;
  }
}

const SEL = 'reporter="destination",destination_workload_namespace="shop"';
const req = (workload: string, code: string) =>
  `istio_requests_total{${SEL},destination_workload="${workload}",response_code="${code}"}`;
const bucket = (workload: string, le: string) =>
  `istio_request_duration_milliseconds_bucket{${SEL},destination_workload="${workload}",le="${le}"}`;
/** The run's traffic start: minute 2 of the series. */
const SINCE = new Date(2 * 60_000);
const PAIR = { namespace: "shop", workloads: ["catalog", "catalog-primary"] };

describe("requestsSince (harm and the judge's counts)", () => {
  it("counts each series' growth since the traffic start; a series born later counts in full, a reset one since its reset", () => {
    const report = promtool(
      [
        [req("catalog", "200"), "0 10 20 30 40 50"], // 30 since minute 2
        [req("catalog", "500"), "_ _ _ _ 1 3"], // born at minute 4: its first error counts
        [req("catalog-primary", "200"), "80 90 100 110 5 7"], // reset after minute 3: 7 since the reset
        [req("catalog-primary", "503"), "4 4 4 4 4 4"], // nothing new
        [req("catalog-v2", "500"), "0 9 18 27 36 45"], // another workload: not selected
      ],
      [
        {
          expr: requestsSince({ ...PAIR, since: SINCE }),
          evalMinute: 5,
          exp: [
            { labels: '{destination_workload="catalog",response_code="200"}', value: 30 },
            { labels: '{destination_workload="catalog",response_code="500"}', value: 3 },
            { labels: '{destination_workload="catalog-primary",response_code="200"}', value: 7 },
            { labels: '{destination_workload="catalog-primary",response_code="503"}', value: 0 },
          ],
        },
      ],
    );
    expect(report).toBe("");
  });

  it("a scrape that failed at the traffic start (a staleness marker) does not make a series count in full", () => {
    const report = promtool(
      [
        [req("catalog", "200"), "0 10 stale 30 40 50"], // stale at minute 2: the value then is still 10
        [req("catalog-primary", "200"), "80 90 100 110 120 stale"], // its last scrape failed: 120 - 100
      ],
      [
        {
          expr: requestsSince({ ...PAIR, since: SINCE }),
          evalMinute: 5,
          exp: [
            { labels: '{destination_workload="catalog",response_code="200"}', value: 40 },
            { labels: '{destination_workload="catalog-primary",response_code="200"}', value: 20 },
          ],
        },
      ],
    );
    expect(report).toBe("");
  });

  it("counts buckets the same way", () => {
    const report = promtool(
      [
        [bucket("catalog", "500"), "0 5 10 15 20 25"],
        [bucket("catalog", "+Inf"), "0 6 12 18 24 30"],
      ],
      [
        {
          expr: bucketsSince({ ...PAIR, since: SINCE }),
          evalMinute: 5,
          exp: [
            { labels: '{destination_workload="catalog",le="500"}', value: 15 },
            { labels: '{destination_workload="catalog",le="+Inf"}', value: 18 },
          ],
        },
      ],
    );
    expect(report).toBe("");
  });
});

describe("the per-workload built-in checks", () => {
  const series: Array<[string, string]> = [
    [req("catalog", "200"), "0+57x10"],
    [req("catalog", "500"), "0+3x10"],
    [req("catalog-primary", "200"), "0+600x10"],
    [bucket("catalog", "100"), "0+50x10"],
    [bucket("catalog", "250"), "0+59x10"],
    [bucket("catalog", "+Inf"), "0+60x10"],
    [bucket("catalog-primary", "100"), "0+600x10"],
    [bucket("catalog-primary", "+Inf"), "0+600x10"],
  ];

  it("answer the canary's and the primary's success rate and p99 over the same window", () => {
    const scope = { ...PAIR, window: "5m" };
    const report = promtool(series, [
      {
        expr: successRateByWorkload(scope),
        evalMinute: 8,
        exp: [
          { labels: '{destination_workload="catalog"}', value: 95 },
          { labels: '{destination_workload="catalog-primary"}', value: 100 },
        ],
      },
      {
        // Flagger's own query for the canary gives the canary's value
        expr: requestSuccessRateQuery({ namespace: "shop", target: "catalog", interval: "5m" }),
        evalMinute: 8,
        exp: [{ labels: "{}", value: 95 }],
      },
      {
        // 99% of 60/min: the 59.4th request falls in the 250..+Inf bucket, reported as 250 (the last finite bound)
        expr: durationByWorkload(scope),
        evalMinute: 8,
        exp: [
          { labels: '{destination_workload="catalog"}', value: 250 },
          { labels: '{destination_workload="catalog-primary"}', value: 99 },
        ],
      },
    ]);
    expect(report).toBe("");
  });

  it("a canary whose every request fails has no success-rate series (run-checks reads it as 0%)", () => {
    const report = promtool(
      [
        [req("catalog", "503"), "0+10x10"],
        [req("catalog-primary", "200"), "0+100x10"],
      ],
      [
        {
          expr: successRateByWorkload({ ...PAIR, window: "5m" }),
          evalMinute: 8,
          exp: [{ labels: '{destination_workload="catalog-primary"}', value: 100 }],
        },
      ],
    );
    expect(report).toBe("");
  });
});
