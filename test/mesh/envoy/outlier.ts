// Envoy's outlier detection, the consecutive-error part (consecutive_5xx, consecutive_gateway_failure):
// per client sidecar and cluster, a host reaching the count is ejected for base_ejection_time x the number
// of times it was ejected (capped at max_ejection_time), while no more than max_ejection_percent of the
// hosts are ejected. Success-rate and failure-percentage detection are not simulated (Istio disables them).
import type { OutlierConfig } from "./clusters.js";

/** What one attempt tells the detector. Local failures (connect, timeout, reset) count as gateway errors. */
export type OutlierResult = "success" | "5xx" | "gateway-failure";

interface HostState {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejections: number;
  ejectedUntil: number;
}

export function outlierResultOf(status: number | "local-failure"): OutlierResult {
  if (status === "local-failure") return "gateway-failure";
  if (status === 502 || status === 503 || status === 504) return "gateway-failure";
  return status >= 500 ? "5xx" : "success";
}

export class OutlierDetector {
  private readonly hosts = new Map<string, HostState>();

  constructor(private readonly now: () => number = Date.now) {}

  isEjected(hostKey: string): boolean {
    const s = this.hosts.get(hostKey);
    if (!s || s.ejectedUntil === 0) return false;
    if (this.now() < s.ejectedUntil) return true;
    s.ejectedUntil = 0;
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    return false;
  }

  ejectedCount(): number {
    let n = 0;
    for (const k of this.hosts.keys()) if (this.isEjected(k)) n++;
    return n;
  }

  report(
    cfg: OutlierConfig,
    hostKey: string,
    result: OutlierResult,
    totalHosts: number,
    rng: () => number,
  ): void {
    let s = this.hosts.get(hostKey);
    if (!s) {
      s = { consecutive5xx: 0, consecutiveGateway: 0, ejections: 0, ejectedUntil: 0 };
      this.hosts.set(hostKey, s);
    }
    if (this.isEjected(hostKey)) return;
    if (result === "success") {
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      return;
    }
    s.consecutive5xx++;
    if (result === "gateway-failure") s.consecutiveGateway++;
    const by5xx = cfg.consecutive5xx > 0 && s.consecutive5xx >= cfg.consecutive5xx;
    const byGateway =
      cfg.consecutiveGatewayFailure > 0 && s.consecutiveGateway >= cfg.consecutiveGatewayFailure;
    let enforce = false;
    if (by5xx) enforce = rng() * 100 < cfg.enforcing5xx;
    if (!enforce && byGateway) enforce = rng() * 100 < cfg.enforcingGateway;
    if (by5xx) s.consecutive5xx = 0;
    if (byGateway) s.consecutiveGateway = 0;
    if (!enforce) return;
    const ejectedPercent = totalHosts > 0 ? (100 * this.ejectedCount()) / totalHosts : 100;
    if (ejectedPercent >= cfg.maxEjectionPercent) return;
    s.ejections++;
    s.ejectedUntil = this.now() + Math.min(cfg.baseEjectionMs * s.ejections, cfg.maxEjectionMs);
  }
}
