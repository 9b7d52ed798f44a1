// What the traffic split check verifies at a check, decided from the spec and status alone (the shell uses
// the same function to know what to read): which share of which requests should reach the canary, since
// when, or why nothing can be verified. Pure. See docs/verification.md.
import type { CanaryStatus, HttpMatch } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";
import { desiredRouting } from "../desired.js";

/**
 * How long after a step its requests count: the status is written before the routes, istiod debounces
 * (~100 ms) and a fleet of sidecars takes a moment more. The read window starts here and uses only samples
 * scraped after it, so requests routed at the previous weight never count as this one's.
 */
export const SPLIT_SETTLE_MS = 3_000;

/** The requests the weighted route applies to, as Istio's metric labels can select them. */
export interface SplitSources {
  /** sourceLabels app / version -> source_app / source_version; sourceNamespace -> source_workload_namespace */
  app?: string;
  version?: string;
  namespace?: string;
}

export type SplitPlan =
  | {
      kind: "verify";
      /** the routed canary weight, percent */
      weight: number;
      /** requests that count: scraped after this time */
      from: Date;
      sources?: SplitSources;
      /** " from app=webapp" — or "" for all sources */
      sourceText: string;
    }
  | { kind: "skip"; reason: string };

const skip = (reason: string): SplitPlan => ({ kind: "skip", reason });

/** Match keys the metrics can select by; `name` only names the match. */
const SELECTABLE = new Set(["sourceLabels", "sourceNamespace", "name"]);

/** The weighted route's match as a source filter, or why the metrics cannot select its requests. */
export function matchSources(match: readonly HttpMatch[]): SplitSources | string | undefined {
  if (match.length === 0) return undefined;
  const cannot =
    "the weighted route applies only to requests matching analysis.match, and Istio's metrics cannot tell those from the rest";
  if (match.length > 1) return `${cannot} (more than one match)`;
  const m = match[0] ?? {};
  const other = Object.keys(m).filter((k) => !SELECTABLE.has(k));
  if (other.length > 0) return `${cannot} (${other.join(", ")})`;
  const labels = m.sourceLabels ?? {};
  const unknown = Object.keys(labels).filter((k) => k !== "app" && k !== "version");
  if (unknown.length > 0)
    return `${cannot} (sourceLabels ${unknown.join(", ")}: the metrics carry only the source's app and version labels)`;
  return {
    ...(labels.app !== undefined ? { app: labels.app } : {}),
    ...(labels.version !== undefined ? { version: labels.version } : {}),
    ...(m.sourceNamespace !== undefined ? { namespace: m.sourceNamespace } : {}),
  };
}

function sourceText(s: SplitSources | undefined): string {
  if (s === undefined) return "";
  const parts = [
    ...(s.app !== undefined ? [`app=${s.app}`] : []),
    ...(s.version !== undefined ? [`version=${s.version}`] : []),
    ...(s.namespace !== undefined ? [`namespace ${s.namespace}`] : []),
  ];
  return parts.length > 0 ? ` from ${parts.join(", ")}` : "";
}

function parsed(time: string | undefined): number {
  const t = time === undefined ? Number.NaN : Date.parse(time);
  return Number.isNaN(t) ? 0 : t;
}

export function splitPlan(spec: EffectiveSpec, status: CanaryStatus): SplitPlan {
  const a = spec.analysis;
  if (spec.source.service.routeRef !== undefined)
    return skip(
      "the route is yours (spec.service.routeRef): which requests it takes, and whether other routes of it send to the same workloads, is not known to the metrics",
    );
  if (a.strategy === "blue-green")
    return skip(
      "blue/green routes no traffic to the canary during the analysis (its load comes from load tests)",
    );
  if (desiredRouting(spec, status).mirror)
    return skip(
      "mirrored copies reach the canary besides the routed requests, so its share is not the weight",
    );
  if (a.sessionAffinity !== undefined)
    return skip(
      "with session affinity returning users stay where their cookie sends them, so the share is not the weight",
    );
  if (!spec.service.gateways.includes("mesh"))
    return skip(
      "the route applies only at the gateways in service.gateways; mesh traffic reaches the primary directly",
    );
  const weight = status.canaryWeight ?? 0;
  if (weight <= 0) return skip("weight 0");
  const sources = matchSources(a.match);
  if (typeof sources === "string") return skip(sources);
  const stepAt = Math.max(parsed(status.lastTransitionTime), parsed(status.run?.trafficSince));
  return {
    kind: "verify",
    weight,
    from: new Date(stepAt + SPLIT_SETTLE_MS),
    ...(sources ? { sources } : {}),
    sourceText: sourceText(sources),
  };
}
