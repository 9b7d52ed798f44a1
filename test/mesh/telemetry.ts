// Istio's standard request metrics, with Istio's names, labels and Envoy's default histogram buckets.
import { Counter, Histogram, Registry } from "prom-client";
import { type PeerInfo, UNKNOWN } from "./peer.js";

export const DURATION_BUCKETS_MS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

export const LABEL_NAMES = [
  "reporter",
  "source_workload",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_canonical_service",
  "source_canonical_revision",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_service_name",
  "destination_service_namespace",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_cluster",
  "request_protocol",
  "response_flags",
  "connection_security_policy",
  "response_code",
  "grpc_response_status",
] as const;
export type LabelName = (typeof LABEL_NAMES)[number];
export type RequestLabels = Record<LabelName, string>;

export type Reporter = "source" | "destination";

export interface ServiceRef {
  /** destination_service: the FQDN (or the literal host for non-Kubernetes hosts). */
  host: string;
  name: string;
  namespace: string;
}

export interface RequestRecord {
  reporter: Reporter;
  source: PeerInfo;
  destination: PeerInfo;
  service: ServiceRef | undefined;
  /** 0 when no response was sent (client reset). */
  responseCode: number;
  /** Envoy short response flags, e.g. ["UT"]; empty = "-". */
  flags: readonly string[];
}

// Envoy prints response flags in this fixed order, comma separated.
const FLAG_ORDER = [
  "LH",
  "UH",
  "UT",
  "LR",
  "UR",
  "UF",
  "UC",
  "UO",
  "NR",
  "DI",
  "FI",
  "RL",
  "UAEX",
  "RLSE",
  "DC",
  "URX",
  "NC",
];

export function formatFlags(flags: readonly string[]): string {
  if (flags.length === 0) return "-";
  const uniq = [...new Set(flags)];
  uniq.sort((a, b) => {
    const ia = FLAG_ORDER.indexOf(a);
    const ib = FLAG_ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  return uniq.join(",");
}

export function requestLabels(r: RequestRecord): RequestLabels {
  const s = r.source;
  const d = r.destination;
  return {
    reporter: r.reporter,
    source_workload: s.workload,
    source_workload_namespace: s.namespace,
    source_principal: s.principal,
    source_app: s.app,
    source_version: s.version,
    source_canonical_service: s.canonicalService,
    source_canonical_revision: s.canonicalRevision,
    source_cluster: s.cluster,
    destination_workload: d.workload,
    destination_workload_namespace: d.namespace,
    destination_principal: d.principal,
    destination_app: d.app,
    destination_version: d.version,
    destination_service: r.service?.host ?? UNKNOWN,
    destination_service_name: r.service?.name ?? UNKNOWN,
    destination_service_namespace: r.service?.namespace ?? UNKNOWN,
    destination_canonical_service: d.canonicalService,
    destination_canonical_revision: d.canonicalRevision,
    destination_cluster: d.cluster,
    request_protocol: "http",
    response_flags: formatFlags(r.flags),
    connection_security_policy: r.reporter === "destination" ? "mutual_tls" : "unknown",
    response_code: String(r.responseCode),
    grpc_response_status: "",
  };
}

export class MeshTelemetry {
  readonly registry = new Registry();
  private readonly requests: Counter<LabelName>;
  private readonly durations: Histogram<LabelName>;
  /** Every record, for tests that look at label sets without scraping. Bounded. */
  private readonly recent: Array<RequestLabels & { durationMs: number }> = [];

  constructor(private readonly keepRecent = 0) {
    this.requests = new Counter({
      name: "istio_requests_total",
      help: "Total requests handled by an Istio proxy (mesh simulator).",
      labelNames: LABEL_NAMES,
      registers: [this.registry],
    });
    this.durations = new Histogram({
      name: "istio_request_duration_milliseconds",
      help: "Request duration in milliseconds (mesh simulator).",
      labelNames: LABEL_NAMES,
      buckets: DURATION_BUCKETS_MS,
      registers: [this.registry],
    });
  }

  record(r: RequestRecord, durationMs: number): void {
    const labels = requestLabels(r);
    this.requests.inc(labels);
    this.durations.observe(labels, Math.max(0, durationMs));
    if (this.keepRecent > 0) {
      this.recent.push({ ...labels, durationMs });
      if (this.recent.length > this.keepRecent) this.recent.splice(0, this.recent.length - this.keepRecent);
    }
  }

  recentRecords(): ReadonlyArray<RequestLabels & { durationMs: number }> {
    return this.recent;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
