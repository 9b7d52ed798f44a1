// The subset of Envoy's xDS resources (protojson with proto field names, as in a config dump) that the
// simulator reads. Only the fields used are typed; everything is optional, as protojson omits defaults.
export type JsonObject = { [k: string]: unknown };

/** What the xDS client hands over for one sidecar (structurally its SidecarConfig). */
export interface XdsSnapshot {
  readonly version: number;
  listeners: ReadonlyMap<string, JsonObject>;
  routes: ReadonlyMap<string, JsonObject>;
  clusters: ReadonlyMap<string, JsonObject>;
  endpoints: ReadonlyMap<string, JsonObject>;
}

export interface FractionalPercentJson {
  numerator?: number;
  denominator?: "HUNDRED" | "TEN_THOUSAND" | "MILLION" | number;
}

export interface RuntimeFractionalPercentJson {
  default_value?: FractionalPercentJson;
  runtime_key?: string;
}

export interface RegexMatcherJson {
  regex?: string;
}

export interface StringMatcherJson {
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: RegexMatcherJson;
  ignore_case?: boolean;
}

export interface HeaderMatcherJson {
  name?: string;
  exact_match?: string;
  prefix_match?: string;
  suffix_match?: string;
  contains_match?: string;
  safe_regex_match?: RegexMatcherJson;
  present_match?: boolean;
  string_match?: StringMatcherJson;
  range_match?: { start?: string | number; end?: string | number };
  invert_match?: boolean;
  treat_missing_header_as_empty?: boolean;
}

export interface QueryParameterMatcherJson {
  name?: string;
  string_match?: StringMatcherJson;
  present_match?: boolean;
}

export interface RouteMatchJson {
  prefix?: string;
  path?: string;
  safe_regex?: RegexMatcherJson;
  path_separated_prefix?: string;
  case_sensitive?: boolean;
  headers?: HeaderMatcherJson[];
  query_parameters?: QueryParameterMatcherJson[];
  runtime_fraction?: RuntimeFractionalPercentJson;
  dynamic_metadata?: unknown[];
  grpc?: JsonObject;
}

export interface HeaderValueOptionJson {
  header?: { key?: string; value?: string; raw_value?: string };
  append?: boolean;
  append_action?:
    | "APPEND_IF_EXISTS_OR_ADD"
    | "ADD_IF_ABSENT"
    | "OVERWRITE_IF_EXISTS_OR_ADD"
    | "OVERWRITE_IF_EXISTS";
  keep_empty_value?: boolean;
}

export interface HeaderMutationsJson {
  request_headers_to_add?: HeaderValueOptionJson[];
  request_headers_to_remove?: string[];
  response_headers_to_add?: HeaderValueOptionJson[];
  response_headers_to_remove?: string[];
}

export interface RetryPolicyJson {
  retry_on?: string;
  num_retries?: number;
  per_try_timeout?: string;
  retriable_status_codes?: number[];
  retry_back_off?: { base_interval?: string; max_interval?: string };
  retry_host_predicate?: Array<{ name?: string }>;
  host_selection_retry_max_attempts?: string | number;
}

export interface HashPolicyJson {
  header?: { header_name?: string };
  cookie?: {
    name?: string;
    ttl?: string;
    path?: string;
    attributes?: Array<{ name?: string; value?: string }>;
  };
  connection_properties?: { source_ip?: boolean };
  query_parameter?: { name?: string };
  filter_state?: { key?: string };
  terminal?: boolean;
}

export interface RequestMirrorPolicyJson {
  cluster?: string;
  runtime_fraction?: RuntimeFractionalPercentJson;
  disable_shadow_host_suffix_append?: boolean;
}

export interface ClusterWeightJson extends HeaderMutationsJson {
  name?: string;
  weight?: number;
  host_rewrite_literal?: string;
  typed_per_filter_config?: Record<string, JsonObject>;
}

export interface RouteActionJson {
  cluster?: string;
  weighted_clusters?: { clusters?: ClusterWeightJson[]; total_weight?: number };
  cluster_header?: string;
  cluster_not_found_response_code?: "SERVICE_UNAVAILABLE" | "NOT_FOUND" | "INTERNAL_SERVER_ERROR";
  timeout?: string;
  retry_policy?: RetryPolicyJson;
  request_mirror_policies?: RequestMirrorPolicyJson[];
  hash_policy?: HashPolicyJson[];
  prefix_rewrite?: string;
  regex_rewrite?: { pattern?: RegexMatcherJson; substitution?: string };
  host_rewrite_literal?: string;
}

