import { describe, expect, it } from "vitest";
import { networkErrorDetail } from "../../../src/net/error-detail.js";
import { redact, urlOrigin } from "../../../src/net/redact.js";
import { basicAuthorization, splitUserinfo } from "../../../src/net/url-credentials.js";

describe("redact", () => {
  it("removes userinfo from URLs, also with an unencoded @ in the password", () => {
    expect(redact("Prometheus http://user:s3cret@127.0.0.1:1/ unreachable")).toBe(
      "Prometheus http://***@127.0.0.1:1/ unreachable",
    );
    expect(redact("https://admin:p@ss@prom.example:9090/api")).toBe("https://***@prom.example:9090/api");
    expect(redact("https://token-only@host")).toBe("https://***@host");
    expect(redact("see http://host/path?x=a@b and mail@example.com")).toBe(
      "see http://host/path?x=a@b and mail@example.com",
    );
  });

  it("masks Authorization values, bearer tokens and basic credentials", () => {
    expect(redact("Authorization: Bearer abc.def.ghi")).toBe("Authorization: Bearer ***");
    expect(redact('{"authorization":"Basic dXNlcjpwYXNz"}')).toBe('{"authorization":"Basic ***"}');
    expect(redact("proxy-authorization=xyz123")).toBe("proxy-authorization=***");
    expect(redact("sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")).toBe("sent Bearer ***");
    expect(redact("header Basic dXNlcjpzM2NyZXQ=")).toBe("header Basic ***");
    expect(redact("X-Api-Key: k-123")).toBe("X-Api-Key: ***");
  });

  it("keeps ordinary prose readable", () => {
    expect(redact("bearer token required")).toBe("bearer token required");
    expect(redact("basic authentication failed")).toBe("basic authentication failed");
    expect(redact("query failed: bad_data: 1:5: parse error: unclosed left parenthesis")).toBe(
      "query failed: bad_data: 1:5: parse error: unclosed left parenthesis",
    );
  });

  it("masks secret query parameters and quoted fields", () => {
    expect(redact("https://h/api?token=abc&x=1&password=p4ss#f")).toBe(
      "https://h/api?token=***&x=1&password=***#f",
    );
    expect(redact("GET /q?apikey=K&api_key=K2&access_token=T")).toBe(
      "GET /q?apikey=***&api_key=***&access_token=***",
    );
    expect(redact(`{"password": "hunter2", "user": "bob"}`)).toBe(`{"password": "***", "user": "bob"}`);
    expect(redact(`token='t0k' pwd="a b"`)).toBe(`token='***' pwd="***"`);
    expect(redact("password: hunter2, user: bob")).toBe("password: ***, user: bob");
  });

  it("urlOrigin keeps scheme and host only (webhook paths are secrets too)", () => {
    expect(urlOrigin("https://user:pw@hooks.slack.com/services/T/B/XXXX?x=1")).toBe(
      "https://hooks.slack.com",
    );
    expect(urlOrigin("not a url")).toBe("(invalid URL)");
  });

  it("network error details are redacted", () => {
    expect(networkErrorDetail(new Error("connect to http://u:s3cret@h failed"))).toBe(
      "connect to http://***@h failed",
    );
    expect(networkErrorDetail("token=abc")).toBe("token=***");
  });
});

describe("splitUserinfo", () => {
  it("moves user:pass out of the URL into a Basic authorization", () => {
    expect(splitUserinfo("http://user:s3cret@127.0.0.1:9090")).toEqual({
      address: "http://127.0.0.1:9090",
      authorization: basicAuthorization("user", "s3cret"),
    });
    expect(splitUserinfo("https://a%40b:p%3Aw@prom/sub/")).toEqual({
      address: "https://prom/sub/",
      authorization: basicAuthorization("a@b", "p:w"),
    });
    expect(splitUserinfo("http://prom:9090")).toEqual({ address: "http://prom:9090" });
    expect(splitUserinfo("garbage")).toEqual({ address: "garbage" });
  });
});
