// Connection pools shared by every outbound client (Prometheus, webhooks, alerts). Pools are keyed by
// host and TLS options inside each agent, and credentials travel in request headers, never in the
// connection, so sharing them cannot mix up who is authenticated as whom.
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";

// keepAlive: repeated checks reuse connections. Node unrefs idle pooled sockets, so they never hold
// a stopping process open; in-flight ones are ended by the callers' abort signals.
export const httpAgent = new HttpAgent({ keepAlive: true, maxFreeSockets: 16 });
export const httpsAgent = new HttpsAgent({ keepAlive: true, maxFreeSockets: 16 });
/** for webhooks with disableTLS and MetricTemplates with insecureSkipVerify only */
export const insecureHttpsAgent = new HttpsAgent({
  keepAlive: true,
  maxFreeSockets: 16,
  rejectUnauthorized: false,
});

/** The axios agent options for a request: shared pools, certificate checks off only when asked. */
export function agentsFor(insecureSkipVerify: boolean): { httpAgent: HttpAgent; httpsAgent: HttpsAgent } {
  return { httpAgent, httpsAgent: insecureSkipVerify ? insecureHttpsAgent : httpsAgent };
}

/** Closes every pooled connection (on shutdown); agents stay usable and open new ones if needed. */
export function destroyPooledConnections(): void {
  httpAgent.destroy();
  httpsAgent.destroy();
  insecureHttpsAgent.destroy();
}
