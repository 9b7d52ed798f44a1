import axios, { type AxiosInstance } from "axios";
import { networkErrorDetail } from "../net/error-detail.js";

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

export interface PrometheusClientOptions {
  address: string;
  timeoutMs?: number;
  /** "Bearer ..." or "Basic ..." from a MetricTemplate provider secret */
  authorization?: string;
}

export class PrometheusClient {
  private readonly http: AxiosInstance;

  constructor(readonly options: PrometheusClientOptions) {
    this.http = axios.create({
      baseURL: options.address.replace(/\/+$/, ""),
      timeout: options.timeoutMs ?? 5_000,
      headers: options.authorization ? { Authorization: options.authorization } : {},
      // 4xx/5xx bodies carry Prometheus' own error text: read them instead of throwing.
      validateStatus: () => true,
    });
  }

  async query(promql: string): Promise<QueryAnswer> {
    try {
      const res = await this.http.get<PrometheusResponse>("/api/v1/query", { params: { query: promql } });
      if (typeof res.data !== "object" || res.data === null) {
        return { ok: false, error: `query failed: HTTP ${res.status} from ${this.options.address}` };
      }
      return readAnswer(res.data);
    } catch (err) {
      return {
        ok: false,
        error: `Prometheus ${this.options.address} unreachable: ${networkErrorDetail(err)}`,
      };
    }
  }
}
