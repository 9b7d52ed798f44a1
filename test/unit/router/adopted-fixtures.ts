// A user's own route objects for the adoption tests (spec.service.routeRef): three routes, of which only
// the one named in routeRef is Serin's to weigh, and a small RFC 6902 applier for the ops Serin sends.
import type { Canary } from "../../../src/api/canary.js";
import type { JsonPatchOp } from "../../../src/router/adopted-route-patch.js";
import type { RoutingObject } from "../../../src/router/router.js";
import { catalogCanary } from "./fixtures.js";

/** The catalog Canary adopting `name`'s routes (istio), without the fields routeRef refuses. */
export function adoptingCanary(
  routes: string[] = ["catalog-canary"],
  kind: "VirtualService" | "HTTPRoute" = "VirtualService",
): Canary {
  const canary = catalogCanary({
    service: { gateways: undefined, hosts: undefined, routeRef: { kind, name: "catalog-routes", routes } },
    analysis: { interval: "10s", threshold: 5, maxWeight: 50, stepWeight: 10 },
    ...(kind === "HTTPRoute" ? { spec: { provider: "gatewayapi:v1" } } : {}),
  });
  return canary;
}

/** The user's VirtualService: internal users pinned to the primary, the webapp split, a default route. */
export function userVirtualService(): RoutingObject {
  return {
    apiVersion: "networking.istio.io/v1beta1",
    kind: "VirtualService",
    metadata: {
      name: "catalog-routes",
      namespace: "istioinaction",
      uid: "vs-uid",
      generation: 3,
      labels: { team: "shop" },
      annotations: { "argocd.argoproj.io/tracking-id": "shop:networking.istio.io/VirtualService:x" },
    },
    spec: {
      hosts: ["catalog"],
      gateways: ["mesh"],
      http: [
        {
          name: "internal",
          match: [{ headers: { "x-internal": { exact: "true" } } }],
          route: [{ destination: { host: "catalog-primary" } }],
        },
        {
          name: "catalog-canary",
          match: [{ sourceLabels: { app: "webapp" } }],
          route: [
            { destination: { host: "catalog-primary" }, weight: 100 },
            { destination: { host: "catalog-canary.istioinaction.svc.cluster.local" }, weight: 0 },
          ],
          timeout: "2s",
        },
        { name: "default", route: [{ destination: { host: "catalog-primary" } }] },
      ],
    },
  };
}

/** The user's HTTPRoute: a header rule to the primary, the split rule, a default rule. */
export function userHttpRoute(): RoutingObject {
  const ref = (name: string, weight: number) => ({ group: "", kind: "Service", name, port: 80, weight });
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "catalog-routes", namespace: "istioinaction", uid: "route-uid", generation: 1 },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "catalog", port: 80 }],
      rules: [
        {
          name: "internal",
          matches: [{ headers: [{ type: "Exact", name: "x-internal", value: "true" }] }],
          backendRefs: [ref("catalog-primary", 1)],
        },
        {
          name: "catalog-canary",
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: [ref("catalog-canary", 0), ref("catalog-primary", 100)],
        },
        { name: "default", backendRefs: [ref("catalog-primary", 1)] },
      ],
    },
  };
}

/** Applies the ops Serin sends ("test", "add") as RFC 6902 says; throws where the API server answers 422. */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  const out = structuredClone(doc) as unknown;
  for (const op of ops) {
    const keys = op.path.split("/").slice(1);
    const last = keys.pop();
    let parent: unknown = out;
    for (const key of keys) parent = (parent as Record<string, unknown>)[key];
    if (typeof parent !== "object" || parent === null || last === undefined)
      throw new Error(`no parent at ${op.path}`);
    const holder = parent as Record<string, unknown>;
    if (op.op === "test") {
      if (holder[last] !== op.value) throw new Error(`test failed at ${op.path}`);
    } else {
      holder[last] = op.value;
    }
  }
  return out as T;
}
