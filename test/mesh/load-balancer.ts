// Picks one pod among a cluster's ready endpoints per a DestinationRule loadBalancer setting.
import { randomBytes } from "node:crypto";
import { parseDurationMs } from "./durations.js";
import type { PodInfo } from "./model.js";
import type { Rng } from "./rng.js";
import type { LbPolicy } from "./traffic-policy.js";

export interface LbContext {
  headers: Readonly<Record<string, string | undefined>>;
  sourceIp: string;
  path: string;
}

export interface LbPick {
  pod: PodInfo;
  /** consistentHash.httpCookie with a ttl and no cookie on the request: Envoy sets one. */
  setCookie: string | undefined;
}

export function podKey(p: { namespace: string; name: string }): string {
  return `${p.namespace}/${p.name}`;
}

/** FNV-1a 32-bit with a final avalanche; stable across runs. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Rendezvous hashing: the same key always lands on the same pod while that pod exists. */
export function pickByHash(key: string, pods: readonly PodInfo[]): PodInfo | undefined {
  let best: PodInfo | undefined;
  let bestScore = -1;
  for (const p of pods) {
    const s = hash32(`${key}|${podKey(p)}`);
    if (s > bestScore) {
      best = p;
      bestScore = s;
    }
  }
  return best;
}

function cookieValue(cookieHeader: string | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name)
      return part
        .slice(eq + 1)
        .trim()
        .replace(/^"|"$/g, "");
  }
  return undefined;
}

function queryParam(path: string, name: string): string | undefined {
  const q = path.indexOf("?");
  if (q < 0) return undefined;
  return new URLSearchParams(path.slice(q + 1)).get(name) ?? undefined;
}

function hashKey(
  hash: Extract<LbPolicy, { kind: "CONSISTENT_HASH" }>["hash"],
  ctx: LbContext,
): { key: string | undefined; setCookie: string | undefined } {
  if (hash.httpHeaderName)
    return { key: ctx.headers[hash.httpHeaderName.toLowerCase()], setCookie: undefined };
  if (hash.httpCookie) {
    const c = hash.httpCookie;
    const existing = cookieValue(ctx.headers.cookie, c.name);
    if (existing !== undefined) return { key: existing, setCookie: undefined };
    if (!c.ttl) return { key: undefined, setCookie: undefined };
    const value = randomBytes(8).toString("hex");
    const maxAge = Math.round((parseDurationMs(c.ttl) ?? 0) / 1000);
    const attrs = [`${c.name}="${value}"`, `Max-Age=${maxAge}`];
    if (c.path) attrs.push(`Path=${c.path}`);
    attrs.push("HttpOnly");
    return { key: value, setCookie: attrs.join("; ") };
  }
  if (hash.useSourceIp) return { key: ctx.sourceIp, setCookie: undefined };
  if (hash.httpQueryParameterName) {
    return { key: queryParam(ctx.path, hash.httpQueryParameterName), setCookie: undefined };
  }
  return { key: undefined, setCookie: undefined };
}

export class LoadBalancer {
  private readonly rr = new Map<string, number>();
  private readonly active = new Map<string, number>();

  /**
   * `exclude` holds pods already tried by this request (Envoy's previous_hosts retry predicate); they are
   * avoided while another pod is available. Consistent hashing ignores it, as Istio configures.
   */
  pick(
    clusterKey: string,
    policy: LbPolicy,
    endpoints: readonly PodInfo[],
    ctx: LbContext,
    rng: Rng,
    exclude?: ReadonlySet<string>,
  ): LbPick | undefined {
    if (endpoints.length === 0) return undefined;
    if (policy.kind === "CONSISTENT_HASH") {
      const { key, setCookie } = hashKey(policy.hash, ctx);
      const pod =
        key === undefined ? endpoints[Math.floor(rng() * endpoints.length)] : pickByHash(key, endpoints);
      return pod ? { pod, setCookie } : undefined;
    }
    let pool = endpoints;
    if (exclude && exclude.size > 0) {
      const rest = endpoints.filter((p) => !exclude.has(podKey(p)));
      if (rest.length > 0) pool = rest;
    }
    let pod: PodInfo | undefined;
    if (policy.kind === "RANDOM") {
      pod = pool[Math.floor(rng() * pool.length)];
    } else if (policy.kind === "LEAST_REQUEST") {
      // Envoy's default: power of two choices.
      const a = pool[Math.floor(rng() * pool.length)];
      const b = pool[Math.floor(rng() * pool.length)];
      pod = a && b && this.inFlight(b) < this.inFlight(a) ? b : a;
    } else {
      const n = this.rr.get(clusterKey) ?? 0;
      this.rr.set(clusterKey, (n + 1) % 1_000_000_007);
      pod = pool[n % pool.length];
    }
    return pod ? { pod, setCookie: undefined } : undefined;
  }

  inFlight(p: PodInfo): number {
    return this.active.get(podKey(p)) ?? 0;
  }

  begin(p: PodInfo): void {
    const k = podKey(p);
    this.active.set(k, (this.active.get(k) ?? 0) + 1);
  }

  end(p: PodInfo): void {
    const k = podKey(p);
    const n = (this.active.get(k) ?? 1) - 1;
    if (n <= 0) this.active.delete(k);
    else this.active.set(k, n);
  }
}
