// Which Canaries an object's event concerns, without looking at every Canary.
//
// For each Canary the index keeps the objects it depends on, as refs "kind/namespace/name":
//   deployment       the target and `<target>-primary`
//   service          `<apex>`, `<apex>-primary`, `<apex>-canary` (apex = spec.service.name || targetRef.name);
//   virtualservice   the same three names (the generated objects, and any object in their way)
//   destinationrule  the same three names
//   httproute        `<apex>` (provider gatewayapi)
//   the adopted route spec.service.routeRef (a VirtualService or an HTTPRoute the user owns): its events
//                    (a route renamed, reshaped, put right again) wake the Canary at once
//   configmap/secret what the target's pod template references (findTargetConfigRefs), cached per target
//                    and recomputed only on the target Deployment's own event
//   hpa              spec.autoscalerRef and its generated `<hpa>-primary`
//   metrictemplate   analysis.metrics[].templateRef (namespace defaults to the Canary's)
//   alertprovider    analysis.alerts[].providerRef (namespace defaults to the Canary's)
// and the reverse map ref -> Canary keys. A Canary event costs O(its refs), a target Deployment event
// O(its config refs x Canaries on it) (one, unless a second Canary is Blocked on it), a lookup O(1).
// Nothing is kept for an object no Canary references: a target's config refs live exactly as long as
// some Canary targets it, so deletions leave no garbage (the tests assert the maps' sizes).
//
// The index is fed raw Canaries, valid or not: an invalid Canary must still wake up when the object it
// names appears, so every field is read defensively.

export type RefKind =
  | "deployment"
  | "service"
  | "virtualservice"
  | "destinationrule"
  | "httproute"
  | "configmap"
  | "secret"
  | "hpa"
  | "metrictemplate"
  | "alertprovider";