export interface RedirectActionJson {
  scheme_redirect?: string;
  https_redirect?: boolean;
  host_redirect?: string;
  port_redirect?: number;
  path_redirect?: string;
  prefix_rewrite?: string;
  response_code?: "MOVED_PERMANENTLY" | "FOUND" | "SEE_OTHER" | "TEMPORARY_REDIRECT" | "PERMANENT_REDIRECT";
  strip_query?: boolean;
}

export interface DirectResponseJson {
  status?: number;
  body?: { inline_string?: string; inline_bytes?: string; filename?: string };
}

export interface RouteJson extends HeaderMutationsJson {
  name?: string;
  match?: RouteMatchJson;
  route?: RouteActionJson;
  redirect?: RedirectActionJson;
  direct_response?: DirectResponseJson;
  typed_per_filter_config?: Record<string, JsonObject>;
}

export interface VirtualHostJson extends HeaderMutationsJson {
  name?: string;
  domains?: string[];
  routes?: RouteJson[];
  retry_policy?: RetryPolicyJson;
  typed_per_filter_config?: Record<string, JsonObject>;
  include_request_attempt_count?: boolean;
}

export interface RouteConfigurationJson extends HeaderMutationsJson {
  name?: string;
  virtual_hosts?: VirtualHostJson[];
  ignore_port_in_host_matching?: boolean;
}

export interface ThresholdsJson {
  priority?: "DEFAULT" | "HIGH";
  max_connections?: number;
  max_pending_requests?: number;
  max_requests?: number;
  max_retries?: number;
}

export interface OutlierDetectionJson {
  consecutive_5xx?: number;
  consecutive_gateway_failure?: number;
  enforcing_consecutive_5xx?: number;
  enforcing_consecutive_gateway_failure?: number;
  interval?: string;
  base_ejection_time?: string;
  max_ejection_time?: string;
  max_ejection_percent?: number;
}

export interface SocketAddressJson {
  address?: string;
  port_value?: number;
}

export interface LbEndpointJson {
  endpoint?: { address?: { socket_address?: SocketAddressJson }; hostname?: string };
  health_status?: "UNKNOWN" | "HEALTHY" | "UNHEALTHY" | "DRAINING" | "TIMEOUT" | "DEGRADED";
  load_balancing_weight?: number;
}

export interface LocalityLbEndpointsJson {
  lb_endpoints?: LbEndpointJson[];
  load_balancing_weight?: number;
  priority?: number;
}

export interface ClusterLoadAssignmentJson {
  cluster_name?: string;
  endpoints?: LocalityLbEndpointsJson[];
}

export interface ClusterJson {
  name?: string;
  type?: "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "EDS" | "ORIGINAL_DST";
  cluster_type?: JsonObject;
  eds_cluster_config?: { service_name?: string };
  lb_policy?: "ROUND_ROBIN" | "LEAST_REQUEST" | "RING_HASH" | "RANDOM" | "MAGLEV" | "CLUSTER_PROVIDED";
  circuit_breakers?: { thresholds?: ThresholdsJson[] };
  outlier_detection?: OutlierDetectionJson;
  common_lb_config?: { healthy_panic_threshold?: { value?: number } };
  load_assignment?: ClusterLoadAssignmentJson;
  connect_timeout?: string;
}

/** Protobuf JSON Duration ("1.5s", "0s"); Go-style forms are accepted too. undefined when absent/invalid. */
export function durationMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(-?\d+(?:\.\d+)?)s$/.exec(text.trim());
  if (m?.[1] !== undefined) return Number(m[1]) * 1000;
  const go = /^(\d+(?:\.\d+)?)(ms|us|ns|m|h)$/.exec(text.trim());
  if (go?.[1] === undefined) return undefined;
  const unit: Record<string, number> = { ms: 1, us: 1e-3, ns: 1e-6, m: 60_000, h: 3_600_000 };
  return Number(go[1]) * (unit[go[2] ?? ""] ?? Number.NaN);
}

const DENOMINATORS: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };

/** A FractionalPercent as a probability in [0, 1]; absent numerator = 0; denominator default HUNDRED. */
export function fraction(p: FractionalPercentJson | undefined): number {
  if (!p) return 0;
  const d = p.denominator;
  const den =
    typeof d === "number" ? ([100, 10_000, 1_000_000][d] ?? 100) : (DENOMINATORS[d ?? "HUNDRED"] ?? 100);
  return Math.min(1, Math.max(0, (p.numerator ?? 0) / den));
}

/** Parse an Istio cluster name `outbound|80|v1|catalog.shop.svc.cluster.local`. */
export function parseClusterName(
  name: string,
): { direction: string; port: number; subset: string; host: string } | undefined {
  const parts = name.split("|");
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  const n = Number(port);
  if (!Number.isInteger(n)) return undefined;
  return { direction, port: n, subset, host };
}
