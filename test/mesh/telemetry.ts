// Istio's standard request metrics, with Istio's names, labels and Envoy's default histogram buckets,
// rendered in Prometheus' text format exactly as prom-client did (same order, escaping, numbers), but
// built for scale: one Map lookup per record, each series' label text escaped once, and an idle series'
// lines reused from the previous scrape (1,000 Canaries' worth of series render in a fraction of the
// scrape timeout; bench/mesh-capacity.ts measures it).
//
// Series are also partitioned the way Istio spreads them over its sidecars' /metrics: a
// reporter="destination" series belongs to the server workload's sidecar, a reporter="source" one to the
// client's (an unknown client: one "unknown" partition). Partitions are hashed onto a fixed number of
// shards, each served as its own scrape target (admin.ts: /metrics/shard/<i>), so that no single scrape
// carries the whole mesh (1,000 Canaries are ~250 MB of text; a shard is 1/32 of that).
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

/** Scrape targets the telemetry is split into by default (admin.ts: /metrics/shard/0 ... /31). */
export const DEFAULT_METRICS_SHARDS = 32;
/** The partition of series reported by a client sidecar whose workload is unknown (no peer metadata). */
export const UNKNOWN_PARTITION = UNKNOWN;

/**
 * The sidecar that exports a series, as `namespace/workload`: the destination workload's for
 * reporter="destination", the source workload's for reporter="source"; "unknown" when that peer is unknown.
 */
export function partitionOf(labels: Pick<RequestLabels, LabelName>): string {
  const [workload, namespace] =
    labels.reporter === "destination"
      ? [labels.destination_workload, labels.destination_workload_namespace]
      : [labels.source_workload, labels.source_workload_namespace];
  if (workload === UNKNOWN || workload === "") return UNKNOWN_PARTITION;
  return `${namespace}/${workload}`;
}

/** The shard a partition is served from: FNV-1a (32 bit) of the partition, modulo the shard count. */
export function shardOf(partition: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < partition.length; i++) {
    h ^= partition.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

const REQUESTS = "istio_requests_total";
const DURATION = "istio_request_duration_milliseconds";
const REQUESTS_HELP = "Total requests handled by an Istio proxy (mesh simulator).";
const DURATION_HELP = "Request duration in milliseconds (mesh simulator).";
const COUNTER_HEADER = Buffer.from(`# HELP ${REQUESTS} ${REQUESTS_HELP}\n# TYPE ${REQUESTS} counter`);
const HISTOGRAM_HEADER = Buffer.from(`# HELP ${DURATION} ${DURATION_HELP}\n# TYPE ${DURATION} histogram`);
const NEWLINE = Buffer.from("\n");
const NEWLINES = Buffer.from("\n\n");
const LE_PREFIXES = [
  ...DURATION_BUCKETS_MS.map((b) => `${DURATION}_bucket{le="${b}",`),
  `${DURATION}_bucket{le="+Inf",`,
];

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Prometheus' number format (prom-client's getValueAsString). */
function num(v: number): string {
  if (Number.isNaN(v)) return "Nan";
  if (!Number.isFinite(v)) return v < 0 ? "-Inf" : "+Inf";
  return `${v}`;
}

interface Series {
  /** The sidecar that exports it (partitionOf) and that sidecar's shard. */
  partition: string;
  shard: number;
  /** `reporter="destination",source_workload="webapp",...` (escaped, no braces). */
  labelText: string;
  requests: number;
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  buckets: number[];
  sum: number;
  count: number;
  /** Rendered lines (UTF-8) as of the last scrape; undefined = changed since. */
  requestsLine: Buffer | undefined;
  durationLines: Buffer | undefined;
}

/** Requests a version's app answered, as its server sidecar (reporter="destination") recorded them. */
export interface ServedByVersion {
  namespace: string;
  workload: string;
  /** destination_version (the pod's version label, "unknown" without one). */
  version: string;
  requests: number;
  /** Answers with a 5xx. */
  errors: number;
  byCode: Record<string, number>;
}