export function refId(kind: RefKind, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** A ConfigMap or Secret a pod template names (the shape of findTargetConfigRefs' answer). */
export interface ConfigRefLike {
  kind: "configmap" | "secret";
  name: string;
}

/** The few fields of a Canary the index reads; anything else (or a wrong type) is ignored. */
export interface IndexedCanary {
  metadata?: { name?: string; namespace?: string };
  spec?: unknown;
}

const EMPTY: ReadonlySet<string> = new Set();

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);
const field = (v: unknown, name: string): unknown => (isRecord(v) ? v[name] : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The target Deployment's name, as canariesWhere used to match it. */
export function targetName(canary: IndexedCanary): string | undefined {
  return str(field(field(canary.spec, "targetRef"), "name"));
}

/** The refs a Canary's spec gives by itself (everything but its target's ConfigMaps and Secrets). */
export function specRefs(namespace: string, canary: IndexedCanary): string[] {
  const spec = canary.spec;
  const target = targetName(canary);
  const out: string[] = [];
  if (target !== undefined) {
    out.push(refId("deployment", namespace, target), refId("deployment", namespace, `${target}-primary`));
    const apex = str(field(field(spec, "service"), "name")) ?? target;
    for (const kind of ["service", "virtualservice", "destinationrule"] as const) {
      for (const name of [apex, `${apex}-primary`, `${apex}-canary`]) out.push(refId(kind, namespace, name));
    }
    // The HTTPRoute of provider gatewayapi has the apex name only.
    out.push(refId("httproute", namespace, apex));
  }
  const adopted = field(field(spec, "service"), "routeRef");
  const routeName = str(field(adopted, "name"));
  if (routeName !== undefined) {
    const kind = field(adopted, "kind") === "HTTPRoute" ? "httproute" : "virtualservice";
    out.push(refId(kind, namespace, routeName));
  }
  const autoscaler = field(spec, "autoscalerRef");
  const hpa = str(field(autoscaler, "name"));
  if (
    hpa !== undefined &&
    (field(autoscaler, "kind") ?? "HorizontalPodAutoscaler") === "HorizontalPodAutoscaler"
  ) {
    out.push(refId("hpa", namespace, hpa), refId("hpa", namespace, `${hpa}-primary`));
  }
  const analysis = field(spec, "analysis");
  for (const metric of list(field(analysis, "metrics"))) {
    const ref = field(metric, "templateRef");
    const name = str(field(ref, "name"));
    if (name !== undefined)
      out.push(refId("metrictemplate", str(field(ref, "namespace")) ?? namespace, name));
  }
  for (const alert of list(field(analysis, "alerts"))) {
    const ref = field(alert, "providerRef");
    const name = str(field(ref, "name"));
    if (name !== undefined) out.push(refId("alertprovider", str(field(ref, "namespace")) ?? namespace, name));
  }
  return out;
}

function namespaceOfKey(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

export class CanaryIndex {
  /** per Canary key: its spec's refs */
  private readonly ownRefs = new Map<string, readonly string[]>();
  /** per Canary key: everything it depends on (its spec's refs and its target's config refs) */
  private readonly refsOf = new Map<string, Set<string>>();
  /** ref -> the Canaries that depend on it */
  private readonly byRef = new Map<string, Set<string>>();
  /** per Canary key: its target "namespace/name" */
  private readonly targetOf = new Map<string, string>();
  /** target "namespace/name" -> the Canaries on it */
  private readonly onTarget = new Map<string, Set<string>>();
  /** per target some Canary is on: the ConfigMap/Secret refs of its pod template, and of which version */
  private readonly targetConfigs = new Map<string, { version: string | undefined; ids: readonly string[] }>();

  /**
   * @param readTargetConfigs the config refs of Deployment `name` as the cache holds it now ([] when it
   *   is not there); asked only when a target gets its first Canary.
   */
  constructor(
    private readonly readTargetConfigs: (namespace: string, name: string) => readonly ConfigRefLike[],
  ) {}

  /** A Canary was added or changed (any field: only what the index reads matters). */
  setCanary(key: string, canary: IndexedCanary): void {
    const namespace = canary.metadata?.namespace ?? namespaceOfKey(key);
    const name = targetName(canary);
    const target = name === undefined ? undefined : `${namespace}/${name}`;
    const before = this.targetOf.get(key);
    if (before !== target) {
      if (before !== undefined) this.leaveTarget(key, before);
      if (target !== undefined && name !== undefined) {
        this.targetOf.set(key, target);
        let canaries = this.onTarget.get(target);
        if (canaries === undefined) {
          canaries = new Set();
          this.onTarget.set(target, canaries);
          const ids = configIds(namespace, this.readTargetConfigs(namespace, name));
          this.targetConfigs.set(target, { version: undefined, ids });
        }
        canaries.add(key);
      }
    }
    this.ownRefs.set(key, specRefs(namespace, canary));
    this.refresh(key);
  }

  /** A Canary is gone: nothing of it stays. */
  deleteCanary(key: string): void {
    const target = this.targetOf.get(key);
    if (target !== undefined) this.leaveTarget(key, target);
    this.ownRefs.delete(key);
    for (const ref of this.refsOf.get(key) ?? []) this.unlink(ref, key);
    this.refsOf.delete(key);
  }

  /**
   * Deployment `namespace/name` changed (or is gone: `configs` gives []). When a Canary targets it and
   * `version` differs from the last one seen (undefined: always), its pod template's config refs are
   * recomputed (`configs` is called only then) and the Canaries on it re-linked. A version that changes
   * whenever the refs can (the Deployment's generation, plus its config-tracking annotations) makes the
   * many status-only events of a rolling Deployment cost a map lookup. Returns whether a Canary targets it.
   */
  targetChanged(
    namespace: string,
    name: string,
    configs: () => readonly ConfigRefLike[],
    version?: string,
  ): boolean {
    const target = `${namespace}/${name}`;
    const canaries = this.onTarget.get(target);
    if (canaries === undefined) return false;
    const before = this.targetConfigs.get(target);
    if (version !== undefined && before?.version === version) return true;
    const next = configIds(namespace, configs());
    const changed = next.length !== before?.ids.length || next.some((ref, i) => ref !== before.ids[i]);
    this.targetConfigs.set(target, { version, ids: next });
    if (changed) for (const key of canaries) this.refresh(key);
    return true;
  }

  /** The Canaries that depend on object `kind/namespace/name`. */
  lookup(kind: RefKind, namespace: string, name: string): ReadonlySet<string> {
    return this.byRef.get(refId(kind, namespace, name)) ?? EMPTY;
  }

  /** The Canaries whose spec.targetRef names Deployment `namespace/name`. */
  targeting(namespace: string, name: string): ReadonlySet<string> {
    return this.onTarget.get(`${namespace}/${name}`) ?? EMPTY;
  }

  /** What Canary `key` depends on (for tests and diagnostics). */
  refs(key: string): ReadonlySet<string> {
    return this.refsOf.get(key) ?? EMPTY;
  }

  /** The size of every map: a deleted Canary or target must leave nothing behind. */
  sizes(): { canaries: number; refs: number; links: number; targets: number; targetConfigs: number } {
    let links = 0;
    for (const keys of this.byRef.values()) links += keys.size;
    return {
      canaries: Math.max(this.refsOf.size, this.ownRefs.size, this.targetOf.size),
      refs: this.byRef.size,
      links,
      targets: this.onTarget.size,
      targetConfigs: this.targetConfigs.size,
    };
  }

  private leaveTarget(key: string, target: string): void {
    this.targetOf.delete(key);
    const canaries = this.onTarget.get(target);
    canaries?.delete(key);
    if (canaries !== undefined && canaries.size === 0) {
      this.onTarget.delete(target);
      this.targetConfigs.delete(target);
    }
  }

  /** Re-links `key` to its spec's refs plus its target's config refs, touching only what changed. */
  private refresh(key: string): void {
    const target = this.targetOf.get(key);
    const next = new Set([
      ...(this.ownRefs.get(key) ?? []),
      ...((target !== undefined ? this.targetConfigs.get(target)?.ids : undefined) ?? []),
    ]);
    const before = this.refsOf.get(key);
    for (const ref of before ?? []) if (!next.has(ref)) this.unlink(ref, key);
    for (const ref of next) {
      if (before?.has(ref)) continue;
      let keys = this.byRef.get(ref);
      if (keys === undefined) {
        keys = new Set();
        this.byRef.set(ref, keys);
      }
      keys.add(key);
    }
    this.refsOf.set(key, next);
  }

  private unlink(ref: string, key: string): void {
    const keys = this.byRef.get(ref);
    keys?.delete(key);
    if (keys !== undefined && keys.size === 0) this.byRef.delete(ref);
  }
}

/** Sorted, de-duplicated ids, so a template that did not change compares equal. */
function configIds(namespace: string, configs: readonly ConfigRefLike[]): string[] {
  return [...new Set(configs.map((c) => refId(c.kind, namespace, c.name)))].sort();
}
