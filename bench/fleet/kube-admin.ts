// A small HTTPS client for the bench's own API calls (the admin's client certificate: system:masters, so
// APF exempts it and none of it counts in a controller's FlowSchema): creates, patches, raw GETs
// (the API server's /metrics) and list+watch of one collection across all namespaces.
import https from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { sleep } from "../../test/env/processes.js";

export interface KubeResponse {
  status: number;
  body: string;
  /** Date.now() when the response ended */
  at: number;
}

export class KubeAdmin {
  private readonly server: string;
  private readonly options: https.RequestOptions;
  private readonly agent: https.Agent;

  private constructor(server: string, options: https.RequestOptions) {
    this.server = server;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64 });
    this.options = { ...options, agent: this.agent };
  }

  static async fromKubeconfig(path: string): Promise<KubeAdmin> {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`${path}: no current cluster`);
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    return new KubeAdmin(cluster.server, opts);
  }

  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
    timeoutMs = 60_000,
  ): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(new URL(this.server + path), {
        ...this.options,
        method,
        headers: {
          ...this.options.headers,
          accept: "application/json, text/plain",
          ...(payload === undefined
            ? {}
            : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
        },
      });
      req.on("error", reject);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on("response", (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString("utf8"),
            at: Date.now(),
          }),
        );
      });
      req.end(payload);
    });
  }

  /** Like request(), but a non-2xx answer rejects (a create's 409 AlreadyExists is fine when `allowExists`). */
  async must(
    method: string,
    path: string,
    body?: unknown,
    contentType?: string,
    allowExists = false,
  ): Promise<KubeResponse> {
    for (let attempt = 0; ; attempt++) {
      let res: KubeResponse;
      try {
        res = await this.request(method, path, body, contentType);
      } catch (err) {
        // A kept-alive connection the server closed meanwhile ("socket hang up", ECONNRESET): retry.
        // Every call of the bench is safe to repeat (GETs, creates that accept 409, an image patch).
        if (attempt < 3) {
          await sleep(100);
          continue;
        }
        throw err;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (allowExists && res.status === 409) return res;
      // A fresh CRD or namespace answers 404/429/500 for a moment (storage not ready, default SA missing).
      if ((res.status === 429 || res.status >= 500 || res.status === 404) && attempt < 20) {
        await sleep(250 * (attempt + 1));
        continue;
      }
      throw new Error(`${method} ${path}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
    }
  }

  async getJson<T>(path: string): Promise<T> {
    return JSON.parse((await this.must("GET", path)).body) as T;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Lists `path` (a collection, e.g. `/apis/serin.dev/v1beta1/canaries`) and then watches it, calling
   * `onObject(obj, receivedAt)` for every listed object and every ADDED/MODIFIED event. A closed watch
   * resumes from the last resourceVersion; a 410 relists. Returns the stop function.
   */
  listWatch<T extends { metadata?: { resourceVersion?: string } }>(
    path: string,
    onObject: (obj: T, at: number) => void,
  ): { ready: Promise<void>; stop: () => void; relists: () => number } {
    let stopped = false;
    let current: import("node:http").ClientRequest | undefined;
    let resourceVersion = "";
    let relists = 0;
    const relist = async () => {
      const list = await this.getJson<{ metadata?: { resourceVersion?: string }; items?: T[] }>(path);
      const at = Date.now();
      for (const item of list.items ?? []) onObject(item, at);
      resourceVersion = list.metadata?.resourceVersion ?? "";
      relists++;
    };
    const watchOnce = () =>
      new Promise<"closed" | "gone">((resolve) => {
        const sep = path.includes("?") ? "&" : "?";
        const req = https.request(
          new URL(
            `${this.server}${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${resourceVersion}&timeoutSeconds=600`,
          ),
          { ...this.options, agent: false, method: "GET" },
        );
        current = req;
        let gone = false;
        let buffer = "";
        req.on("error", () => resolve("closed"));
        req.on("response", (res) => {
          if (res.statusCode === 410) gone = true;
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            const at = Date.now();
            buffer += chunk;
            let nl = buffer.indexOf("\n");
            while (nl >= 0) {
              const line = buffer.slice(0, nl);
              buffer = buffer.slice(nl + 1);
              nl = buffer.indexOf("\n");
              if (line.trim() === "") continue;
              let event: { type?: string; object?: T & { code?: number } };
              try {
                event = JSON.parse(line) as typeof event;
              } catch {
                continue;
              }
              const obj = event.object;
              if (obj === undefined) continue;
              if (event.type === "ERROR") {
                if (obj.code === 410) gone = true;
                continue;
              }
              const rv = obj.metadata?.resourceVersion;
              if (rv) resourceVersion = rv;
              if (event.type === "ADDED" || event.type === "MODIFIED") onObject(obj, at);
            }
          });
          res.on("end", () => resolve(gone ? "gone" : "closed"));
          res.on("error", () => resolve(gone ? "gone" : "closed"));
        });
        req.end();
      });
    const ready = relist();
    void ready
      .then(async () => {
        while (!stopped) {
          const outcome = await watchOnce();
          if (stopped) return;
          if (outcome === "gone") await relist().catch(() => sleep(500));
          else await sleep(100);
        }
      })
      .catch(() => {});
    return {
      ready,
      stop: () => {
        stopped = true;
        current?.destroy();
      },
      relists: () => relists,
    };
  }
}

/** Prometheus text exposition → `series: value` (comments dropped). */
export function parsePromText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const cut = line.lastIndexOf(" ");
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

/** Sum of every series of `name` (any labels) whose label text includes all of `having`. */
export function sumSeries(metrics: Map<string, number>, name: string, having: string[] = []): number {
  let total = 0;
  for (const [series, value] of metrics) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (having.every((h) => series.includes(h))) total += value;
  }
  return total;
}
