// What went wrong, said so a person can act on it: a missing Canary, a missing permission (to read, or to
// patch a control request), an unreachable API server. Pure: an error and what was being done in, a message out (always exit code 1).
import { describeError, statusCode } from "../kube/client.js";

export interface Attempt {
  /** the API verb: get, list, watch, patch */
  verb: string;
  namespace?: string;
  name?: string;
  /** the API server URL of the context */
  server: string;
  context: string;
}

export class CliError extends Error {
  override name = "CliError";
}

const RESOURCE = "canaries.serin.dev";

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
]);

/** The system error code behind a failed request (node-fetch's FetchError, undici's cause chain). */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && typeof e === "object" && e !== null; depth++) {
    if ("code" in e && typeof e.code === "string" && NETWORK_CODES.has(e.code)) return e.code;
    if ("errno" in e && typeof e.errno === "string" && NETWORK_CODES.has(e.errno)) return e.errno;
    e = "cause" in e ? e.cause : undefined;
  }
  return undefined;
}

function tlsProblem(err: unknown): string | undefined {
  const text = err instanceof Error ? err.message : String(err);
  return /certificate|self[- ]signed|CERT_|SSL|TLS/i.test(text) ? text : undefined;
}

const where = (a: Attempt) => (a.namespace ? ` in namespace ${a.namespace}` : " in any namespace");

/** The message for an error met while reading Canaries. */
export function explainError(err: unknown, a: Attempt): string {
  if (err instanceof CliError) return err.message;
  const code = statusCode(err);
  if (code === 404) {
    if (a.name !== undefined && a.namespace !== undefined)
      return `canary ${a.name} not found in namespace ${a.namespace}`;
    return `the API server at ${a.server} does not serve ${RESOURCE}: are Serin's CRDs installed (kubectl apply -f crds/)?`;
  }
  if (code === 403 && a.verb === "patch") {
    // a control request: say which Role to ask for (docs/control.md, "Who may steer")
    return `forbidden: context ${a.context} may not patch ${RESOURCE}${a.name !== undefined ? ` "${a.name}"` : ""}${where(a)} (RBAC): steering a rollout needs "patch" on ${RESOURCE}; ask for a Role like canary-operator in docs/control.md (verbs get, list, watch, patch); the API server said: ${describeError(err)}`;
  }
  if (code === 403) {
    const target = a.name !== undefined ? `${RESOURCE} "${a.name}"` : RESOURCE;
    return `forbidden: context ${a.context} may not ${a.verb} ${target}${where(a)} (ask for an RBAC Role granting "${a.verb}" on ${RESOURCE}); the API server said: ${describeError(err)}`;
  }
  if (code === 401)
    return `unauthorized: the API server at ${a.server} rejected the credentials of context ${a.context} (expired token? run your login command again)`;
  if (code !== undefined) return `${a.verb} ${RESOURCE}${where(a)} failed: ${describeError(err)}`;
  const net = networkCode(err);
  if (net !== undefined)
    return `cannot reach the API server at ${a.server} (context ${a.context}): ${net}; is the cluster up and the kubeconfig right?`;
  const tls = tlsProblem(err);
  if (tls !== undefined) return `TLS handshake with the API server at ${a.server} failed: ${tls}`;
  return `${a.verb} ${RESOURCE}${where(a)} failed: ${err instanceof Error ? err.message : String(err)}`;
}
