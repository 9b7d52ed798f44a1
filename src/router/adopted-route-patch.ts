// The one write Serin makes to a route it adopted: a JSON patch (RFC 6902) of the weights of the named
// routes' two destinations, fenced by `test` operations on the route's name and on each destination's
// name at the index it was found. Pure.
//
// Why a JSON patch and not server-side apply: Istio's http[] and the Gateway API's rules[] (and their
// route[] / backendRefs[]) are atomic lists (no list-map keys), so an apply configuration holding only
// the weights would replace the whole list, and one holding the whole list would make Serin its
// co-owner. A JSON patch changes exactly the pointed values; the tests make the API server refuse it
// (422) if someone renamed, moved or reshaped the route since Serin read it, instead of weighing
// whatever now sits at that index. No resourceVersion precondition: a label edit or a status write by
// istiod must not fail the write, and the tests already fence everything the weights depend on.
import type { LocatedRoute } from "./adopted-route-locate.js";
import type { ObservedRoutes, RouteWeights } from "./router.js";

export type JsonPatchOp =
  | { op: "test"; path: string; value: string }
  | { op: "add"; path: string; value: number };

/** The patch that gives `routes` the weights, or undefined when every weight is already so (no write). */
export function weightPatch(
  routes: readonly LocatedRoute[],
  weights: RouteWeights,
): JsonPatchOp[] | undefined {
  const ops: JsonPatchOp[] = [];
  for (const route of routes) {
    const sets: JsonPatchOp[] = [];
    // "add" replaces a member that exists and creates one that does not (an Istio weight left out).
    if (route.primary.weight !== weights.primaryWeight)
      sets.push({ op: "add", path: route.primary.weightPath, value: weights.primaryWeight });
    if (route.canary.weight !== weights.canaryWeight)
      sets.push({ op: "add", path: route.canary.weightPath, value: weights.canaryWeight });
    if (sets.length === 0) continue;
    ops.push(
      { op: "test", path: route.namePath, value: route.name },
      { op: "test", path: route.primary.idPath, value: route.primary.id },
      { op: "test", path: route.canary.idPath, value: route.canary.id },
      ...sets,
    );
  }
  return ops.length > 0 ? ops : undefined;
}

/** GetRoutes of an adopted route: the split of the first named route (all of them move together). */
export function adoptedWeights(routes: readonly LocatedRoute[]): ObservedRoutes | { error: string } {
  const first = routes[0];
  if (first === undefined) return { error: "spec.service.routeRef names no route" };
  return {
    primaryWeight: first.primary.weight,
    canaryWeight: first.canary.weight,
    mirrored: first.mirrored,
  };
}
