// Host selection within a cluster: priorities, health, panic mode, outlier ejections, the previous_hosts
// retry predicate, and the LB policies (ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH / MAGLEV with the
// route's hash_policy).
import { randomBytes } from "node:crypto";
import type { CompiledCluster, Host } from "./clusters.js";
import { durationMs, type HashPolicyJson } from "./xds-json.js";

export interface LbRequest {
  headers: Readonly<Record<string, string | undefined>>;
  path: string;
  sourceIp: string;
}

export interface LbPick {
  host: Host;
  /** A cookie hash policy with a ttl and no cookie on the request: Envoy sets one on the response. */
  setCookie: string | undefined;
}

/** FNV-1a 64-bit folded to 32 bits with an avalanche; stable across runs. */
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

function queryValue(path: string, name: string): string | undefined {
  const q = path.indexOf("?");
  if (q < 0) return undefined;
  for (const part of path.slice(q + 1).split("&")) {
    const eq = part.indexOf("=");
    if ((eq < 0 ? part : part.slice(0, eq)) === name) return eq < 0 ? "" : part.slice(eq + 1);
  }
  return undefined;
}

/** Envoy's hash from the route's hash_policy list: combined in order, `terminal` stops at the first hash. */
export function requestHash(
  policies: readonly HashPolicyJson[],
  req: LbRequest,
): { hash: number | undefined; setCookie: string | undefined } {
  let hash: number | undefined;
  let setCookie: string | undefined;
  for (const p of policies) {
    let key: string | undefined;
    if (p.header?.header_name) key = req.headers[p.header.header_name.toLowerCase()];
    else if (p.cookie?.name) {
      const c = p.cookie;
      const name = c.name ?? "";
      key = cookieValue(req.headers.cookie, name);
      if (key === undefined && c.ttl !== undefined) {
        key = randomBytes(8).toString("hex");
        const ttlS = Math.round((durationMs(c.ttl) ?? 0) / 1000);
        const attrs = [`${name}="${key}"`];
        if (ttlS > 0) attrs.push(`Max-Age=${ttlS}`);
        if (c.path) attrs.push(`Path=${c.path}`);
        for (const a of c.attributes ?? []) attrs.push(a.value ? `${a.name}=${a.value}` : `${a.name}`);
        attrs.push("HttpOnly");
        setCookie = attrs.join("; ");
      }
    } else if (p.connection_properties?.source_ip) key = req.sourceIp || undefined;
    else if (p.query_parameter?.name) key = queryValue(req.path, p.query_parameter.name);
    if (key === undefined) continue;
    const h = hash32(key);
    hash = hash === undefined ? h : (((hash << 1) | (hash >>> 31)) ^ h) >>> 0;
    if (p.terminal) break;
  }
  return { hash, setCookie };
}

/** Rendezvous hashing: the same hash always lands on the same host while that host exists. */
function pickByHash(hash: number, hosts: readonly Host[]): Host | undefined {
  let best: Host | undefined;
  let bestScore = -1;
  for (const h of hosts) {
    const s = hash32(`${hash}|${h.key}`);
    if (s > bestScore) {
      best = h;
      bestScore = s;
    }
  }
  return best;
}

/**
 * The hosts Envoy would choose from: the first priority level with a healthy (and not ejected) host;
 * degraded hosts when no healthy one is left; every host of the level in panic mode (healthy share under
 * the cluster's healthy_panic_threshold).
 */
export function eligibleHosts(cluster: CompiledCluster, ejected: (key: string) => boolean): Host[] {
  const levels = [...new Set(cluster.hosts.map((h) => h.priority))].sort((a, b) => a - b);
  for (const level of levels) {
    const all = cluster.hosts.filter((h) => h.priority === level);
    const healthy = all.filter((h) => h.health === "healthy" && !ejected(h.key));
    if (healthy.length === 0) continue;
    const panic = cluster.panicThreshold > 0 && (100 * healthy.length) / all.length < cluster.panicThreshold;
    return panic ? all : healthy;
  }
  const degraded = cluster.hosts.filter((h) => h.health === "degraded" && !ejected(h.key));
  if (degraded.length > 0) return degraded;
  const first = levels[0];
  if (first !== undefined && cluster.panicThreshold > 0)
    return cluster.hosts.filter((h) => h.priority === first);
  return [];
}

export class LoadBalancer {
  private readonly rr = new Map<string, number>();
  private readonly active = new Map<string, number>();

  /**
   * One host for a request. `exclude` holds hosts already tried (previous_hosts predicate): avoided while
   * another host is available.
   */
  pick(
    stateKey: string,
    cluster: CompiledCluster,
    hosts: readonly Host[],
    hashPolicies: readonly HashPolicyJson[],
    req: LbRequest,
    rng: () => number,
    exclude?: ReadonlySet<string>,
  ): LbPick | undefined {
    if (hosts.length === 0) return undefined;
    let pool = hosts;
    if (exclude && exclude.size > 0) {
      const rest = hosts.filter((h) => !exclude.has(h.key));
      if (rest.length > 0) pool = rest;
    }
    const policy = cluster.lbPolicy;
    if (policy === "RING_HASH" || policy === "MAGLEV") {
      const { hash, setCookie } = requestHash(hashPolicies, req);
      const host = hash === undefined ? pool[Math.floor(rng() * pool.length)] : pickByHash(hash, pool);
      return host ? { host, setCookie } : undefined;
    }
    let host: Host | undefined;
    if (policy === "RANDOM") host = pool[Math.floor(rng() * pool.length)];
    else if (policy === "LEAST_REQUEST") {
      // Envoy's default: the less loaded of two random choices.
      const a = pool[Math.floor(rng() * pool.length)];
      const b = pool[Math.floor(rng() * pool.length)];
      host = a && b && this.inFlight(stateKey, b) < this.inFlight(stateKey, a) ? b : a;
    } else {
      const weighted = pool.some((h) => h.weight !== pool[0]?.weight);
      if (weighted) {
        const total = pool.reduce((s, h) => s + h.weight, 0);
        let x = rng() * total;
        for (const h of pool) {
          host = h;
          if (x < h.weight) break;
          x -= h.weight;
        }
      } else {
        const n = this.rr.get(stateKey) ?? 0;
        this.rr.set(stateKey, (n + 1) % 1_000_000_007);
        host = pool[n % pool.length];
      }
    }
    return host ? { host, setCookie: undefined } : undefined;
  }

  inFlight(stateKey: string, h: Host): number {
    return this.active.get(`${stateKey}|${h.key}`) ?? 0;
  }

  begin(stateKey: string, h: Host): void {
    const k = `${stateKey}|${h.key}`;
    this.active.set(k, (this.active.get(k) ?? 0) + 1);
  }

  end(stateKey: string, h: Host): void {
    const k = `${stateKey}|${h.key}`;
    const n = (this.active.get(k) ?? 1) - 1;
    if (n <= 0) this.active.delete(k);
    else this.active.set(k, n);
  }
}
