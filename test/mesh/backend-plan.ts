// How one simulated request is answered: status and delay from a version's behaviour, the time and the
// path. Pure and import-free: it runs inside the backend process (backend-server.ts) and in unit tests.

/** An error window relative to the version's start (images.json `bursts`, env SIM_ERROR_BURSTS). */
export interface Burst {
  /** Starts this long after the version started. */
  afterMs: number;
  /** Lasts this long. */
  forMs: number;
  /** Repeats with this period (from `afterMs`); absent or 0 = once. */
  everyMs?: number;
  /** Error rate while the burst lasts (replaces the version's own rate). */
  errorRate: number;
  /** Default: the version's errorStatus. */
  errorStatus?: number;
  /** Extra latency while the burst lasts. */
  latencyMs?: number;
}

/** A shared incident: an absolute time window (ConfigMap `mesh-sim-incidents`) hitting several workloads. */
export interface Incident {
  name: string;
  /** ms since epoch; the window is [fromMs, untilMs). */
  fromMs: number;
  untilMs: number;
  /** Extra error rate, drawn independently of the version's own errors. */
  errorRate: number;
  errorStatus: number;
  /** Extra latency while the incident lasts. */
  latencyMs: number;
}

/** What the backend process needs to play a version. */
export interface BackendConfig {
  namespace: string;
  workload: string;
  /** `name:tag` of the container image: what responses report as their version. */
  version: string;
  image: string;
  /** Fraction of requests answered with `errorStatus` (0..1). */
  errorRate: number;
  errorStatus: number;
  latencyMs: number;
  latencyJitterMs: number;
  /** Fraction of requests that take `slowMs` more (tail latency). */
  slowFraction: number;
  slowMs: number;
  /** Opt-in cold start: requests in the version's first startupDelayMs wait until it is over. Default 0. */
  startupDelayMs: number;
  /** Error windows relative to the version's start. */
  bursts: Burst[];
  /** Shared incidents (absolute windows) that apply to this pod's workload. */
  incidents: Incident[];
}

export function burstActive(b: Burst, sinceStartMs: number): boolean {
  const t = sinceStartMs - b.afterMs;
  if (t < 0) return false;
  if (b.everyMs && b.everyMs > 0) return t % b.everyMs < b.forMs;
  return t < b.forMs;
}

export function planResponse(
  cfg: BackendConfig,
  path: string,
  now: number,
  startedAt: number,
  rand: () => number,
): { delayMs: number; status: number } {
  let delayMs = cfg.latencyMs + rand() * cfg.latencyJitterMs;
  if (cfg.slowFraction > 0 && rand() < cfg.slowFraction) delayMs += cfg.slowMs;
  const sinceStart = now - startedAt;
  if (cfg.startupDelayMs > sinceStart) delayMs += cfg.startupDelayMs - sinceStart;
  let errorRate = cfg.errorRate;
  let errorStatus = cfg.errorStatus;
  for (const b of cfg.bursts) {
    if (!burstActive(b, sinceStart)) continue;
    errorRate = b.errorRate;
    errorStatus = b.errorStatus ?? cfg.errorStatus;
    delayMs += b.latencyMs ?? 0;
  }
  let status = errorRate > 0 && rand() < errorRate ? errorStatus : 200;
  for (const inc of cfg.incidents) {
    if (now < inc.fromMs || now >= inc.untilMs) continue;
    delayMs += inc.latencyMs;
    if (status === 200 && inc.errorRate > 0 && rand() < inc.errorRate) status = inc.errorStatus;
  }
  // httpbin-style helpers for tests: /status/503, /delay/250
  const m = /^\/(status|delay)\/(\d+)(?:[/?]|$)/.exec(path);
  if (m?.[1] === "status") status = Number(m[2]);
  if (m?.[1] === "delay") delayMs += Number(m[2]);
  return { delayMs, status };
}
