// The CLI's only contact with the cluster: the user's kubeconfig and context, reading and watching Canaries,
// Events about Canaries (the dashboard), and the one write: a control request's annotations.
// Thin on purpose; everything shown is computed by the pure renderers from what this returns.
import {
  CoreV1Api,
  type CoreV1Event,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { type Canary, CanarySchema } from "../api/canary.js";
import { CANARY_PLURAL, GROUP, VERSION } from "../api/constants.js";
import { type Attempt, CliError } from "./errors.js";

export interface Session {
  config: KubeConfig;
  api: CustomObjectsApi;
  context: string;
  server: string;
  /** -n, else the context's namespace, else "default" */
  namespace: string;
  /** the context's user entry in the kubeconfig, for serin.dev/action-by (informational) */
  user?: string;
}

export interface SessionOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** The user's kubeconfig ($KUBECONFIG, ~/.kube/config, or in-cluster), optionally another context. */
export function openSession(o: SessionOptions): Session {
  const config = new KubeConfig();
  try {
    if (o.kubeconfig) config.loadFromFile(o.kubeconfig);
    else config.loadFromDefault();
  } catch (err) {
    throw new CliError(
      `cannot read the kubeconfig${o.kubeconfig ? ` ${o.kubeconfig}` : ""}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (o.context !== undefined) {
    if (config.getContextObject(o.context) === null)
      throw new CliError(
        `context ${o.context} not found in the kubeconfig (contexts: ${
          config
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "none"
        })`,
      );
    config.setCurrentContext(o.context);
  }
  const context = config.getCurrentContext();
  const server = config.getCurrentCluster()?.server;
  const user = config.getContextObject(context)?.user;
  if (server === undefined) throw new CliError(`the kubeconfig's context "${context}" names no cluster`);
  return {
    config,
    api: config.makeApiClient(CustomObjectsApi),
    context,
    server,
    namespace: o.namespace ?? config.getContextObject(context)?.namespace ?? "default",
    ...(user ? { user } : {}),
  };
}

export function attempt(s: Session, verb: string, namespace: string | undefined, name?: string): Attempt {
  return {
    verb,
    server: s.server,
    context: s.context,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(name !== undefined ? { name } : {}),
  };
}

/**
 * A Canary as the API returned it. Validated when it parses; a Canary written by a newer controller (fields
 * this CLI does not know) is shown from what it has rather than refused.
 */
export function asCanary(obj: unknown): Canary {
  const parsed = CanarySchema.safeParse(obj);
  if (parsed.success) return parsed.data;
  if (typeof obj === "object" && obj !== null && "metadata" in obj && "spec" in obj) return obj as Canary;
  throw new CliError("the API server returned something that is not a Canary");
}

const base = { group: GROUP, version: VERSION, plural: CANARY_PLURAL };

export async function getCanary(s: Session, namespace: string, name: string): Promise<Canary> {
  return asCanary(await s.api.getNamespacedCustomObject({ ...base, namespace, name }));
}

export async function listCanaries(s: Session, namespace: string | undefined): Promise<Canary[]> {
  const list: unknown =
    namespace === undefined
      ? await s.api.listClusterCustomObject(base)
      : await s.api.listNamespacedCustomObject({ ...base, namespace });
  const items =
    typeof list === "object" && list !== null && "items" in list && Array.isArray(list.items)
      ? list.items
      : [];
  return items.map(asCanary);
}

/** Applies a JSON merge patch to a Canary (the CLI's only write: a control request's annotations). */
export async function patchCanary(
  s: Session,
  namespace: string,
  name: string,
  body: object,
): Promise<Canary> {
  return asCanary(
    await s.api.patchNamespacedCustomObject(
      { ...base, namespace, name, body, fieldManager: "kubectl-serin" },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    ),
  );
}

export type WatchEvent = { type: "ADDED" | "MODIFIED" | "DELETED"; canary: Canary };

/**
 * Watches Canaries (one by name, or all of a namespace or the cluster) until `done` is called with the
 * watch's end: undefined when the server closed it (watches time out; the caller watches again), or the error.
 */
export async function watchCanaries(
  s: Session,
  namespace: string | undefined,
  name: string | undefined,
  onEvent: (e: WatchEvent) => void,
  done: (err: unknown) => void,
): Promise<AbortController> {
  const path =
    namespace === undefined
      ? `/apis/${GROUP}/${VERSION}/${CANARY_PLURAL}`
      : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${CANARY_PLURAL}`;
  const query: Record<string, string> = name !== undefined ? { fieldSelector: `metadata.name=${name}` } : {};
  return new Watch(s.config).watch(
    path,
    query,
    (type: string, obj: unknown) => {
      if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
        try {
          onEvent({ type, canary: asCanary(obj) });
        } catch {
          // not a Canary (a BOOKMARK or a Status): nothing to draw
        }
      }
    },
    (err: unknown) => done(err ?? undefined),
  );
}

/** An Event about a Canary (kubectl describe's Events), as the dashboard lists them. */
export interface CanaryEvent {
  uid: string;
  namespace: string;
  /** the Canary's name (involvedObject.name) */
  canary: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  /** lastTimestamp, else eventTime, else firstTimestamp (ISO 8601) */
  time: string;
}

const iso = (v: unknown): string | undefined =>
  v instanceof Date ? v.toISOString() : typeof v === "string" && v !== "" ? v : undefined;

/** An Event as the list (Dates) or the watch (strings) returns it; undefined when it is not about a Canary. */
export function asCanaryEvent(obj: unknown): CanaryEvent | undefined {
  const e = obj as Partial<CoreV1Event> | null;
  const about = e?.involvedObject;
  if (about?.kind !== "Canary" || about.name === undefined) return undefined;
  return {
    uid: e?.metadata?.uid ?? `${about.namespace}/${about.name}/${e?.reason}`,
    namespace: about.namespace ?? e?.metadata?.namespace ?? "",
    canary: about.name,
    type: e?.type ?? "Normal",
    reason: e?.reason ?? "",
    message: e?.message ?? "",
    count: e?.count ?? 1,
    time:
      iso(e?.lastTimestamp) ??
      iso(e?.eventTime) ??
      iso(e?.firstTimestamp) ??
      iso(e?.metadata?.creationTimestamp) ??
      "",
  };
}

const CANARY_EVENTS = "involvedObject.kind=Canary";

/** Events about Canaries, of a namespace or of the cluster. */
export async function listCanaryEvents(s: Session, namespace: string | undefined): Promise<CanaryEvent[]> {
  const core = s.config.makeApiClient(CoreV1Api);
  const list =
    namespace === undefined
      ? await core.listEventForAllNamespaces({ fieldSelector: CANARY_EVENTS })
      : await core.listNamespacedEvent({ namespace, fieldSelector: CANARY_EVENTS });
  return list.items.map(asCanaryEvent).filter((e): e is CanaryEvent => e !== undefined);
}

/** Watches Events about Canaries; `done` as for watchCanaries. */
export async function watchCanaryEvents(
  s: Session,
  namespace: string | undefined,
  onEvent: (type: "ADDED" | "MODIFIED" | "DELETED", e: CanaryEvent) => void,
  done: (err: unknown) => void,
): Promise<AbortController> {
  const path = namespace === undefined ? "/api/v1/events" : `/api/v1/namespaces/${namespace}/events`;
  return new Watch(s.config).watch(
    path,
    { fieldSelector: CANARY_EVENTS },
    (type: string, obj: unknown) => {
      const e = asCanaryEvent(obj);
      if (e !== undefined && (type === "ADDED" || type === "MODIFIED" || type === "DELETED"))
        onEvent(type, e);
    },
    (err: unknown) => done(err ?? undefined),
  );
}
