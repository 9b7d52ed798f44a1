// MetricTemplate spec.provider.secretRef / headers / insecureSkipVerify and spec.metricsServer
// userinfo, against real local Prometheus look-alikes: what is sent, what fails and how, and that no
// credential ever appears in a result.
import { describe, expect, it } from "vitest";
import type { CanaryMetric } from "../../../src/api/canary.js";
import { type MetricTemplate, MetricTemplateSchema } from "../../../src/api/metric-template.js";
import { PrometheusClientCache } from "../../../src/metrics/client-cache.js";
import { PrometheusClient } from "../../../src/metrics/prometheus-client.js";
import { type CheckContext, runMetricChecks } from "../../../src/metrics/run-checks.js";
import type { SecretReader } from "../../../src/metrics/secret-data.js";
import { decodeSecretData } from "../../../src/metrics/secret-data.js";
import { basicAuthorization } from "../../../src/net/url-credentials.js";
import { catalogSpec } from "../core/sim.js";
import { selfSignedCert } from "../net/tls-fixture.js";
import { closedAddress, fakePrometheusServers, type Handler, vector } from "./fake-prometheus.js";

const serve = fakePrometheusServers();

/** Answers 1 only with the expected header value, 401 otherwise (as an auth proxy in front of Prometheus). */
const requiring =
  (header: string, value: string): Handler =>
  (_q, req) =>
    req.headers[header] === value ? { json: vector("1") } : { status: 401, text: "Unauthorized" };

function template(provider: Record<string, unknown>): MetricTemplate {
  return MetricTemplateSchema.parse({
    apiVersion: "serin.dev/v1beta1",
    kind: "MetricTemplate",
    metadata: { name: "secured", namespace: "monitoring" },
    spec: { provider: { type: "prometheus", ...provider }, query: 'sum(up{ns="{{ namespace }}"})' },
  });
}

const metric: CanaryMetric = {
  name: "secured metric",
  templateRef: { name: "secured", namespace: "monitoring" },
  thresholdRange: { min: 1 },
  interval: "1m",
};

function context(
  tmpl: MetricTemplate,
  secrets: Record<string, Record<string, string>> = {},
  extra: Partial<CheckContext> = {},
): CheckContext & { secretReads: string[] } {
  const secretReads: string[] = [];
  const readSecret: SecretReader = async (namespace, name) => {
    secretReads.push(`${namespace}/${name}`);
    return secrets[`${namespace}/${name}`];
  };
  return {
    name: "catalog-release",
    namespace: "test",
    spec: catalogSpec({ analysis: { metrics: [metric] } }),
    defaultPrometheus: new PrometheusClient({ address: "http://127.0.0.1:1" }),
    findTemplate: () => tmpl,
    readSecret,
    clients: new PrometheusClientCache(),
    secretReads,
    ...extra,
  };
}

const one = async (ctx: CheckContext) => {
  const [r] = await runMetricChecks(ctx);
  if (!r) throw new Error("no result");
  return r;
};

