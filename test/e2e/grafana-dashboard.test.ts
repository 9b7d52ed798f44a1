// The Grafana dashboard (charts/serin/dashboards/serin-rollout.json) against the real world: a real
// Prometheus scrapes the mesh simulator's Istio metrics and Serin's /metrics (run with --flagger-metrics)
// while the catalog Canary rolls a bad release back and promotes a good one. Then every template
// variable and every panel's query is asked of Prometheus as Grafana would ask it (query_range, variables
// filled in, $__rate_interval a concrete window) and must answer with series carrying the panel's labels.
import { afterAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, webappTraffic } from "../support/catalog.js";
import { loadDashboard, queryPanels, substitute, variableQuery } from "../support/grafana-dashboard.js";
import { Kubectl } from "../support/kube.js";
import { type OwnPrometheusWorld, startWithOwnPrometheus } from "../support/own-prometheus.js";

const k = new Kubectl(inject("kubeconfig"));
let world: OwnPrometheusWorld | undefined;

afterAll(async () => {
  await world?.stop();
});

const CANARY = "catalog-release";
/** What Grafana would put in $__rate_interval here (1 s scrapes, 5 s steps): a window of a few scrapes. */
const WINDOW = "20s";
const STEP_SECONDS = 5;

interface Series {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

async function queryRange(url: string, query: string, start: number, end: number): Promise<Series[]> {
  const params = new URLSearchParams({
    query,
    start: String(start),
    end: String(end),
    step: String(STEP_SECONDS),
  });
  const res = await fetch(`${url}/api/v1/query_range?${params}`);
  const body = (await res.json()) as { status: string; error?: string; data?: { result: Series[] } };
  if (body.status !== "success") throw new Error(`${query}: ${body.error}`);
  return body.data?.result ?? [];
}

/** Grafana's label_values(selector, label) as Prometheus' label values API answers it. */
async function labelValues(url: string, variable: string): Promise<string[]> {
  const m = /^label_values\((?:(.*),\s*)?(\w+)\)$/.exec(variable.trim());
  if (m === null) throw new Error(`not a label_values() query: ${variable}`);
  const params = new URLSearchParams(m[1] ? { "match[]": m[1] } : {});
  const res = await fetch(`${url}/api/v1/label/${m[2]}/values?${params}`);
  return ((await res.json()) as { data: string[] }).data;
}

const numbers = (s: Series | undefined) => (s?.values ?? []).map(([, v]) => Number(v));
const byLabel = (series: Series[], label: string, value: string) =>
  series.find((s) => s.metric[label] === value);

/** The labels each panel's series must carry (after its aggregation), by panel title and refId. */
const EXPECTED_LABELS: Record<string, Record<string, string[]>> = {
  "Traffic weight": { A: ["name", "namespace"], B: ["name", "namespace"] },
  Phase: { A: ["phase"] },
  "Decisions so far, by reason": { A: ["reason"] },
  "Releases concluded": { A: ["reason"] },
  "Request success rate": { A: ["destination_workload"] },
  "Request duration p99": { A: ["destination_workload"] },
  "Requests per second": { A: ["destination_workload"] },
  "Checks as Serin read them": { A: ["metric", "workload"] },
  "Weight per workload (flagger_canary_weight)": { A: ["workload"] },
  "Status (flagger_canary_status)": { A: ["name"] },
  "Successes and failures": {
    A: ["analysis_status", "deployment_strategy"],
    B: ["analysis_status", "deployment_strategy"],
  },
  "Metric analysis (flagger_canary_metric_analysis)": { A: ["metric"] },
};

describe("Grafana rollout dashboard on the real Prometheus", () => {
  it("every variable and panel query answers with the expected series for a rolled-back and a promoted release", async () => {
    world = await startWithOwnPrometheus("grafana", ["--flagger-metrics"]);
    const { prometheus, serin } = world;
    // Serin's /metrics, scraped like any pod's: the dashboard reads it beside Istio's.
    prometheus.setTargets("serin", [new URL(serin.metricsUrl).host]);
    const url = prometheus.url;

    const ns = k.createNamespace("grafana");
    applyCatalog(k, ns, { interval: "10s", threshold: 2 });
    await k.waitForPhase(ns, CANARY, ["Initialized"], 60_000);
    const start = Math.floor(Date.now() / 1000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    await sleep(3_000);
    const release = async (image: string) => {
      k.run(["set", "image", "-n", ns, "deployment/catalog", `catalog=istioinaction/catalog:${image}`]);
      await k.waitForPhase(ns, CANARY, ["Progressing"], 60_000);
      return k.waitForPhase(ns, CANARY, ["Succeeded", "Failed"], 240_000);
    };
    expect(await release("v3-bad")).toBe("Failed");
    // The fix comes a little later (as it would), so the Failed phase spans more than one 5 s step.
    await sleep(12_000);
    expect(await release("v2")).toBe("Succeeded");
    await sleep(4_000); // a few scrapes past the end
    await traffic.stop();
    const end = Math.ceil(Date.now() / 1000);

    const dashboard = loadDashboard();
    // The variables, as Grafana resolves them one after the other.
    const values: Record<string, string> = { namespace: ns, canary: CANARY };
    const expectedVariables: Record<string, string> = {
      namespace: ns,
      canary: CANARY,
      workload: "catalog",
      primary: "catalog-primary",
    };
    for (const v of dashboard.templating?.list ?? []) {
      if (v.type !== "query" || v.name === undefined) continue;
      const answers = await labelValues(url, substitute(variableQuery(v), values, WINDOW));
      const want = expectedVariables[v.name];
      expect(answers, v.name).toContain(want);
      if (v.name !== "namespace") expect(answers, v.name).toEqual([want]);
      values[v.name] = want ?? "";
    }

    const results = new Map<string, Series[]>();
    const panels = queryPanels(dashboard);
    expect(panels.map((p) => p.title).sort()).toEqual(Object.keys(EXPECTED_LABELS).sort());
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        const what = `${panel.title} ${target.refId}`;
        const query = substitute(target.expr ?? "", values, WINDOW);
        const series = await queryRange(url, query, start, end);
        expect(series.length, `${what}: ${query}`).toBeGreaterThan(0);
        const labels = EXPECTED_LABELS[panel.title ?? ""]?.[target.refId ?? ""];
        for (const s of series) expect(Object.keys(s.metric).sort(), what).toEqual(labels);
        results.set(what, series);
      }
    }

    // The weight reaches the rollout's maxWeight (50), in Serin's gauge and in Flagger's, for both workloads.
    const canaryWeight = numbers(results.get("Traffic weight A")?.[0]);
    expect(Math.max(...canaryWeight)).toBe(50);
    expect(Math.min(...numbers(results.get("Traffic weight B")?.[0]))).toBe(50);
    const flaggerWeights = results.get("Weight per workload (flagger_canary_weight) A") ?? [];
    expect(Math.max(...numbers(byLabel(flaggerWeights, "workload", "catalog")))).toBe(50);
    expect(Math.min(...numbers(byLabel(flaggerWeights, "workload", "catalog-primary")))).toBe(50);
    // Primary and canary are both in the traffic panels; the bad release shows in the canary's success rate.
    for (const title of ["Request success rate", "Request duration p99", "Requests per second"]) {
      const workloads = (results.get(`${title} A`) ?? []).map((s) => s.metric.destination_workload).sort();
      expect(workloads, title).toEqual(["catalog", "catalog-primary"]);
    }
    const canarySuccess = numbers(
      byLabel(results.get("Request success rate A") ?? [], "destination_workload", "catalog"),
    );
    expect(Math.min(...canarySuccess.filter((v) => !Number.isNaN(v)))).toBeLessThan(99);
    // Both outcomes are there: the phases, the concluded releases, Flagger's codes and counters.
    const phases = (results.get("Phase A") ?? []).map((s) => s.metric.phase);
    expect(phases).toEqual(expect.arrayContaining(["Progressing", "Failed", "Succeeded"]));
    const concluded = (results.get("Releases concluded A") ?? []).map((s) => s.metric.reason).sort();
    expect(concluded).toEqual(["RolledBack", "Succeeded"]);
    const codes = new Set(numbers(results.get("Status (flagger_canary_status) A")?.[0]));
    expect([...codes].sort()).toEqual([0, 1, 2]);
    for (const ref of ["A", "B"]) {
      const [outcome] = results.get(`Successes and failures ${ref}`) ?? [];
      expect(outcome?.metric).toEqual({ deployment_strategy: "canary", analysis_status: "completed" });
      expect(Math.max(...numbers(outcome))).toBe(1);
    }
    const checked = (results.get("Checks as Serin read them A") ?? []).map(
      (s) => `${s.metric.metric} ${s.metric.workload}`,
    );
    expect(checked.sort()).toEqual([
      "request-duration catalog",
      "request-duration catalog-primary",
      "request-success-rate catalog",
      "request-success-rate catalog-primary",
    ]);
    process.stdout.write(
      `grafana dashboard: ${panels.length} panels, ${results.size} queries answered over ${end - start}s\n`,
    );
  });
});
