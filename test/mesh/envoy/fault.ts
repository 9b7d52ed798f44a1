// The HTTP fault filter's per-route config (extensions.filters.http.fault.v3.HTTPFault), as Istio
// writes it into typed_per_filter_config["envoy.filters.http.fault"] for a VirtualService `fault`.
import type { FractionalPercentJson, JsonObject } from "./xds-json.js";
import { durationMs, fraction } from "./xds-json.js";

export const FAULT_FILTER = "envoy.filters.http.fault";

export interface FaultConfig {
  delay: { ms: number; probability: number } | undefined;
  abort: { status: number; probability: number } | undefined;
}

export interface FaultDecision {
  /** Delay this request by this many ms (response flag DI). */
  delayMs: number | undefined;
  /** Answer with this status without contacting the upstream (response flag FI). */
  abortStatus: number | undefined;
}

interface HttpFaultJson {
  delay?: { fixed_delay?: string; percentage?: FractionalPercentJson };
  abort?: { http_status?: number; grpc_status?: number; percentage?: FractionalPercentJson };
}

export function compileFault(typed: Record<string, JsonObject> | undefined): FaultConfig | undefined {
  const raw = typed?.[FAULT_FILTER];
  if (!raw) return undefined;
  // A FilterConfig wrapper ({config: {...}}) or the HTTPFault itself.
  const f = ((raw as { config?: JsonObject }).config ?? raw) as HttpFaultJson;
  const out: FaultConfig = { delay: undefined, abort: undefined };
  if (f.delay?.fixed_delay !== undefined) {
    out.delay = { ms: durationMs(f.delay.fixed_delay) ?? 0, probability: fraction(f.delay.percentage) };
  }
  if (f.abort?.http_status !== undefined) {
    out.abort = { status: f.abort.http_status, probability: fraction(f.abort.percentage) };
  }
  return out.delay || out.abort ? out : undefined;
}

/** Draw both faults for one request (an absent percentage is 0 %, as in Envoy). */
export function decideFault(f: FaultConfig | undefined, rng: () => number): FaultDecision {
  const out: FaultDecision = { delayMs: undefined, abortStatus: undefined };
  if (!f) return out;
  if (f.delay && f.delay.probability > 0 && (f.delay.probability >= 1 || rng() < f.delay.probability))
    out.delayMs = f.delay.ms;
  if (f.abort && f.abort.probability > 0 && (f.abort.probability >= 1 || rng() < f.abort.probability))
    out.abortStatus = f.abort.status;
  return out;
}