describe("MetricTemplate secretRef", () => {
  it("username and password from the Secret (template's namespace) become basic auth", async () => {
    const prom = await serve(requiring("authorization", basicAuthorization("reader", "s3cret-pw")));
    const ctx = context(template({ address: prom.address, secretRef: { name: "prom-auth" } }), {
      "monitoring/prom-auth": { username: "reader", password: "s3cret-pw\n" },
    });
    expect(await one(ctx)).toMatchObject({ value: 1 });
    expect(ctx.secretReads).toEqual(["monitoring/prom-auth"]);
  });

  it("token becomes a bearer token (and wins over username/password, as in Flagger)", async () => {
    const prom = await serve(requiring("authorization", "Bearer tok-123"));
    const ctx = context(template({ address: prom.address, secretRef: { name: "prom-auth" } }), {
      "monitoring/prom-auth": { token: "tok-123", username: "x", password: "y" },
    });
    expect(await one(ctx)).toMatchObject({ value: 1 });
  });

  it("a missing Secret is a failed check naming the template, the Secret and what to put in it", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const r = await one(context(template({ address: prom.address, secretRef: { name: "prom-auth" } })));
    expect(r.value).toBeUndefined();
    expect(r.error).toBe(
      "Secret prom-auth (namespace monitoring, spec.provider.secretRef of MetricTemplate secured.monitoring) not found: create it with the keys username and password, or token",
    );
    expect(prom.requests).toEqual([]);
  });

  it("a missing key is a failed check naming the key", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const tmpl = template({ address: prom.address, secretRef: { name: "prom-auth" } });
    const noUser = await one(context(tmpl, { "monitoring/prom-auth": { password: "s3cret-pw" } }));
    expect(noUser.error).toMatch(/Secret prom-auth .* has no key "username" \(nor "token"\)/);
    const noPassword = await one(context(tmpl, { "monitoring/prom-auth": { username: "reader" } }));
    expect(noPassword.error).toMatch(/Secret prom-auth .* has no key "password"/);
    expect(JSON.stringify([noUser, noPassword])).not.toContain("s3cret-pw");
    expect(prom.requests).toEqual([]);
  });

  it("a Secret that cannot be read, or no reader at all, is a failed check", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const tmpl = template({ address: prom.address, secretRef: { name: "prom-auth" } });
    const failing = await one(
      context(
        tmpl,
        {},
        {
          readSecret: async () => {
            throw new Error("forbidden: Authorization: Bearer sa-tok-777");
          },
        },
      ),
    );
    expect(failing.error).toMatch(
      /^cannot read Secret prom-auth .*: forbidden: Authorization: Bearer \*\*\*$/,
    );
    expect(failing.error).not.toContain("sa-tok-777");
    const unwired = await one(context(tmpl, {}, { readSecret: undefined }));
    expect(unwired.error).toMatch(/^cannot read Secret prom-auth .*: no Secret reader configured/);
  });

  it("credentials need the template's own address (never sent to the default Prometheus)", async () => {
    const r = await one(
      context(template({ secretRef: { name: "prom-auth" } }), { "monitoring/prom-auth": { token: "t" } }),
    );
    expect(r.error).toBe(
      "MetricTemplate secured.monitoring: secretRef, headers and insecureSkipVerify need spec.provider.address",
    );
  });
});

describe("MetricTemplate headers", () => {
  it("adds each header (several values joined) to the query", async () => {
    const prom = await serve(requiring("x-scope-orgid", "team-a"));
    const ctx = context(
      template({ address: prom.address, headers: { "X-Scope-OrgID": ["team-a"], "X-Multi": ["a", "b"] } }),
    );
    expect(await one(ctx)).toMatchObject({ value: 1 });
    expect(prom.requests[0]?.headers["x-multi"]).toBe("a, b");
  });

  it("an invalid header is a failed check that does not print its value", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const r = await one(
      context(template({ address: prom.address, headers: { "X-Token": ["tok\r\nInjected: 1"] } })),
    );
    expect(r.error).toBe(
      'MetricTemplate secured.monitoring: spec.provider.headers["X-Token"] has a line break in its value',
    );
    expect(prom.requests).toEqual([]);
  });

  it("the Secret's credentials replace an Authorization header written in the template", async () => {
    const prom = await serve(requiring("authorization", "Bearer from-secret"));
    const ctx = context(
      template({
        address: prom.address,
        headers: { authorization: ["Bearer from-template"] },
        secretRef: { name: "prom-auth" },
      }),
      { "monitoring/prom-auth": { token: "from-secret" } },
    );
    expect(await one(ctx)).toMatchObject({ value: 1 });
  });
});

describe("MetricTemplate insecureSkipVerify", () => {
  it("a self-signed https Prometheus fails verification unless insecureSkipVerify is set", async () => {
    const prom = await serve(() => ({ json: vector("1") }), selfSignedCert());
    const verified = await one(context(template({ address: prom.address })));
    expect(verified.value).toBeUndefined();
    expect(verified.error).toMatch(/unreachable: (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED|UNABLE_TO_VERIFY)/);
    const skipped = await one(context(template({ address: prom.address, insecureSkipVerify: true })));
    expect(skipped).toMatchObject({ value: 1 });
  });
});

