// The Grafana dashboard shipped in charts/serin/dashboards, read as Grafana reads it: its panels' targets
// and template variables, and each expression as Grafana would send it to Prometheus for one Canary.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../env/toolchain.js";

export const DASHBOARD_PATH = join(repoRoot, "charts", "serin", "dashboards", "serin-rollout.json");

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface DashboardPanel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h?: number; w?: number; x?: number; y?: number };
  targets?: DashboardTarget[];
}

export interface DashboardVariable {
  name?: string;
  type?: string;
  query?: string | { query?: string };
  datasource?: { type?: string; uid?: string };
}

export interface Dashboard {
  title?: string;
  uid?: string;
  schemaVersion?: number;
  panels?: DashboardPanel[];
  templating?: { list?: DashboardVariable[] };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as Dashboard;
}

/** Panels that query (rows only group them). */
export const queryPanels = (d: Dashboard): DashboardPanel[] =>
  (d.panels ?? []).filter((p) => p.type !== "row");

/** The variable's query text, whichever form Grafana stored it in. */
export const variableQuery = (v: DashboardVariable): string =>
  typeof v.query === "string" ? v.query : (v.query?.query ?? "");

/** `$name`, `${name}` and `[[name]]` references in a text (Grafana's three syntaxes). */
export function variableRefs(text: string): string[] {
  const refs = [...text.matchAll(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g)].map(
    (m) => m[1] ?? m[2] ?? m[3] ?? "",
  );
  return [...new Set(refs)];
}

/**
 * An expression as Grafana sends it: the template variables replaced by one Canary's values, and
 * `$__rate_interval` / `$__interval` by a concrete window (Grafana computes them from the step and the
 * scrape interval). Throws if anything is left unreplaced.
 */
export function substitute(expr: string, values: Record<string, string>, window: string): string {
  const all: Record<string, string> = { ...values, __rate_interval: window, __interval: window };
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a, b, c) => {
    const name = (a ?? b ?? c) as string;
    const value = all[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
  return out;
}
