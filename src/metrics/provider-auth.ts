// A MetricTemplate's connection settings as Flagger reads them: `secretRef` names a Secret in the
// template's namespace holding `token` (sent as "Authorization: Bearer") or `username` + `password`
// (basic auth); `headers` are added to every query; `insecureSkipVerify` turns off certificate checks.
// Every failure names the template, the Secret and the key, and never prints a value.
import type { MetricTemplate } from "../api/metric-template.js";
import { describeError } from "../kube/client.js";
import { redact } from "../net/redact.js";
import { basicAuthorization } from "../net/url-credentials.js";
import type { SecretReader } from "./secret-data.js";

export interface ProviderConnection {
  authorization?: string;
  headers: Record<string, string>;
  insecureSkipVerify: boolean;
}

export type ConnectionResult = { ok: true; connection: ProviderConnection } | { ok: false; error: string };

/** RFC 9110 token characters for a header name; values must not break the header line. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE_FORBIDDEN = /[\r\n\0]/;

/** A value pasted with `echo` into a Secret ends with a newline that no server expects. */
const trimmed = (value: string | undefined) => value?.replace(/[\r\n]+$/, "");

function headersOf(
  template: MetricTemplate,
  id: string,
): { ok: true; headers: Record<string, string> } | { ok: false; error: string } {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(template.spec.provider.headers ?? {})) {
    if (!HEADER_NAME.test(name))
      return { ok: false, error: `MetricTemplate ${id}: spec.provider.headers has an invalid header name` };
    if (values.length === 0) continue;
    if (values.some((v) => HEADER_VALUE_FORBIDDEN.test(v)))
      return {
        ok: false,
        error: `MetricTemplate ${id}: spec.provider.headers[${JSON.stringify(name)}] has a line break in its value`,
      };
    out[name] = values.join(", ");
  }
  return { ok: true, headers: out };
}

async function authorizationFrom(
  id: string,
  namespace: string,
  secretName: string,
  readSecret: SecretReader | undefined,
): Promise<{ ok: true; authorization: string } | { ok: false; error: string }> {
  const where = `Secret ${secretName} (namespace ${namespace}, spec.provider.secretRef of MetricTemplate ${id})`;
  if (readSecret === undefined)
    return { ok: false, error: `cannot read ${where}: no Secret reader configured` };
  let data: Readonly<Record<string, string>> | undefined;
  try {
    data = await readSecret(namespace, secretName);
  } catch (err) {
    return { ok: false, error: `cannot read ${where}: ${redact(describeError(err))}` };
  }
  if (data === undefined)
    return {
      ok: false,
      error: `${where} not found: create it with the keys username and password, or token`,
    };
  const token = trimmed(data.token);
  if (token) return { ok: true, authorization: `Bearer ${token}` };
  const username = trimmed(data.username);
  if (username === undefined)
    return {
      ok: false,
      error: `${where} has no key "username" (nor "token"): add username and password for basic auth, or token for a bearer token`,
    };
  const password = trimmed(data.password);
  if (password === undefined)
    return { ok: false, error: `${where} has no key "password": basic auth needs username and password` };
  return { ok: true, authorization: basicAuthorization(username, password) };
}

/** Resolves a template's credentials, headers and TLS setting, reading its Secret when it has one. */
export async function templateConnection(
  template: MetricTemplate,
  namespace: string,
  readSecret: SecretReader | undefined,
): Promise<ConnectionResult> {
  const id = `${template.metadata.name ?? ""}.${namespace}`;
  const headers = headersOf(template, id);
  if (!headers.ok) return headers;
  const connection: ProviderConnection = {
    headers: headers.headers,
    insecureSkipVerify: template.spec.provider.insecureSkipVerify === true,
  };
  const secretRef = template.spec.provider.secretRef;
  if (secretRef) {
    const auth = await authorizationFrom(id, namespace, secretRef.name, readSecret);
    if (!auth.ok) return auth;
    // The Secret's credentials win over an Authorization header written in the template.
    for (const name of Object.keys(connection.headers))
      if (name.toLowerCase() === "authorization") delete connection.headers[name];
    connection.authorization = auth.authorization;
  }
  return { ok: true, connection };
}