describe("client cache", () => {
  it("reuses a client per address, credentials and TLS setting, and never shares across credentials", () => {
    const cache = new PrometheusClientCache(2);
    const a = cache.get({ address: "http://p:9090", authorization: "Bearer a" });
    expect(cache.get({ address: "http://p:9090", authorization: "Bearer a" })).toBe(a);
    expect(cache.get({ address: "http://p:9090", authorization: "Bearer b" })).not.toBe(a);
    expect(
      cache.get({ address: "http://p:9090", authorization: "Bearer a", insecureSkipVerify: true }),
    ).not.toBe(a);
    expect(cache.size).toBe(2);
  });
});

describe("addresses with userinfo (spec.metricsServer, template address)", () => {
  it("uses user:pass as basic auth and never prints it", async () => {
    const prom = await serve(requiring("authorization", basicAuthorization("admin", "s3cret")));
    const withUserinfo = prom.address.replace("http://", "http://admin:s3cret@");
    const client = new PrometheusClient({ address: withUserinfo });
    expect(await client.query("up")).toEqual({ ok: true, value: 1 });
    expect(client.address).toBe(prom.address);
    const dead = (await closedAddress()).replace("http://", "http://admin:s3cret@");
    const answer = await new PrometheusClient({ address: dead }).query("up");
    expect(answer.ok).toBe(false);
    expect(JSON.stringify(answer)).not.toContain("s3cret");
    expect(JSON.stringify(answer)).toContain("ECONNREFUSED");
  });

  it("planted credentials never appear in any check result", async () => {
    const ctx = context(
      template({ address: "http://user:s3cret@127.0.0.1:1/?token=tok-abc" }),
      {},
      {
        defaultPrometheus: new PrometheusClient({ address: "http://user:s3cret@127.0.0.1:1/" }),
        spec: catalogSpec({
          analysis: {
            metrics: [metric, { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" }],
          },
        }),
      },
    );
    const results = await runMetricChecks(ctx);
    expect(results).toHaveLength(2);
    for (const r of results) expect(r.error).toBeDefined();
    expect(JSON.stringify(results)).not.toMatch(/s3cret|tok-abc/);
  });
});

describe("abort", () => {
  it("an abort ends hanging queries within ~100 ms as 'aborted' results", async () => {
    const prom = await serve(() => "hang");
    const ac = new AbortController();
    const ctx = context(
      template({ address: prom.address }),
      {},
      {
        defaultPrometheus: new PrometheusClient({ address: prom.address, timeoutMs: 60_000 }),
        signal: ac.signal,
        spec: catalogSpec({
          analysis: {
            metrics: [metric, { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" }],
          },
        }),
      },
    );
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const results = await runMetricChecks(ctx);
    expect(Date.now() - started).toBeLessThan(100 + 100);
    expect(results.map((r) => r.error)).toEqual([
      `Prometheus ${prom.address}: aborted`,
      `Prometheus ${prom.address}: aborted`,
    ]);
  });

  it("an already aborted signal sends no query", async () => {
    const prom = await serve(() => ({ json: vector("1") }));
    const ac = new AbortController();
    ac.abort();
    const r = await one(context(template({ address: prom.address }), {}, { signal: ac.signal }));
    expect(r.error).toBe("metric check aborted");
    expect(prom.requests).toEqual([]);
  });
});

describe("decodeSecretData", () => {
  it("decodes base64 data and lets stringData win", () => {
    expect(
      decodeSecretData({
        data: {
          username: Buffer.from("reader").toString("base64"),
          token: Buffer.from("x").toString("base64"),
        },
        stringData: { token: "y" },
      }),
    ).toEqual({ username: "reader", token: "y" });
  });
});
