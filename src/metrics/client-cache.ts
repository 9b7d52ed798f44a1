// One PrometheusClient per (address, credentials, TLS setting), so repeated checks reuse a client
// instead of building one per query, while two templates with different credentials for the same
// address never share one. The key holds a hash of the credentials, not the credentials.
import { createHash } from "node:crypto";
import { PrometheusClient, type PrometheusClientOptions } from "./prometheus-client.js";

/** Enough for every distinct template connection of a large cluster; rotated Secrets age out. */
const DEFAULT_MAX_CLIENTS = 64;

function cacheKey(options: PrometheusClientOptions): string {
  const credentials = createHash("sha256")
    .update(
      JSON.stringify([
        options.authorization ?? "",
        Object.entries(options.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ]),
    )
    .digest("hex");
  // The address may carry userinfo: hash it too, the key is never meant to be read.
  const address = createHash("sha256").update(options.address).digest("hex");
  return `${address}|${credentials}|${options.insecureSkipVerify === true}|${options.timeoutMs ?? ""}`;
}

export class PrometheusClientCache {
  private readonly clients = new Map<string, PrometheusClient>();

  constructor(private readonly maxClients = DEFAULT_MAX_CLIENTS) {}

  get(options: PrometheusClientOptions): PrometheusClient {
    const key = cacheKey(options);
    let client = this.clients.get(key);
    if (client === undefined) {
      client = new PrometheusClient(options);
      if (this.clients.size >= this.maxClients) {
        // Least recently used first: Map keeps insertion order and hits are re-inserted below.
        const oldest = this.clients.keys().next().value;
        if (oldest !== undefined) this.clients.delete(oldest);
      }
    } else {
      this.clients.delete(key);
    }
    this.clients.set(key, client);
    return client;
  }

  get size(): number {
    return this.clients.size;
  }
}

/** The process-wide cache runMetricChecks uses when its caller brings none. */
export const sharedPrometheusClients = new PrometheusClientCache();
