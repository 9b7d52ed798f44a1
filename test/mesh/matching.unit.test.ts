import { describe, expect, it } from "vitest";
import type { HttpMatchRequest } from "./istio-types.js";
import { isPresenceMatch, matchRequest, type RequestFacts, routeMatches, stringMatches } from "./matching.js";

function req(over: Partial<RequestFacts> = {}): RequestFacts {
  return {
    method: "GET",
    path: "/",
    authority: "catalog",
    scheme: "http",
    headers: {},
    port: 80,
    source: { labels: { app: "webapp" }, namespace: "shop" },
    ...over,
  };
}

describe("StringMatch", () => {
  it("exact is case-sensitive, prefix anchors at the start", () => {
    expect(stringMatches({ exact: "jason" }, "jason")).toBe(true);
    expect(stringMatches({ exact: "jason" }, "Jason")).toBe(false);
    expect(stringMatches({ exact: "jason" }, "jason2")).toBe(false);
    expect(stringMatches({ prefix: "int" }, "internal")).toBe(true);
    expect(stringMatches({ prefix: "int" }, "xinternal")).toBe(false);
  });

  it("regex must match the whole value (RE2 full match, not search)", () => {
    expect(stringMatches({ regex: "v[0-9]+" }, "v12")).toBe(true);
    expect(stringMatches({ regex: "v[0-9]+" }, "xv12")).toBe(false);
    expect(stringMatches({ regex: "v[0-9]+" }, "v12x")).toBe(false);
    expect(stringMatches({ regex: "a|b" }, "ab")).toBe(false);
    expect(stringMatches({ regex: "a|b" }, "b")).toBe(true);
    expect(stringMatches({ regex: "(" }, "(")).toBe(false); // invalid regex never matches
  });

  it("{} and regex '*' are presence checks", () => {
    expect(isPresenceMatch({})).toBe(true);
    expect(isPresenceMatch(null)).toBe(true);
    expect(isPresenceMatch({ regex: "*" })).toBe(true);
    expect(isPresenceMatch({ exact: "" })).toBe(false);
  });
});

