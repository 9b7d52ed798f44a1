// Host names as Istio sees them: Kubernetes short names, FQDNs and wildcard hosts.
export const CLUSTER_DOMAIN = "cluster.local";
const SVC_SUFFIX = `.svc.${CLUSTER_DOMAIN}`;

export function serviceFqdn(name: string, namespace: string): string {
  return `${name}.${namespace}${SVC_SUFFIX}`;
}

/** `catalog.shop.svc.cluster.local` -> {name: catalog, namespace: shop}; other hosts -> undefined. */
export function splitServiceFqdn(host: string): { name: string; namespace: string } | undefined {
  if (!host.endsWith(SVC_SUFFIX)) return undefined;
  const parts = host.slice(0, -SVC_SUFFIX.length).split(".");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { name: parts[0], namespace: parts[1] };
}

/**
 * A host written in a VirtualService / DestinationRule / route destination, as Istio interprets it:
 * a short name (no dot) is a Service in the object's namespace; anything else is taken as written.
 * `catalog.shop` and `catalog.shop.svc` are expanded too (Istio would not, but the simulator is lenient).
 */
export function resolveConfigHost(host: string, namespace: string): string {
  const h = host.trim().toLowerCase();
  if (h === "*" || h.startsWith("*.")) return h;
  if (!h.includes(".")) return serviceFqdn(h, namespace);
  const parts = h.split(".");
  if (parts.length === 2) return `${h}${SVC_SUFFIX}`;
  if (parts.length === 3 && parts[2] === "svc") return `${h}.${CLUSTER_DOMAIN}`;
  return h;
}

/** `Host` header -> host (lower case) and optional port. Handles `[::1]:80`. */
export function parseAuthority(authority: string): { host: string; port: number | undefined } {
  const a = authority.trim().toLowerCase();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (v6) return { host: v6[1] ?? "", port: v6[2] ? Number(v6[2]) : undefined };
  const idx = a.lastIndexOf(":");
  if (idx > 0 && /^\d+$/.test(a.slice(idx + 1)))
    return { host: a.slice(0, idx), port: Number(a.slice(idx + 1)) };
  return { host: a, port: undefined };
}

/**
 * The host a client in `sourceNamespace` reaches when it dials `host`, the way the pod's DNS search path
 * (`<ns>.svc.cluster.local svc.cluster.local cluster.local`) and Envoy's virtual-host domains expand it.
 * Returns candidates in order of preference.
 */
export function requestHostCandidates(host: string, sourceNamespace: string): string[] {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (!h.includes(".")) return [serviceFqdn(h, sourceNamespace)];
  if (h.endsWith(SVC_SUFFIX)) return [h];
  const parts = h.split(".");
  if (parts.length === 2) return [`${h}${SVC_SUFFIX}`, h];
  if (parts.length === 3 && parts[2] === "svc") return [`${h}.${CLUSTER_DOMAIN}`, h];
  return [h];
}

/** Does a (possibly wildcard) config host match a concrete host? */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** Higher is more specific: exact hosts beat wildcards, longer wildcards beat shorter ones. */
export function hostSpecificity(pattern: string): number {
  if (pattern === "*") return 0;
  if (pattern.startsWith("*.")) return pattern.length;
  return 1_000_000;
}

/** Envoy's shadow host: `-shadow` appended to the host part, before any port. */
export function shadowAuthority(authority: string): string {
  const { host, port } = parseAuthority(authority);
  return port === undefined ? `${host}-shadow` : `${host}-shadow:${port}`;
}
