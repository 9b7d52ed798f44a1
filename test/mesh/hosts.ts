// Kubernetes service host names and Envoy's shadow (mirror) host.
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

/** Envoy's shadow host for request mirroring: `-shadow` appended to the host part, before any port. */
export function shadowAuthority(authority: string): string {
  const a = authority.trim();
  const m = /^(.*?)(:\d+)?$/.exec(a);
  const host = m?.[1] ?? a;
  const port = m?.[2] ?? "";
  return `${host}-shadow${port}`;
}
