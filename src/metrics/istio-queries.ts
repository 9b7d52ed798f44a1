// Flagger's built-in Istio checks, same PromQL: read by the destination sidecar (the canary's own pods)
// so client-side faults and retries elsewhere do not blur the canary's numbers.

export interface QueryScope {
  namespace: string;
  /** the canary workload: targetRef.name (Istio's destination_workload) */
  target: string;
  /** Prometheus range, e.g. "1m" */
  interval: string;
}

/** Regex metacharacters in a name would change what the anchored =~ matcher selects. */
function anchoredName(name: string): string {
  return name.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&");
}

function selector(scope: QueryScope): string {
  return `reporter="destination",destination_workload_namespace="${scope.namespace}",destination_workload=~"${anchoredName(scope.target)}"`;
}

export function requestSuccessRateQuery(scope: QueryScope): string {
  const sel = selector(scope);
  return `sum(rate(istio_requests_total{${sel},response_code!~"5.*"}[${scope.interval}])) / sum(rate(istio_requests_total{${sel}}[${scope.interval}])) * 100`;
}

export function requestDurationQuery(scope: QueryScope): string {
  return `histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{${selector(scope)}}[${scope.interval}])) by (le))`;
}
