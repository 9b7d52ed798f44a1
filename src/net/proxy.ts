// AlertProvider `spec.proxy`: the axios options that send one request through an HTTP(S) proxy.
// Plain-http targets go in absolute form through axios' own proxy support; https targets through a
// CONNECT tunnel (ConnectTunnelAgent). Environment proxies (HTTP_PROXY) are never mixed in.

import type { AgentOptions } from "node:https";
import type { AxiosProxyConfig } from "axios";
import { ConnectTunnelAgent } from "./connect-tunnel-agent.js";
import { urlOrigin } from "./redact.js";
import { decodeUserinfo } from "./url-credentials.js";

export type ProxyRoute =
  | { ok: true; proxy: AxiosProxyConfig | false; httpsAgent?: ConnectTunnelAgent }
  | { ok: false; error: string };

/** `signal` ends a tunnel still being opened when the request is aborted. */
export function proxyRoute(
  proxyUrl: string,
  targetUrl: string,
  tls: AgentOptions = {},
  signal?: AbortSignal,
): ProxyRoute {
  let proxy: URL;
  let target: URL;
  try {
    proxy = new URL(proxyUrl);
  } catch {
    return { ok: false, error: "proxy is not a valid URL (expected http://host:port)" };
  }
  if (proxy.protocol !== "http:" && proxy.protocol !== "https:")
    return { ok: false, error: `proxy ${urlOrigin(proxyUrl)} must be an http:// or https:// URL` };
  try {
    target = new URL(targetUrl);
  } catch {
    return { ok: false, error: "address is not a valid URL" };
  }
  if (target.protocol === "https:")
    return { ok: true, proxy: false, httpsAgent: new ConnectTunnelAgent(proxy, tls, signal) };
  return {
    ok: true,
    proxy: {
      protocol: proxy.protocol.slice(0, -1),
      host: proxy.hostname,
      port: Number(proxy.port || (proxy.protocol === "https:" ? 443 : 80)),
      ...(proxy.username || proxy.password
        ? {
            auth: {
              username: decodeUserinfo(proxy.username),
              password: decodeUserinfo(proxy.password),
            },
          }
        : {}),
    },
  };
}
