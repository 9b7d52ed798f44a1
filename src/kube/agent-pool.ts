// One keep-alive connection pool for Serin's API server calls.
//
// client-node 1.4 builds a new https.Agent for every request (KubeConfig.applySecurityAuthentication),
// so every call opened a new TCP connection and TLS session, and parsed the kubeconfig's CA and client
// certificate into a new OpenSSL context: at 100 Canaries rolling out, Serin's RSS peaked ~130 MB above
// V8's heap (malloc'd TLS state the allocator kept), and every call paid a handshake's CPU
// (docs/scale.md, "Memory"). Here each request's agent is swapped, just before it is sent, for a pooled
// keep-alive agent with the same TLS options (CA, client certificate and key, rejectUnauthorized, server
// name). Credentials that travel in headers (tokens, refreshed by the KubeConfig for every request) are
// untouched; when the TLS options change (a rotated client certificate file), a new pool takes over and
// the old one closes its connections as they become idle. Proxy agents (a kubeconfig's proxy-url) are
// left as client-node built them. Watches do not go through here (client-node's Watch opens its own).
import { createHash } from "node:crypto";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { HttpLibrary } from "@kubernetes/client-node";

/** The agent options client-node derives from the kubeconfig; all else is the pool's own. */
const TLS_OPTIONS = ["ca", "cert", "key", "pfx", "passphrase", "rejectUnauthorized", "servername"] as const;

/**
 * Idle connections are closed after a minute: before the API server closes them (kube-apiserver's
 * idle timeout is 90 s), so a request never races the server's close on a reused connection.
 */
const IDLE_MS = 60_000;

type AgentWithOptions = HttpAgent & { options?: Record<string, unknown> };

export class AgentPool {
  private current: { key: string; agent: HttpAgent } | undefined;

  /** The pooled agent to send a request on, in place of the one-off agent client-node built for it. */
  agentFor(fresh: HttpAgent | undefined): HttpAgent | undefined {
    if (fresh === undefined) return undefined;
    const tls = fresh.constructor === HttpsAgent;
    if (!tls && fresh.constructor !== HttpAgent) return fresh; // a proxy agent: not ours to pool
    const options = (fresh as AgentWithOptions).options ?? {};
    const key = optionsKey(tls, options);
    if (this.current?.key === key) return this.current.agent;
    if (this.current !== undefined) retire(this.current.agent);
    const chosen: Record<string, unknown> = { keepAlive: true, timeout: IDLE_MS };
    for (const name of TLS_OPTIONS) if (options[name] !== undefined) chosen[name] = options[name];
    const agent = tls ? new HttpsAgent(chosen) : new HttpAgent(chosen);
    this.current = { key, agent };
    return agent;
  }

  /** Wraps a client's HTTP library so that its requests go out on the pool. */
  wrap(inner: HttpLibrary): HttpLibrary {
    return {
      send: (request) => {
        const agent = this.agentFor(request.getAgent());
        if (agent !== undefined) request.setAgent(agent);
        return inner.send(request);
      },
    };
  }

  /** Closes every connection (on shutdown). */
  destroy(): void {
    this.current?.agent.destroy();
    this.current = undefined;
  }
}

/** Serin's one pool for the API server (a process talks to one cluster). */
export const kubeAgents = new AgentPool();

function optionsKey(tls: boolean, options: Record<string, unknown>): string {
  const hash = createHash("sha256").update(tls ? "https" : "http");
  for (const name of TLS_OPTIONS) {
    const values = ([] as unknown[]).concat(options[name] ?? []);
    hash.update(`\0${name}:${values.length}`);
    for (const value of values) {
      if (typeof value === "string" || Buffer.isBuffer(value)) hash.update(value).update("\0");
      else hash.update(`${JSON.stringify(value)}\0`);
    }
  }
  return hash.digest("hex");
}

/** Requests in flight finish; their connections close instead of going back to the pool. */
function retire(agent: HttpAgent): void {
  agent.maxFreeSockets = 0; // a freed connection finds the free list full, and is closed
  for (const sockets of Object.values(agent.freeSockets))
    for (const socket of sockets ?? []) socket.destroy();
}