export class MeshTelemetry {
  private readonly series = new Map<string, Series>();
  /** The same series per partition and per shard, in creation order. */
  private readonly byPartition = new Map<string, Series[]>();
  private readonly byShard: Series[][];
  private readonly served = new Map<string, ServedByVersion>();
  /** Every record, for tests that look at label sets without scraping. Bounded. */
  private readonly recent: Array<RequestLabels & { durationMs: number }> = [];
  /** Number of shards (scrape targets) the series are spread over. */
  readonly shards: number;

  constructor(
    private readonly keepRecent = 0,
    shards = DEFAULT_METRICS_SHARDS,
  ) {
    if (!Number.isInteger(shards) || shards < 1)
      throw new Error(`metrics shards must be >= 1, got ${shards}`);
    this.shards = shards;
    this.byShard = Array.from({ length: shards }, () => []);
  }

  record(r: RequestRecord, durationMs: number): void {
    const labels = requestLabels(r);
    const values: string[] = new Array(LABEL_NAMES.length);
    for (let i = 0; i < LABEL_NAMES.length; i++) values[i] = labels[LABEL_NAMES[i] as LabelName];
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      const parts: string[] = new Array(LABEL_NAMES.length);
      for (let i = 0; i < LABEL_NAMES.length; i++) {
        parts[i] = `${LABEL_NAMES[i]}="${escapeLabelValue(values[i] ?? "")}"`;
      }
      const partition = partitionOf(labels);
      const shard = shardOf(partition, this.shards);
      s = {
        partition,
        shard,
        labelText: parts.join(","),
        requests: 0,
        buckets: new Array(DURATION_BUCKETS_MS.length + 1).fill(0),
        sum: 0,
        count: 0,
        requestsLine: undefined,
        durationLines: undefined,
      };
      this.series.set(key, s);
      let p = this.byPartition.get(partition);
      if (!p) {
        p = [];
        this.byPartition.set(partition, p);
      }
      p.push(s);
      this.byShard[shard]?.push(s);
    }
    const v = Math.max(0, durationMs);
    s.requests++;
    let b = 0;
    while (b < DURATION_BUCKETS_MS.length && v > (DURATION_BUCKETS_MS[b] as number)) b++;
    s.buckets[b] = (s.buckets[b] ?? 0) + 1;
    s.sum += v;
    s.count++;
    s.requestsLine = undefined;
    s.durationLines = undefined;
    if (r.reporter === "destination" && r.flags.length === 0 && r.responseCode > 0) this.countServed(r);
    if (this.keepRecent > 0) {
      this.recent.push({ ...labels, durationMs });
      // Trim in batches: one splice per ~keepRecent/8 records, not one per record.
      const slack = Math.max(64, this.keepRecent >> 3);
      if (this.recent.length > this.keepRecent + slack) {
        this.recent.splice(0, this.recent.length - this.keepRecent);
      }
    }
  }

  private countServed(r: RequestRecord): void {
    const d = r.destination;
    const key = `${d.namespace}\u0000${d.workload}\u0000${d.version}`;
    let c = this.served.get(key);
    if (!c) {
      c = {
        namespace: d.namespace,
        workload: d.workload,
        version: d.version,
        requests: 0,
        errors: 0,
        byCode: {},
      };
      this.served.set(key, c);
    }
    c.requests++;
    if (r.responseCode >= 500) c.errors++;
    const code = String(r.responseCode);
    c.byCode[code] = (c.byCode[code] ?? 0) + 1;
  }

  /**
   * Per-version traffic counts: what each (namespace, workload, version) answered since the simulator
   * started, errors = 5xx from the app (mesh-local replies and resets are not the app's answers).
   */
  servedByVersion(filter: { namespace?: string; workload?: string } = {}): ServedByVersion[] {
    const out: ServedByVersion[] = [];
    for (const c of this.served.values()) {
      if (filter.namespace !== undefined && c.namespace !== filter.namespace) continue;
      if (filter.workload !== undefined && c.workload !== filter.workload) continue;
      out.push({ ...c, byCode: { ...c.byCode } });
    }
    return out;
  }

  recentRecords(): ReadonlyArray<RequestLabels & { durationMs: number }> {
    return this.keepRecent > 0 && this.recent.length > this.keepRecent
      ? this.recent.slice(this.recent.length - this.keepRecent)
      : this.recent;
  }

  /** Number of label sets (each is one counter series and one histogram); of one shard if given. */
  seriesCount(shard?: number): number {
    return shard === undefined ? this.series.size : (this.byShard[shard]?.length ?? 0);
  }

  /** The partitions (sidecars, `namespace/workload` or "unknown") that have series, in creation order. */
  partitions(): string[] {
    return [...this.byPartition.keys()];
  }

  /** The shard (0 .. shards-1) a partition is served from. */
  shardOf(partition: string): number {
    return shardOf(partition, this.shards);
  }

  /** The Prometheus text exposition (format 0.0.4), byte for byte what prom-client produced before. */
  async metrics(): Promise<string> {
    return this.render();
  }

  render(): string {
    return this.renderBuffer().toString("utf8");
  }

  /** The exposition as one Buffer (see renderChunks). */
  renderBuffer(): Buffer {
    return Buffer.concat(this.renderChunks());
  }

  /**
   * The exposition in pieces, in order: what a /metrics handler should write (corked) rather than build one
   * string of hundreds of MB (V8 caps strings at 2^29 characters; 1,000 Canaries' series are ~250 MB).
   * Each series' lines are encoded once and reused until the series changes, so a scrape costs only the
   * series that changed since the previous one.
   */
  renderChunks(): Buffer[] {
    return renderSeries(this.series.values());
  }

  /**
   * One shard's exposition (the series of the partitions hashed onto it), same format; an empty shard is
   * the two metric headers only. Throws on a shard out of range.
   */
  renderShardChunks(shard: number): Buffer[] {
    const list = this.byShard[shard];
    if (!Number.isInteger(shard) || list === undefined) {
      throw new RangeError(`no metrics shard ${shard} (0..${this.shards - 1})`);
    }
    return renderSeries(list);
  }

  /** What one sidecar (partition `namespace/workload`, or "unknown") exports; undefined if it has none. */
  renderPartitionChunks(partition: string): Buffer[] | undefined {
    const list = this.byPartition.get(partition);
    return list === undefined ? undefined : renderSeries(list);
  }

  get contentType(): string {
    return "text/plain; version=0.0.4; charset=utf-8";
  }
}

