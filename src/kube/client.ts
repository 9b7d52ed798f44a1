import {
  ApiException,
  type Configuration,
  createConfiguration,
  KubeConfig,
  type KubernetesObject,
  type KubernetesObjectApi,
  ServerConfiguration,
} from "@kubernetes/client-node";
import { kubeAgents } from "./agent-pool.js";
import { RestApi } from "./rest.js";

export interface KubeClients {
  config: KubeConfig;
  /** the same RestApi instance as `rest`, seen as client-node's KubernetesObjectApi */
  objects: KubernetesObjectApi;
  /** the other calls (Events, patches, Secrets, ControllerRevisions, /status): see rest.ts for why */
  rest: RestApi;
}

/** Loads a kubeconfig file when given, else in-cluster config or $KUBECONFIG / ~/.kube/config. */
export function connect(kubeconfigPath?: string): KubeClients {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  const rest = RestApi.forConfig(config);
  return { config, objects: rest, rest };
}

/**
 * A typed client-node API (Leases) whose requests go out on the pooled connections (agent-pool.ts);
 * otherwise what KubeConfig.makeApiClient builds.
 */
export function pooledApiClient<T>(config: KubeConfig, type: new (configuration: Configuration) => T): T {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error("No active cluster!");
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: config },
  });
  return new type({ ...configuration, httpApi: kubeAgents.wrap(configuration.httpApi) });
}

export function statusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "number")
    return err.code;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;

/**
 * A log-safe description of an API error: the Status message from the body, never the raw
 * ApiException message (it embeds response headers).
 */
export function describeError(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    let message: string | undefined;
    if (typeof body === "string") {
      try {
        const parsed: unknown = JSON.parse(body);
        if (
          typeof parsed === "object" &&
          parsed !== null &&
          "message" in parsed &&
          typeof parsed.message === "string"
        ) {
          message = parsed.message;
        }
      } catch {
        message = body.slice(0, 300);
      }
    } else if (
      typeof body === "object" &&
      body !== null &&
      "message" in body &&
      typeof body.message === "string"
    ) {
      message = body.message;
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ""}`;
  }
  return err instanceof Error ? err.message : String(err);
}

export function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
