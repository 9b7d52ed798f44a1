import axios, { type AxiosInstance } from "axios";
import { agentsFor } from "../net/agents.js";
import { startDeadline } from "../net/deadline.js";
import { ABORTED, networkErrorDetail } from "../net/error-detail.js";
import { redact } from "../net/redact.js";
import { splitUserinfo } from "../net/url-credentials.js";

/** A query answer reduced to what a threshold check needs: one number, or why there is none. */
export type QueryAnswer = { ok: true; value: number } | { ok: false; error: string };

interface PrometheusVectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

interface PrometheusResponse {
  status: "success" | "error";
  errorType?: string;
  error?: string;
  data?: { resultType: string; result: PrometheusVectorSample[] | [number, string] };
}

/** Prometheus sends sample values as strings; the special ones must be mapped explicitly. */
export function parseSampleValue(text: string): number {
  if (text === "NaN") return Number.NaN;
  if (text === "+Inf") return Number.POSITIVE_INFINITY;
  if (text === "-Inf") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** Reads `/api/v1/query` answers: an empty vector and NaN are "no values found", never a pass. */
export function readAnswer(body: PrometheusResponse): QueryAnswer {
  if (body.status !== "success")
    return { ok: false, error: `query failed: ${body.errorType ?? "error"}: ${body.error ?? ""}`.trim() };
  const data = body.data;
  if (data === undefined) return { ok: false, error: "query failed: response has no data" };
  let raw: string | undefined;
  if (data.resultType === "scalar") {
    raw = (data.result as [number, string])[1];
  } else if (data.resultType === "vector") {
    const samples = data.result as PrometheusVectorSample[];
    if (samples.length === 0) return { ok: false, error: "no values found" };
    if (samples.length > 1) {
      return {
        ok: false,
        error: `query returned ${samples.length} series; aggregate it to one (e.g. wrap it in sum())`,
      };
    }
    raw = samples[0]?.value[1];
  } else {
    return {
      ok: false,
      error: `query returned a ${data.resultType}; it must return one number (an instant vector or scalar)`,
    };
  }
  if (raw === undefined) return { ok: false, error: "no values found" };
  const value = parseSampleValue(raw);
  if (Number.isNaN(value)) return { ok: false, error: "no values found (NaN: no requests in the window?)" };
  return { ok: true, value };
}

/** One series of an instant vector: its labels and value. */
export interface VectorSample {
  labels: Record<string, string>;
  value: number;
}

/** A query answer kept as a vector, for queries that return one series per workload or bucket. */
export type VectorAnswer = { ok: true; samples: VectorSample[] } | { ok: false; error: string };

/** Reads an instant-vector answer; an empty vector is an empty list (the caller decides what that means). */
export function readVector(body: PrometheusResponse): VectorAnswer {
  if (body.status !== "success")
    return { ok: false, error: `query failed: ${body.errorType ?? "error"}: ${body.error ?? ""}`.trim() };
  const data = body.data;
  if (data === undefined || data.resultType !== "vector")
    return { ok: false, error: `query failed: expected a vector, got ${data?.resultType ?? "no data"}` };
  const samples = (data.result as PrometheusVectorSample[]).map((s) => ({
    labels: s.metric,
    value: parseSampleValue(s.value[1]),
  }));
  return { ok: true, samples };
}

export interface PrometheusClientOptions {
  /** http(s) URL; userinfo (http://user:pass@host) is used as basic auth and never printed */
  address: string;
  /** per-query deadline (default 5 s), from sending the request to the last byte of the answer */
  timeoutMs?: number;
  /** "Bearer ..." or "Basic ..." from a MetricTemplate provider secret; wins over URL userinfo */
  authorization?: string;
  /** MetricTemplate `spec.provider.headers`, one value per name (several joined with ", ") */
  headers?: Readonly<Record<string, string>>;
  /** MetricTemplate `spec.provider.insecureSkipVerify`: do not verify the server's TLS certificate */
  insecureSkipVerify?: boolean;
}

export interface QueryOptions {
  /** aborts the query (shutdown, lost leadership): the answer is a failure saying "aborted" */
  signal?: AbortSignal;
  /** evaluate at this time (the API's `time=`), e.g. a past check replayed; default Prometheus' now */
  time?: Date;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;
/** Prometheus answers to instant queries that reduce to one number are small; anything bigger is wrong. */
const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

export class PrometheusClient {
  private readonly http: AxiosInstance;
  /** the address as it may be printed: no userinfo, secret query parameters masked */
  readonly address: string;
  private readonly timeoutMs: number;
  private readonly invalid: string | undefined;

  constructor(options: PrometheusClientOptions) {
    const split = splitUserinfo(options.address);
    this.address = redact(split.address);
    this.timeoutMs =
      options.timeoutMs !== undefined && options.timeoutMs > 0 ? options.timeoutMs : DEFAULT_QUERY_TIMEOUT_MS;
    this.invalid = httpUrlProblem(split.address);
    const authorization = options.authorization ?? split.authorization;
    this.http = axios.create({
      baseURL: split.address.replace(/\/+$/, ""),
      headers: { ...options.headers, ...(authorization ? { Authorization: authorization } : {}) },
      // 4xx/5xx bodies carry Prometheus' own error text: read them instead of throwing.
      validateStatus: () => true,
      maxContentLength: MAX_ANSWER_BYTES,
      // Our own deadline covers the whole exchange; axios' timeout is only an idle-socket timeout.
      timeout: 0,
      ...agentsFor(options.insecureSkipVerify === true),
    });
  }

  /** One number: an instant vector of one series, or a scalar. */
  async query(promql: string, options: QueryOptions = {}): Promise<QueryAnswer> {
    const body = await this.fetch(promql, options);
    if (!body.ok) return body;
    const answer = readAnswer(body.body);
    return answer.ok ? answer : { ok: false, error: redact(answer.error) };
  }

  /** Every series of an instant vector, with its labels. */
  async queryVector(promql: string, options: QueryOptions = {}): Promise<VectorAnswer> {
    const body = await this.fetch(promql, options);
    if (!body.ok) return body;
    const answer = readVector(body.body);
    return answer.ok ? answer : { ok: false, error: redact(answer.error) };
  }

  private async fetch(
    promql: string,
    options: QueryOptions,
  ): Promise<{ ok: true; body: PrometheusResponse } | { ok: false; error: string }> {
    if (this.invalid) return { ok: false, error: `Prometheus address ${this.address} ${this.invalid}` };
    const deadline = startDeadline(this.timeoutMs, options.signal);
    try {
      const res = await this.http.get<PrometheusResponse>("/api/v1/query", {
        params: {
          query: promql,
          ...(options.time !== undefined ? { time: (options.time.getTime() / 1000).toFixed(3) } : {}),
        },
        signal: deadline.signal,
      });
      if (typeof res.data !== "object" || res.data === null) {
        return { ok: false, error: `query failed: HTTP ${res.status} from ${this.address}` };
      }
      return { ok: true, body: res.data };
    } catch (err) {
      if (deadline.parentAborted()) return { ok: false, error: `Prometheus ${this.address}: ${ABORTED}` };
      const why = deadline.expired()
        ? `timeout: no answer within ${this.timeoutMs} ms`
        : networkErrorDetail(err);
      return { ok: false, error: `Prometheus ${this.address} unreachable: ${why}` };
    } finally {
      deadline.dispose();
    }
  }
}

/** Why an address cannot be queried, or undefined when it is an http(s) URL. */
function httpUrlProblem(address: string): string | undefined {
  try {
    const { protocol } = new URL(address);
    return protocol === "http:" || protocol === "https:" ? undefined : "is not an http(s) URL";
  } catch {
    return "is not a valid URL (expected e.g. http://prometheus.istio-system:9090)";
  }
}