/** The exposition of these series (cached lines reused, changed ones rendered and cached). */
function renderSeries(series: Iterable<Series>): Buffer[] {
  const parts: Buffer[] = [COUNTER_HEADER];
  const hist: Buffer[] = [];
  for (const s of series) {
    if (s.requestsLine === undefined) {
      s.requestsLine = Buffer.from(`\n${REQUESTS}{${s.labelText}} ${num(s.requests)}`, "utf8");
    }
    if (s.durationLines === undefined) s.durationLines = Buffer.from(renderHistogram(s), "utf8");
    parts.push(s.requestsLine);
    hist.push(s.durationLines);
  }
  parts.push(NEWLINES, HISTOGRAM_HEADER);
  for (const h of hist) parts.push(h);
  parts.push(NEWLINE);
  return parts;
}

/** A series' histogram lines, each preceded by a newline. */
function renderHistogram(s: Series): string {
  const tail = `${s.labelText}} `;
  let acc = 0;
  let out = "";
  for (let i = 0; i < LE_PREFIXES.length; i++) {
    acc += s.buckets[i] ?? 0;
    out += `\n${LE_PREFIXES[i]}${tail}${num(acc)}`;
  }
  out += `\n${DURATION}_sum{${tail}${num(s.sum)}`;
  out += `\n${DURATION}_count{${tail}${num(s.count)}`;
  return out;
}
