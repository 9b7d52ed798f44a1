// Serin's API server calls outside KubernetesObjectApi's verbs (src/kube/rest.ts) and the pooled
// connections every call goes out on (src/kube/agent-pool.ts): the request the API server receives
// (method, path, content type, query, JSON body, credentials), the answer handed back as stored, errors
// that statusCode/isNotFound understand, and one connection reused instead of one per call.
import { once } from "node:events";
import { createServer, Agent as HttpAgent, type Server } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import type { AddressInfo } from "node:net";
import { CoordinationV1Api, KubeConfig, PatchStrategy } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgentPool } from "../../../src/kube/agent-pool.js";
import { isNotFound, pooledApiClient, statusCode } from "../../../src/kube/client.js";
import { RestApi } from "../../../src/kube/rest.js";

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  authorization: string | undefined;
  body: string;
}

let server: Server;
let url = "";
const seen: Seen[] = [];
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        contentType: req.headers["content-type"],
        authorization: req.headers.authorization,
        body,
      });
      res.setHeader("Content-Type", "application/json");
      if (req.url?.includes("/missing")) {
        res.writeHead(404).end(JSON.stringify({ kind: "Status", code: 404, message: "not found" }));
        return;
      }
      // a stored object: timestamps stay strings, fields client-node's models do not know survive
      res.end(body || JSON.stringify({ metadata: { creationTimestamp: "2026-12-01T00:00:00Z" }, extra: 1 }));
    });
  });
  server.on("connection", () => {
    connections++;
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "local", server: url, skipTLSVerify: true }],
    users: [{ name: "serin", token: "t0ken" }],
    contexts: [{ name: "local", cluster: "local", user: "serin", namespace: "shop" }],
    currentContext: "local",
  });
  return kc;
}

describe("RestApi.send", () => {
  it("writes a Canary's status through its /status subresource and returns the stored object as JSON", async () => {
    const rest = RestApi.forConfig(kubeConfig());
    const body = { metadata: { name: "c1", resourceVersion: "7" }, status: { phase: "Progressing" } };
    const stored = await rest.send(
      "PUT",
      {
        apiVersion: "serin.dev/v1beta1",
        plural: "canaries",
        namespace: "shop",
        name: "c1",
        subresource: "status",
      },
      { body },
    );
    const last = seen.at(-1);
    expect(last?.method).toBe("PUT");
    expect(last?.url).toBe("/apis/serin.dev/v1beta1/namespaces/shop/canaries/c1/status");
    expect(last?.contentType).toBe("application/json");
    expect(last?.authorization).toBe("Bearer t0ken");
    expect(JSON.parse(last?.body ?? "")).toEqual(body);
    expect(stored).toEqual(body);
  });

  it("sends patches with their content type and field manager, and core paths under /api", async () => {
    const rest = RestApi.forConfig(kubeConfig());
    await rest.send(
      "PATCH",
      { apiVersion: "v1", plural: "services", namespace: "shop", name: "catalog" },
      {
        body: { spec: { selector: { app: "catalog" } } },
        contentType: PatchStrategy.MergePatch,
        query: { fieldManager: "serin" },
      },
    );
    const last = seen.at(-1);
    expect(last?.method).toBe("PATCH");
    expect(last?.url).toBe("/api/v1/namespaces/shop/services/catalog?fieldManager=serin");
    expect(last?.contentType).toBe("application/merge-patch+json");
  });

  it("hands back what the API server stored, without client-node's model conversions", async () => {
    const rest = RestApi.forConfig(kubeConfig());
    const got = await rest.send("GET", {
      apiVersion: "v1",
      plural: "secrets",
      namespace: "shop",
      name: "token",
    });
    expect(got).toEqual({ metadata: { creationTimestamp: "2026-12-01T00:00:00Z" }, extra: 1 });
    expect(seen.at(-1)?.body).toBe("");
    expect(seen.at(-1)?.contentType).toBeUndefined();
  });

  it("fails with an error statusCode and isNotFound read (the API server's 404)", async () => {
    const rest = RestApi.forConfig(kubeConfig());
    const err: unknown = await rest
      .send("GET", {
        apiVersion: "apps/v1",
        plural: "controllerrevisions",
        namespace: "shop",
        name: "missing",
      })
      .catch((e: unknown) => e);
    expect(statusCode(err)).toBe(404);
    expect(isNotFound(err)).toBe(true);
  });

  it("reuses one connection for sequential calls, KubernetesObjectApi's verbs and typed APIs alike", async () => {
    const kc = kubeConfig();
    const rest = RestApi.forConfig(kc);
    const leases = pooledApiClient(kc, CoordinationV1Api);
    const before = connections;
    for (let i = 0; i < 5; i++) {
      await rest.send("GET", { apiVersion: "v1", plural: "secrets", namespace: "shop", name: `s${i}` });
    }
    await rest
      .replace({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "shop" } })
      .catch(
        () => undefined, // discovery of "v1" answers with an object that is no APIResourceList: only the connection counts
      );
    await leases.readNamespacedLease({ name: "serin", namespace: "serin-system" }).catch(() => undefined);
    // one per pool: the first call opened it (client-node alone opened one per call)
    expect(connections - before).toBeLessThanOrEqual(1);
    expect(seen.at(-1)?.url).toBe("/apis/coordination.k8s.io/v1/namespaces/serin-system/leases/serin");
  });
});

describe("AgentPool", () => {
  it("gives one keep-alive agent per set of TLS options, and retires the previous one when they change", () => {
    const pool = new AgentPool();
    const first = pool.agentFor(new HttpsAgent({ ca: "CA-1", servername: "api" }));
    expect(first).toBeInstanceOf(HttpsAgent);
    expect(pool.agentFor(new HttpsAgent({ ca: "CA-1", servername: "api" }))).toBe(first);
    const rotated = pool.agentFor(new HttpsAgent({ ca: "CA-2", servername: "api" }));
    expect(rotated).not.toBe(first);
    // the retired pool closes its connections as they are freed
    expect(first?.maxFreeSockets).toBe(0);
    expect(rotated?.maxFreeSockets).toBeGreaterThan(0);
    pool.destroy();
  });

  it("leaves proxy agents as client-node built them", () => {
    class ProxyAgent extends HttpAgent {}
    const proxy = new ProxyAgent();
    expect(new AgentPool().agentFor(proxy)).toBe(proxy);
  });
});
