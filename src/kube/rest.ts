// Plain JSON requests to the API server, for the calls Serin makes outside KubernetesObjectApi's
// create/replace/patch/list: Events, JSON and merge patches, Secret reads, ControllerRevisions and the
// Canary's /status subresource.
//
// Why not client-node's typed CoreV1Api/AppsV1Api/CustomObjectsApi: each is a generated class with a
// method (and two wrapper classes) for every operation of its API group, and importing one keeps all of
// it in the bundle; V8 holds a script's whole source in the heap. The three were ~1 MB of the 4.4 MB
// bundle and ~5 MB of RSS (docs/scale.md, "Memory"). This goes through the very request pipeline of
// KubernetesObjectApi (same KubeConfig, auth, TLS, proxy and agent), and fails with the same
// ApiException (statusCode/describeError read it as before), on the pooled connections of agent-pool.ts
// (which every instance uses, so `objects` is one too: client.ts); bodies go out as JSON.stringify writes them
// (Dates as ISO strings, as the typed serializer writes date-time fields) and answers come back as parsed,
// never converted into client-node's model classes.
import {
  type Configuration,
  HttpMethod,
  type KubeConfig,
  KubernetesObjectApi,
} from "@kubernetes/client-node";
import { kubeAgents } from "./agent-pool.js";

/** Where a request goes: `/api[s]/<apiVersion>/namespaces/<namespace>/<plural>[/<name>[/<subresource>]]`. */
export interface ResourceRef {
  apiVersion: string;
  /** the resource's plural, e.g. "events", "controllerrevisions" */
  plural: string;
  namespace: string;
  name?: string;
  subresource?: "status";
}

export interface RestOptions {
  body?: unknown;
  /** default: application/json; patches name their PatchStrategy */
  contentType?: string;
  query?: Readonly<Record<string, string | undefined>>;
}

const METHODS = {
  GET: HttpMethod.GET,
  POST: HttpMethod.POST,
  PUT: HttpMethod.PUT,
  PATCH: HttpMethod.PATCH,
  DELETE: HttpMethod.DELETE,
} as const;

export class RestApi extends KubernetesObjectApi {
  /** As KubernetesObjectApi.makeApiClient: the kubeconfig context's namespace is the default one. */
  static forConfig(config: KubeConfig): RestApi {
    const api = config.makeApiClient(RestApi);
    api.setDefaultNamespace(config);
    return api;
  }

  constructor(configuration: Configuration) {
    super({ ...configuration, httpApi: kubeAgents.wrap(configuration.httpApi) });
  }

  /** One request; resolves to the answer's JSON (as stored by the API server), rejects with ApiException. */
  async send<T = unknown>(
    method: keyof typeof METHODS,
    ref: ResourceRef,
    opts: RestOptions = {},
  ): Promise<T> {
    const context = this.configuration.baseServer.makeRequestContext(resourcePath(ref), METHODS[method]);
    context.setHeaderParam("Accept", "application/json");
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) context.setQueryParam(key, value);
    }
    if (opts.body !== undefined) {
      context.setHeaderParam("Content-Type", opts.contentType ?? "application/json");
      context.setBody(JSON.stringify(opts.body));
    }
    // "any": client-node's serializer hands the parsed JSON back as it is
    return (await this.requestPromise(context, "any")) as T;
  }
}

export function resourcePath(ref: ResourceRef): string {
  const root = ref.apiVersion.includes("/") ? "apis" : "api";
  const parts = [root, ref.apiVersion, "namespaces", encodeURIComponent(ref.namespace), ref.plural];
  if (ref.name !== undefined) parts.push(encodeURIComponent(ref.name));
  if (ref.subresource !== undefined) parts.push(ref.subresource);
  return `/${parts.join("/")}`;
}
