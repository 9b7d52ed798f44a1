// The simulator's second port: /metrics for Prometheus, /debug/state for tests and humans, /healthz.
import http from "node:http";
import type { BackendSummary } from "./backends.js";
import { workloadOf } from "./endpoints.js";
import type { MeshIndex } from "./mesh-index.js";
import type { MeshTelemetry } from "./telemetry.js";

export interface MeshDebugState {
  virtualServices: Array<{ namespace: string; name: string; resourceVersion: string; hosts: string[] }>;
  destinationRules: Array<{ namespace: string; name: string; resourceVersion: string; host: string }>;
  services: Array<{ namespace: string; name: string }>;
  pods: Array<{
    namespace: string;
    name: string;
    ready: boolean;
    workload: string;
    labels: Record<string, string>;
  }>;
  backends: BackendSummary[];
}

export function debugState(index: MeshIndex, backends: BackendSummary[]): MeshDebugState {
  const s = index.state;
  return {
    virtualServices: s.virtualServices.map((v) => ({
      namespace: v.namespace,
      name: v.name,
      resourceVersion: v.resourceVersion,
      hosts: v.spec.hosts,
    })),
    destinationRules: s.destinationRules.map((d) => ({
      namespace: d.namespace,
      name: d.name,
      resourceVersion: d.resourceVersion,
      host: d.spec.host,
    })),
    services: s.services.map((x) => ({ namespace: x.namespace, name: x.name })),
    pods: s.pods.map((p) => ({
      namespace: p.namespace,
      name: p.name,
      ready: p.ready && !p.terminating,
      workload: workloadOf(index, p),
      labels: p.labels,
    })),
    backends,
  };
}

export function createAdminServer(telemetry: MeshTelemetry, state: () => MeshDebugState): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      telemetry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": telemetry.contentType });
          res.end(text);
        })
        .catch((err: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(String(err));
        });
      return;
    }
    if (path === "/debug/state") {
      const body = JSON.stringify(state());
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
      return;
    }
    if (path === "/healthz" || path === "/readyz") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found: try /metrics or /debug/state");
  });
}
