import { describe, expect, it } from "vitest";
import {
  buildSetCookie,
  cookieMatch,
  nextSessionCookies,
  randomCookieValue,
} from "../../../src/router/istio-session-affinity.js";
import { buildVirtualService, readWeights } from "../../../src/router/istio-virtual-service.js";
import { podinfoCanary } from "./fixtures.js";

const affinity = { cookieName: "flagger-cookie", maxAge: 21600 };
const sticky = (status = {}) =>
  podinfoCanary({ analysis: { interval: "1m", stepWeight: 10, sessionAffinity: affinity }, status });
const mint = () => "abcdefghij";

describe("nextSessionCookies", () => {
  it("mints a canary cookie when traffic starts and keeps it for the run", () => {
    expect(nextSessionCookies(sticky(), 10, mint)).toEqual({ canary: "flagger-cookie=abcdefghij" });
    const running = sticky({ sessionAffinityCookie: "flagger-cookie=keepme" });
    expect(nextSessionCookies(running, 20, mint)).toEqual({ canary: "flagger-cookie=keepme" });
  });

  it("retires the run's cookie when the canary weight drops to 0", () => {
    const running = sticky({ sessionAffinityCookie: "flagger-cookie=keepme" });
    expect(nextSessionCookies(running, 0, mint)).toEqual({ previous: "flagger-cookie=keepme" });
    const finished = sticky({ previousSessionAffinityCookie: "flagger-cookie=old" });
    expect(nextSessionCookies(finished, 0, mint)).toEqual({ previous: "flagger-cookie=old" });
  });

  it("mints a primary cookie when primaryCookieName is set", () => {
    const canary = podinfoCanary({
      analysis: {
        interval: "1m",
        stepWeight: 10,
        sessionAffinity: { ...affinity, primaryCookieName: "primary-cookie" },
      },
    });
    expect(nextSessionCookies(canary, 10, mint)).toEqual({
      canary: "flagger-cookie=abcdefghij",
      primary: "primary-cookie=abcdefghij",
    });
  });

  it("random values are 10 letters", () => {
    expect(randomCookieValue()).toMatch(/^[a-zA-Z]{10}$/);
  });
});

describe("session affinity routes", () => {
  it("sends cookie holders to the canary and sets the cookie on canary responses", () => {
    const canary = sticky();
    const vs = buildVirtualService(canary, {
      primaryWeight: 90,
      canaryWeight: 10,
      cookies: { canary: "flagger-cookie=abcdefghij" },
    });
    const [stickyRoute, weighted, ...rest] = vs.spec.http ?? [];
    expect(rest).toEqual([]);
    expect(stickyRoute?.name).toBe("sticky-route");
    expect(stickyRoute?.match).toEqual([
      { headers: { Cookie: { regex: ".*flagger-cookie.*abcdefghij.*" } } },
    ]);
    expect(stickyRoute?.route).toEqual([
      { destination: { host: "podinfo-primary" }, weight: 0 },
      { destination: { host: "podinfo-canary" }, weight: 100 },
    ]);
    expect(weighted?.route?.[1]).toEqual({
      destination: { host: "podinfo-canary" },
      weight: 10,
      headers: { response: { add: { "Set-Cookie": "flagger-cookie=abcdefghij; Max-Age=21600" } } },
    });
    expect(weighted?.route?.[0]?.headers).toBeUndefined();
    expect(readWeights(vs, canary)).toEqual({ primaryWeight: 90, canaryWeight: 10, mirrored: false });
  });

  it("pins primary users too with primaryCookieName (cookie lives one interval)", () => {
    const canary = podinfoCanary({
      analysis: {
        interval: "45s",
        stepWeight: 10,
        sessionAffinity: { cookieName: "c", primaryCookieName: "p" },
      },
    });
    const vs = buildVirtualService(canary, {
      primaryWeight: 80,
      canaryWeight: 20,
      cookies: { canary: "c=1", primary: "p=2" },
    });
    const [toCanary, toPrimary, weighted] = vs.spec.http ?? [];
    expect(toCanary?.route?.[1]?.weight).toBe(100);
    expect(toPrimary?.match).toEqual([{ headers: { Cookie: { regex: ".*p.*2.*" } } }]);
    expect(toPrimary?.route?.[0]).toEqual({ destination: { host: "podinfo-primary" }, weight: 100 });
    expect(weighted?.route?.[0]?.headers).toEqual({ response: { add: { "Set-Cookie": "p=2; Max-Age=45" } } });
    expect(weighted?.route?.[1]?.headers).toEqual({
      response: { add: { "Set-Cookie": "c=1; Max-Age=86400" } },
    });
  });

  it("expires the previous cookie once the run is over, without leaking Set-Cookie into service headers", () => {
    const canary = podinfoCanary({
      service: { headers: { response: { add: { "x-served-by": "podinfo" } } } },
      analysis: { interval: "1m", stepWeight: 10, sessionAffinity: affinity },
    });
    const vs = buildVirtualService(canary, {
      primaryWeight: 100,
      canaryWeight: 0,
      cookies: { previous: "flagger-cookie=old" },
    });
    const [expire, weighted] = vs.spec.http ?? [];
    expect(expire?.headers?.response?.add).toEqual({
      "x-served-by": "podinfo",
      "Set-Cookie": "flagger-cookie=old; Max-Age=-1",
    });
    expect(weighted?.headers).toEqual({ response: { add: { "x-served-by": "podinfo" } } });
    expect(readWeights(vs, canary)).toEqual({ primaryWeight: 100, canaryWeight: 0, mirrored: false });
  });

  it("falls back to a plain split before any cookie exists", () => {
    const vs = buildVirtualService(sticky(), { primaryWeight: 100, canaryWeight: 0 });
    expect(vs.spec.http).toHaveLength(1);
  });

  it("builds Set-Cookie with the configured attributes", () => {
    expect(
      buildSetCookie("c=v", {
        cookieName: "c",
        maxAge: 60,
        domain: "example.com",
        path: "/app",
        httpOnly: true,
        secure: true,
        partitioned: true,
        sameSite: "Strict",
      }),
    ).toBe("c=v; Max-Age=60; Domain=example.com; Path=/app; HttpOnly; Secure; Partitioned; SameSite=Strict");
  });

  it("escapes regex metacharacters in cookie names", () => {
    expect(cookieMatch("my.cookie=a+b")).toEqual({
      headers: { Cookie: { regex: ".*my\\.cookie.*a\\+b.*" } },
    });
  });
});
