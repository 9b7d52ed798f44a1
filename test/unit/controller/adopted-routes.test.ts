// The I/O of an adopted route against a fake API server: the spec is read once per generation (the cache
// holds only metadata), the weights go out as a fenced JSON patch with Serin's field manager, conflicts
// become BlockedError naming the field, a test that failed under a concurrent edit is retried, and the
// give-back on deletion never hangs on a route that is no longer Serin's to weigh.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { AdoptedRoutes } from "../../../src/controller/adopted-routes.js";
import type { ClusterCache } from "../../../src/controller/cluster-cache.js";
import { BlockedError } from "../../../src/controller/owned-objects.js";
import type { KubeClients } from "../../../src/kube/client.js";
import type { JsonPatchOp } from "../../../src/router/adopted-route-patch.js";
import { adoptedTarget } from "../../../src/router/adopted-router.js";
import type { RoutingObject } from "../../../src/router/router.js";
import { adoptingCanary, applyJsonPatch, userVirtualService } from "../router/adopted-fixtures.js";

interface Call {
  method: string;
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
}

/** One VirtualService on a fake API server, and an informer cache that lags until `sync()`. */
function world(initial: RoutingObject | undefined = userVirtualService()) {
  let server = initial === undefined ? undefined : structuredClone(initial);
  let cached = server === undefined ? undefined : metadataOnly(server);
  const calls: Call[] = [];
  const rest = {
    async send(method: string, _ref: unknown, opts: Omit<Call, "method"> = {}) {
      calls.push({ method, ...opts });
      if (server === undefined) throw Object.assign(new Error("not found"), { code: 404 });
      if (method === "GET") return structuredClone(server);
      try {
        server = applyJsonPatch(server, opts.body as JsonPatchOp[]);
      } catch (err) {
        throw Object.assign(new Error(`testing value failed: ${(err as Error).message}`), { code: 422 });
      }
      server.metadata.generation = (server.metadata.generation ?? 0) + 1;
      return structuredClone(server);
    },
  };
  const informer = { get: () => cached as KubernetesObject | undefined };
  const cache = { routing: () => informer } as unknown as ClusterCache;
  const routes = new AdoptedRoutes({ rest } as unknown as KubeClients, cache, pino({ level: "silent" }));
  return {
    routes,
    calls,
    /** someone else edits the object (the cache sees it at once) */
    edit(change: (o: RoutingObject) => void, bumpGeneration = true) {
      if (server === undefined) return;
      change(server);
      if (bumpGeneration) server.metadata.generation = (server.metadata.generation ?? 0) + 1;
      cached = metadataOnly(server);
    },
    /** the watch event of the last write arrives */
    sync: () => {
      cached = server === undefined ? undefined : metadataOnly(server);
    },
    /** an edit the cache has not seen yet */
    editBehindCache(change: (o: RoutingObject) => void) {
      if (server) change(server);
    },
    server: () => server,
  };
}

const metadataOnly = (o: RoutingObject) => ({
  apiVersion: o.apiVersion,
  kind: o.kind,
  metadata: { ...o.metadata },
});
type Http = Array<{ name?: string; route: Array<{ weight?: number }> }>;
const http = (o: RoutingObject | undefined): Http => ((o?.spec ?? { http: [] }) as { http: Http }).http;
const canary = adoptingCanary();
const target = (() => {
  const t = adoptedTarget(canary);
  if (t === undefined) throw new Error("no routeRef");
  return t;
})();

