// charts/serin/dashboards/serin-rollout.json: loads in Grafana (panels with a datasource, targets and a
// unique id; the variables they use exist), and its Istio panels ask exactly what Serin's built-in checks
// ask, per workload. test/e2e/grafana-dashboard.test.ts runs every query against a real Prometheus.
import { describe, expect, it } from "vitest";
import { durationByWorkload, successRateByWorkload } from "../../../src/metrics/istio-queries.js";
import {
  loadDashboard,
  queryPanels,
  substitute,
  variableQuery,
  variableRefs,
} from "../../support/grafana-dashboard.js";

const dashboard = loadDashboard();
const variables = dashboard.templating?.list ?? [];
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const GRAFANA_BUILTINS = ["__rate_interval", "__interval", "__range"];
const CATALOG = {
  namespace: "shop",
  canary: "catalog-release",
  workload: "catalog",
  primary: "catalog-primary",
};

describe("the Grafana rollout dashboard", () => {
  it("has a title, a uid and the template variables: datasource, namespace, canary (and its workloads)", () => {
    expect(dashboard.title).toBe("Serin rollout");
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(variables.map((v) => v.name)).toEqual([
      "datasource",
      "namespace",
      "canary",
      "workload",
      "primary",
    ]);
    expect(variables[0]).toMatchObject({ type: "datasource", query: "prometheus" });
    for (const v of variables.slice(1)) {
      expect(v.type).toBe("query");
      expect(v.datasource).toEqual(DATASOURCE);
    }
    // Each variable narrows the next: the canary's workloads come from Serin's info series.
    expect(variableQuery(variables[2] ?? {})).toContain('namespace="$namespace"');
    expect(variableQuery(variables[3] ?? {})).toContain('name="$canary"');
    expect(variableQuery(variables[4] ?? {})).toContain('name="$canary"');
  });

  it("every panel has a unique id and a place; every query panel a datasource and targets with unique refIds", () => {
    const ids = (dashboard.panels ?? []).map((p) => p.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels ?? []) {
      const g = p.gridPos ?? {};
      expect([g.h, g.w, g.x, g.y].every((n) => Number.isInteger(n))).toBe(true);
      expect((g.x ?? 0) + (g.w ?? 0)).toBeLessThanOrEqual(24);
    }
    const panels = queryPanels(dashboard);
    expect(panels.length).toBeGreaterThanOrEqual(10);
    for (const p of panels) {
      expect(p.title, `panel ${p.id}`).toBeTruthy();
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      const targets = p.targets ?? [];
      expect(targets.length, p.title).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size, p.title).toBe(targets.length);
      for (const t of targets) {
        expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
        expect(t.datasource, `${p.title} ${t.refId}`).toEqual(p.datasource);
      }
    }
  });

  it("uses only variables it defines (or Grafana's own), and each query is whole once they are filled in", () => {
    const defined = new Set([...variables.map((v) => v.name ?? ""), ...GRAFANA_BUILTINS]);
    const texts = [
      ...queryPanels(dashboard).flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? "")),
      ...variables.map(variableQuery),
    ];
    for (const text of texts) for (const ref of variableRefs(text)) expect(defined, text).toContain(ref);
    for (const p of queryPanels(dashboard))
      for (const t of p.targets ?? []) {
        const q = substitute(t.expr ?? "", CATALOG, "1m");
        expect(q).not.toContain("$");
        for (const [open, close] of ["()", "{}", "[]"])
          expect(q.split(open ?? "").length, `${p.title}: ${q}`).toBe(q.split(close ?? "").length);
      }
  });

  it("its success-rate and p99 panels are the built-in checks' queries, per workload (primary and canary)", () => {
    const exprOf = (title: string) =>
      substitute(
        queryPanels(dashboard).find((p) => p.title === title)?.targets?.[0]?.expr ?? "",
        CATALOG,
        "1m",
      );
    const scope = { namespace: "shop", workloads: ["catalog", "catalog-primary"], window: "1m" };
    expect(exprOf("Request success rate")).toBe(successRateByWorkload(scope));
    expect(exprOf("Request duration p99")).toBe(durationByWorkload(scope));
  });

  it("panels on Flagger's metric names say they need --flagger-metrics; the others use Serin's or Istio's", () => {
    for (const p of queryPanels(dashboard)) {
      const flagger = (p.targets ?? []).some((t) => /\bflagger_/.test(t.expr ?? ""));
      expect(/--flagger-metrics/.test(p.description ?? ""), p.title).toBe(flagger);
      if (!flagger)
        for (const t of p.targets ?? []) expect(t.expr, p.title).toMatch(/\b(serin_canary_|istio_)/);
    }
  });
});
