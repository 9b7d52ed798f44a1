// One GET against the API server with a kubeconfig's credentials, for test helpers that list objects
// themselves (recording watches, the Istio validator) rather than through client-node's typed APIs.
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/** GET `path` (e.g. `/apis/networking.istio.io/v1/virtualservices`) and parse the JSON; non-200 rejects. */
export async function getKubeJson(kc: KubeConfig, path: string, timeoutMs = 10_000): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return await new Promise((resolve, reject) => {
    const req = https.request(new URL(cluster.server + path), {
      ...opts,
      method: "GET",
      headers: { ...opts.headers, accept: "application/json" },
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${path}: HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.end();
  });
}
