// VirtualService fault injection as Istio translates it for Envoy's fault filter (client side).
import { parseDurationMs } from "./durations.js";
import { type HttpFault, percentValue } from "./istio-types.js";
import { chance, type Rng } from "./rng.js";

export interface FaultDecision {
  /** Delay this request by this many ms (response flag DI). */
  delayMs: number | undefined;
  /** Answer with this status without contacting the destination (response flag FI). */
  abortStatus: number | undefined;
}

/**
 * Draw both faults for one request. A percentage left out means 0 % (Istio passes no percentage to Envoy,
 * whose default is 0); the deprecated integer `percent` still counts for delays.
 */
export function decideFault(fault: HttpFault | undefined, rng: Rng): FaultDecision {
  const out: FaultDecision = { delayMs: undefined, abortStatus: undefined };
  if (!fault) return out;
  if (fault.delay) {
    const pct = percentValue(fault.delay.percentage) ?? fault.delay.percent ?? 0;
    if (chance(rng, pct)) out.delayMs = parseDurationMs(fault.delay.fixedDelay) ?? 0;
  }
  if (fault.abort && chance(rng, percentValue(fault.abort.percentage) ?? 0)) {
    out.abortStatus = fault.abort.httpStatus ?? 503;
  }
  return out;
}
