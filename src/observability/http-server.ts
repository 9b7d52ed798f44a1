import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";

/** A probe's answer; `message` is the body, so `curl /healthz` says what is wrong. */
export interface ProbeResult {
  ok: boolean;
  message: string;
}

export interface Probes {
  /** the process is alive and its workers make progress (a failure makes the kubelet restart us) */
  healthy(): ProbeResult;
  /** caches are synced (and, with leader election, this replica can act) */
  ready(): boolean;
}

/** /metrics, /healthz and /readyz on one port, like controller-runtime's manager. */
export function startHttpServer(address: string, registry: Registry, probes: Probes): Promise<Server> {
  const [host, portText] = splitAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        },
      );
      return;
    }
    if (path === "/healthz") {
      const result = probes.healthy();
      res.writeHead(result.ok ? 200 : 500, { "content-type": "text/plain" });
      res.end(result.message);
      return;
    }
    if (path === "/readyz") {
      const ok = probes.ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" });
      res.end(ok ? "ok" : "not ready");
      return;
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(portText), host, () => resolve(server));
  });
}

function splitAddress(address: string): [string | undefined, string] {
  const i = address.lastIndexOf(":");
  if (i < 0) return [undefined, address];
  const host = address.slice(0, i);
  return [host === "" ? undefined : host, address.slice(i + 1)];
}