describe("HTTPMatchRequest", () => {
  it("headers: exact / prefix / regex, missing header never matches", () => {
    const m: HttpMatchRequest = { headers: { "end-user": { exact: "jason" } } };
    expect(matchRequest(m, req({ headers: { "end-user": "jason" } }))).toBe(true);
    expect(matchRequest(m, req({ headers: { "end-user": "jasonx" } }))).toBe(false);
    expect(matchRequest(m, req())).toBe(false);
    const p: HttpMatchRequest = { headers: { "x-istio-cohort": { prefix: "int" } } };
    expect(matchRequest(p, req({ headers: { "x-istio-cohort": "internal" } }))).toBe(true);
    const r: HttpMatchRequest = { headers: { cookie: { regex: "^(.*?;)?(user=jason)(;.*)?$" } } };
    expect(matchRequest(r, req({ headers: { cookie: "a=1;user=jason;b=2" } }))).toBe(true);
    expect(matchRequest(r, req({ headers: { cookie: "a=1;user=jasonx" } }))).toBe(false);
  });

  it("header names in the match are looked up lower-case", () => {
    const m: HttpMatchRequest = { headers: { "X-Canary": { exact: "1" } } };
    expect(matchRequest(m, req({ headers: { "x-canary": "1" } }))).toBe(true);
  });

  it("presence match on a header", () => {
    const m: HttpMatchRequest = { headers: { "x-debug": {} } };
    expect(matchRequest(m, req({ headers: { "x-debug": "" } }))).toBe(true);
    expect(matchRequest(m, req())).toBe(false);
  });

  it("withoutHeaders inverts, a missing header counting as empty", () => {
    const m: HttpMatchRequest = { withoutHeaders: { "x-canary": { exact: "1" } } };
    expect(matchRequest(m, req())).toBe(true);
    expect(matchRequest(m, req({ headers: { "x-canary": "0" } }))).toBe(true);
    expect(matchRequest(m, req({ headers: { "x-canary": "1" } }))).toBe(false);
    const absent: HttpMatchRequest = { withoutHeaders: { "x-canary": {} } };
    expect(matchRequest(absent, req())).toBe(true);
    expect(matchRequest(absent, req({ headers: { "x-canary": "" } }))).toBe(false);
  });

  it("uri: prefix sees the query, exact and regex do not; ignoreUriCase for exact/prefix", () => {
    expect(matchRequest({ uri: { prefix: "/api" } }, req({ path: "/api/v1?x=1" }))).toBe(true);
    expect(matchRequest({ uri: { exact: "/api" } }, req({ path: "/api?x=1" }))).toBe(true);
    expect(matchRequest({ uri: { exact: "/api" } }, req({ path: "/api/" }))).toBe(false);
    expect(matchRequest({ uri: { regex: "/items/[0-9]+" } }, req({ path: "/items/42?q" }))).toBe(true);
    expect(matchRequest({ uri: { regex: "/items/[0-9]+" } }, req({ path: "/items/42/x" }))).toBe(false);
    expect(matchRequest({ uri: { prefix: "/API" }, ignoreUriCase: true }, req({ path: "/api/v1" }))).toBe(
      true,
    );
    expect(matchRequest({ uri: { prefix: "/API" } }, req({ path: "/api/v1" }))).toBe(false);
  });

  it("method, authority and query parameters", () => {
    expect(matchRequest({ method: { exact: "POST" } }, req({ method: "POST" }))).toBe(true);
    expect(matchRequest({ method: { exact: "POST" } }, req())).toBe(false);
    expect(matchRequest({ authority: { prefix: "catalog" } }, req({ authority: "catalog.shop:80" }))).toBe(
      true,
    );
    const q: HttpMatchRequest = { queryParams: { beta: { exact: "true" } } };
    expect(matchRequest(q, req({ path: "/x?a=1&beta=true" }))).toBe(true);
    expect(matchRequest(q, req({ path: "/x?beta=false" }))).toBe(false);
    expect(matchRequest(q, req({ path: "/x" }))).toBe(false);
    expect(matchRequest({ queryParams: { id: { regex: "\\d+" } } }, req({ path: "/?id=123" }))).toBe(true);
    expect(matchRequest({ queryParams: { id: { regex: "\\d+" } } }, req({ path: "/?id=a123" }))).toBe(false);
  });

  it("fields inside one entry are AND'ed", () => {
    const m: HttpMatchRequest = { uri: { prefix: "/ratings" }, headers: { "end-user": { exact: "jason" } } };
    expect(matchRequest(m, req({ path: "/ratings/1", headers: { "end-user": "jason" } }))).toBe(true);
    expect(matchRequest(m, req({ path: "/ratings/1" }))).toBe(false);
    expect(matchRequest(m, req({ path: "/other", headers: { "end-user": "jason" } }))).toBe(false);
  });

  it("sourceLabels must be a subset of the caller's labels; sourceNamespace must equal", () => {
    const m: HttpMatchRequest = { sourceLabels: { app: "webapp" } };
    expect(matchRequest(m, req())).toBe(true);
    expect(matchRequest(m, req({ source: { labels: { app: "loadtester" }, namespace: "shop" } }))).toBe(
      false,
    );
    expect(matchRequest(m, req({ source: { labels: {}, namespace: "shop" } }))).toBe(false);
    const both: HttpMatchRequest = { sourceLabels: { app: "webapp", version: "v1" } };
    expect(matchRequest(both, req())).toBe(false);
    expect(matchRequest({ sourceNamespace: "shop" }, req())).toBe(true);
    expect(matchRequest({ sourceNamespace: "other" }, req())).toBe(false);
  });

  it("match.gateways without mesh never applies to sidecars, and overrides sourceLabels", () => {
    expect(matchRequest({ gateways: ["istio-system/ingress"] }, req())).toBe(false);
    expect(matchRequest({ gateways: ["mesh"], sourceLabels: { app: "nope" } }, req())).toBe(true);
  });

  it("port must equal the addressed service port", () => {
    expect(matchRequest({ port: 80 }, req())).toBe(true);
    expect(matchRequest({ port: 9080 }, req())).toBe(false);
  });

  it("match entries are OR'ed; no entries match everything", () => {
    const entries: HttpMatchRequest[] = [
      { headers: { a: { exact: "1" } } },
      { headers: { b: { exact: "2" } } },
    ];
    expect(routeMatches(entries, req({ headers: { b: "2" } }))).toEqual({ matched: true, entry: entries[1] });
    expect(routeMatches(entries, req()).matched).toBe(false);
    expect(routeMatches(undefined, req()).matched).toBe(true);
    expect(routeMatches([], req()).matched).toBe(true);
  });
});