describe("AdoptedRoutes", () => {
  it("reads the spec once per generation: status writes and our own write's echo cost no GET", async () => {
    const w = world();
    await w.routes.read(canary, target.ref);
    await w.routes.read(canary, target.ref);
    expect(w.calls.map((c) => c.method)).toEqual(["GET"]);
    w.edit((o) => (o.metadata.resourceVersion = "99"), false); // e.g. istiod's status write
    await w.routes.read(canary, target.ref);
    expect(w.calls.map((c) => c.method)).toEqual(["GET"]);
    await w.routes.write(canary, target, { primaryWeight: 90, canaryWeight: 10 });
    await w.routes.read(canary, target.ref); // before the watch event of the write
    w.sync();
    await w.routes.read(canary, target.ref); // after it
    expect(w.calls.map((c) => c.method)).toEqual(["GET", "PATCH"]);
    w.edit((o) => (o.metadata.labels = { changed: "yes" }));
    await w.routes.read(canary, target.ref);
    expect(w.calls.map((c) => c.method)).toEqual(["GET", "PATCH", "GET"]);
  });

  it("writes only the named route's weights, as a JSON patch with Serin's field manager; no write when set", async () => {
    const w = world();
    await w.routes.write(canary, target, { primaryWeight: 70, canaryWeight: 30 });
    const patch = w.calls.find((c) => c.method === "PATCH");
    expect(patch?.contentType).toBe("application/json-patch+json");
    expect(patch?.query).toEqual({ fieldManager: "serin" });
    const expected = userVirtualService();
    const route = http(expected)[1]?.route ?? [];
    if (route[0]) route[0].weight = 70;
    if (route[1]) route[1].weight = 30;
    expect(w.server()?.spec).toEqual(expected.spec);
    expect(w.server()?.metadata.labels).toEqual(expected.metadata.labels);
    w.sync();
    await w.routes.write(canary, target, { primaryWeight: 70, canaryWeight: 30 });
    expect(w.calls.filter((c) => c.method === "PATCH")).toHaveLength(1);
  });

  it("a renamed route is a BlockedError naming routeRef.routes[0], and nothing is written", async () => {
    const w = world();
    w.edit((o) => {
      const r = http(o)[1];
      if (r) r.name = "renamed";
    });
    const err = await w.routes.write(canary, target, { primaryWeight: 90, canaryWeight: 10 }).catch((e) => e);
    expect(err).toBeInstanceOf(BlockedError);
    expect((err as Error).message).toMatch(
      /^spec\.service\.routeRef\.routes\[0\] "catalog-canary" not found in VirtualService catalog-routes \(http\[\]\.name: internal, renamed, default\)/,
    );
    expect(w.calls.some((c) => c.method === "PATCH")).toBe(false);
  });

  it("a failed test under a concurrent rename is reported as the conflict; under a harmless move it is retried", async () => {
    const renamed = world();
    await renamed.routes.read(canary, target.ref);
    renamed.editBehindCache((o) => {
      const r = http(o)[1];
      if (r) r.name = "renamed";
      o.metadata.generation = (o.metadata.generation ?? 0) + 1;
    });
    const blocked = await renamed.routes
      .write(canary, target, { primaryWeight: 90, canaryWeight: 10 })
      .catch((e) => e);
    expect(blocked).toBeInstanceOf(BlockedError);
    expect(http(renamed.server())[1]?.route[1]?.weight).toBe(0);

    const moved = world();
    await moved.routes.read(canary, target.ref);
    moved.editBehindCache((o) => {
      http(o).unshift({ name: "new-first", route: [{ weight: 100 }] });
      o.metadata.generation = (o.metadata.generation ?? 0) + 1;
    });
    const retry = await moved.routes
      .write(canary, target, { primaryWeight: 90, canaryWeight: 10 })
      .catch((e) => e);
    expect(retry).not.toBeInstanceOf(BlockedError);
    expect((retry as { code?: number }).code).toBe(409);
    moved.sync();
    await moved.routes.write(canary, target, { primaryWeight: 90, canaryWeight: 10 });
    expect(http(moved.server())[2]?.route.map((d) => d.weight)).toEqual([90, 10]);
  });

  it("gives back at 100/0 on deletion; a missing object or a renamed route does not hold the deletion up", async () => {
    const w = world();
    await w.routes.write(canary, target, { primaryWeight: 60, canaryWeight: 40 });
    w.sync();
    expect(await w.routes.giveBack(canary, target)).toEqual([]);
    expect(w.server()?.spec).toEqual(userVirtualService().spec);

    const gone = world(undefined);
    expect(await gone.routes.giveBack(canary, target)).toEqual([]);

    const renamed = world();
    renamed.edit((o) => {
      const r = http(o)[1];
      if (r) r.name = "renamed";
    });
    const skipped = await renamed.routes.giveBack(canary, target);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^spec\.service\.routeRef\.routes\[0\] "catalog-canary" not found/);
  });

  it("forgets a copy with the last Canary that read it", async () => {
    const w = world();
    await w.routes.read(canary, target.ref);
    w.routes.forget("istioinaction/catalog-release");
    await w.routes.read(canary, target.ref);
    expect(w.calls.map((c) => c.method)).toEqual(["GET", "GET"]);
  });
});
