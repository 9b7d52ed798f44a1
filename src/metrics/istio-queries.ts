// Flagger's built-in Istio checks, same PromQL: read by the destination sidecar (the canary's own pods)
// so client-side faults and retries elsewhere do not blur the canary's numbers. The per-workload forms
// answer for the canary and the primary at once (one series each), over the same window.

export interface QueryScope {
  namespace: string;
  /** the canary workload: targetRef.name (Istio's destination_workload) */
  target: string;
  /** Prometheus range, e.g. "1m" */
  interval: string;
}

export interface PairScope {
  namespace: string;
  /** the canary workload (targetRef.name) and the primary (`<target>-primary`) */
  workloads: readonly string[];
  /** Prometheus range, e.g. "37s" */
  window: string;
}

/** Regex metacharacters in a name would change what the anchored =~ matcher selects. */
function anchoredName(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
}

function selector(namespace: string, workloads: readonly string[]): string {
  const names = workloads.map(anchoredName).join("|");
  return `reporter="destination",destination_workload_namespace="${namespace}",destination_workload=~"${names}"`;
}

export function requestSuccessRateQuery(scope: QueryScope): string {
  const sel = selector(scope.namespace, [scope.target]);
  return `sum(rate(istio_requests_total{${sel},response_code!~"5.*"}[${scope.interval}])) / sum(rate(istio_requests_total{${sel}}[${scope.interval}])) * 100`;
}

export function requestDurationQuery(scope: QueryScope): string {
  return `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${selector(scope.namespace, [scope.target])}}[${scope.interval}])) by (le))`;
}

const BY = "destination_workload";

/** Success rate per workload; a workload without requests has no series. */
export function successRateByWorkload(scope: PairScope): string {
  const sel = selector(scope.namespace, scope.workloads);
  return `sum by (${BY}) (rate(istio_requests_total{${sel},response_code!~"5.*"}[${scope.window}])) / sum by (${BY}) (rate(istio_requests_total{${sel}}[${scope.window}])) * 100`;
}

/** p99 latency per workload. */
export function durationByWorkload(scope: PairScope): string {
  return `histogram_quantile(0.99, sum by (${BY}, le) (rate(istio_request_duration_milliseconds_bucket{${selector(scope.namespace, scope.workloads)}}[${scope.window}])))`;
}

/** Requests per workload and response code over the window (increase: counter resets handled). */
export function requestsByWorkloadAndCode(scope: PairScope): string {
  return `sum by (${BY}, response_code) (increase(istio_requests_total{${selector(scope.namespace, scope.workloads)}}[${scope.window}]))`;
}

export interface SinceScope {
  namespace: string;
  workloads: readonly string[];
  /** the run's traffic start */
  since: Date;
}

/**
 * Each series' growth since `since`, summed by `by`: its last value now minus its last value then. A
 * series born after `since` (a new pod, a response code seen for the first time) counts in full, and so
 * does one that was reset (its value since the reset): increase() would drop a born series' first value,
 * and a canary's first errors are exactly that. Both values are read with last_over_time, which skips the
 * staleness markers one failed scrape leaves: an instant `x @ since` right after such a scrape finds
 * nothing, and the series would count in full, every earlier run included.
 */
function sinceQuery(metric: string, scope: SinceScope, by: string): string {
  const x = `${metric}{${selector(scope.namespace, scope.workloads)}}`;
  const at = (scope.since.getTime() / 1000).toFixed(3);
  const now = `last_over_time(${x}[${NOW_LOOKBACK}])`;
  const then = `last_over_time(${x}[${THEN_LOOKBACK}] @ ${at})`;
  return `sum by (${by}) (((${now} - ${then}) >= 0) or ${now})`;
}

/** How far back the current value may be (a pod gone within it still counts what it served). */
const NOW_LOOKBACK = "2m";
/** How far back the value at the traffic start may be (Prometheus' own lookback is 5m). */
const THEN_LOOKBACK = "10m";

/** Requests per workload and response code since the run's traffic start. */
export function requestsSince(scope: SinceScope): string {
  return sinceQuery("istio_requests_total", scope, `${BY}, response_code`);
}

/** Latency histogram buckets per workload since the run's traffic start. */
export function bucketsSince(scope: SinceScope): string {
  return sinceQuery("istio_request_duration_milliseconds_bucket", scope, `${BY}, le`);
}

export interface AfterScope {
  namespace: string;
  workloads: readonly string[];
  /** whole seconds back from the evaluation time; only samples scraped within it count */
  seconds: number;
  /** extra exact matchers on source labels (the weighted route's sources), e.g. {source_app: "webapp"} */
  sources?: Readonly<Record<string, string>>;
}

const quoted = (v: string): string => JSON.stringify(v);

/**
 * Requests per workload between the first and the last sample within the range (counters only grow, so
 * the first is the minimum): only what was scraped after the range began counts, never the growth since a
 * sample taken before it (a window starting at the last scrape before a step would hold the previous
 * weight's requests). A counter reset within the range undercounts that series; nothing is invented.
 */
export function requestsAfter(scope: AfterScope): string {
  const extra = Object.entries(scope.sources ?? {})
    .map(([k, v]) => `,${k}=${quoted(v)}`)
    .join("");
  const x = `istio_requests_total{${selector(scope.namespace, scope.workloads)}${extra}}`;
  const r = `[${Math.max(1, Math.floor(scope.seconds))}s]`;
  return `sum by (${BY}) (max_over_time(${x}${r}) - min_over_time(${x}${r}))`;
}
