// Issue 6, credentials: plant random secrets everywhere a user may put one — userinfo in a MetricTemplate
// address and in spec.metricsServer, a MetricTemplate secretRef (token / username / password) and
// headers, webhook URLs with userinfo and ?token=, AlertProviders whose address (inline or in a Secret)
// carries a token — drive the Canaries through failing checks so that error messages are written, then
// grep: no planted value may appear in the Canaries' status, the namespaces' Events, Serin's log or its
// /metrics. The test shows it can fail: the same search finds the values where they belong (the Secret,
// the spec), the checks really failed with errors naming those metrics and hooks, and the servers were
// really called (with the Secret's credentials, when the template names one).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { freePort, sleep } from "../env/processes.js";
import { applyCatalog } from "../support/catalog.js";
import { startUnauthorizedServer, type TestServer } from "../support/fuzz-servers.js";
import { Kubectl } from "../support/kube.js";
import { basicAuth, findPlanted, type Planted, plant } from "../support/secrets-plant.js";
import { type SerinProcess, startSerin } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
const log = (line: string) => process.stdout.write(`[credentials] ${line}\n`);

let serin: SerinProcess;
let unauthorized: TestServer;
let closedPort = 0;

beforeAll(async () => {
  serin = await startSerin({
    name: "serin-credentials",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  });
  unauthorized = await startUnauthorizedServer();
  closedPort = await freePort(); // free a moment ago, nobody listens: connection refused
});
afterAll(async () => {
  await serin?.stop();
  await unauthorized?.close();
});

const apply = (obj: unknown) => k.run(["apply", "-f", "-"], JSON.stringify(obj));

function secret(namespace: string, name: string, data: Record<string, string>) {
  apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "Opaque",
    stringData: data,
  });
}

function metricTemplate(namespace: string, name: string, provider: Record<string, unknown>) {
  apply({
    apiVersion: "serin.dev/v1beta1",
    kind: "MetricTemplate",
    metadata: { name, namespace },
    spec: {
      provider: { type: "prometheus", ...provider },
      query: 'sum(rate(istio_requests_total{destination_workload="{{ target }}"}[{{ interval }}]))',
    },
  });
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

const promoted = (ns: string): Condition | undefined =>
  k.canary(ns, "catalog-release").status?.conditions?.find((c) => c.type === "Promoted");

async function waitForMessage(
  ns: string,
  test: (message: string) => boolean,
  timeoutMs: number,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let message = "";
  while (Date.now() < deadline) {
    message = promoted(ns)?.message ?? "";
    if (test(message)) return message;
    await sleep(500);
  }
  return message;
}

describe("credentials", () => {
  it("never show up in status, Events, Serin's log or /metrics, even when the calls that use them fail", async () => {
    const nsM = k.createNamespace("creds-metrics");
    const nsH = k.createNamespace("creds-hooks");
    const closed = `127.0.0.1:${closedPort}`;
    const u401 = new URL(unauthorized.url).host;

    const P = {
      templatePass: plant("MetricTemplate address password (closed port)", "plantedpass"),
      templatePass401: plant("MetricTemplate address password (401 server)", "plantedpass"),
      metricsServerPass: plant("spec.metricsServer password", "plantedpass"),
      secretToken: plant("MetricTemplate secretRef token"),
      secretUser: plant("MetricTemplate secretRef username", "planteduser"),
      secretPass: plant("MetricTemplate secretRef password", "plantedpass"),
      basicUser: plant("MetricTemplate secretRef (basic only) username", "planteduser"),
      basicPass: plant("MetricTemplate secretRef (basic only) password", "plantedpass"),
      headerToken: plant("MetricTemplate headers X-Api-Key value"),
      hookPass: plant("webhook URL password", "plantedpass"),
      hookToken: plant("webhook URL ?token="),
      hookToken401: plant("webhook URL ?access_token= (401 server)"),
      echoToken: plant("webhook URL ?token= echoed back in the 403 body"),
      echoPass: plant("webhook URL password echoed back in the 403 body", "plantedpass"),
      alertPathToken: plant("AlertProvider Secret address path token"),
      alertQueryToken: plant("AlertProvider inline address ?token="),
      alertPass: plant("AlertProvider inline address password", "plantedpass"),
    } satisfies Record<string, Planted>;
    const planted = Object.values(P);

    // --- Metrics: every credentialed way to reach Prometheus, all failing.
    secret(nsM, "prom-token", {
      token: P.secretToken.value,
      username: P.secretUser.value,
      password: P.secretPass.value,
    });
    secret(nsM, "prom-basic", { username: P.basicUser.value, password: P.basicPass.value });
    metricTemplate(nsM, "mt-closed", { address: `http://planteduser:${P.templatePass.value}@${closed}` });
    metricTemplate(nsM, "mt-userinfo-401", {
      address: `http://planteduser:${P.templatePass401.value}@${u401}/userinfo`,
    });
    metricTemplate(nsM, "mt-token-401", {
      address: `${unauthorized.url}/token`,
      secretRef: { name: "prom-token" },
      headers: { "X-Scope-OrgID": ["tenant-1"], "X-Api-Key": [P.headerToken.value] },
    });
    metricTemplate(nsM, "mt-echo", {
      address: `${unauthorized.url}/echo-json`,
      secretRef: { name: "prom-token" },
    });
    metricTemplate(nsM, "mt-basic-401", {
      address: `${unauthorized.url}/basic`,
      secretRef: { name: "prom-basic" },
    });
    applyCatalog(k, nsM, { interval: "10s", threshold: 3 });
    k.patchCanarySpec(nsM, "catalog-release", {
      metricsServer: `http://planteduser:${P.metricsServerPass.value}@${closed}`,
      analysis: {
        metrics: [
          { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
          { name: "closed-port", templateRef: { name: "mt-closed" }, thresholdRange: { min: 0 } },
          { name: "userinfo-401", templateRef: { name: "mt-userinfo-401" }, thresholdRange: { min: 0 } },
          { name: "token-401", templateRef: { name: "mt-token-401" }, thresholdRange: { min: 0 } },
          { name: "basic-401", templateRef: { name: "mt-basic-401" }, thresholdRange: { min: 0 } },
          { name: "echo-401", templateRef: { name: "mt-echo" }, thresholdRange: { min: 0 } },
        ],
      },
    });

    // --- Webhooks and alerts: credentials in URLs, all failing.
    secret(nsH, "chat-url", {
      address: `http://${closed}/services/T0000/B0000/${P.alertPathToken.value}`,
    });
    apply({
      apiVersion: "serin.dev/v1beta1",
      kind: "AlertProvider",
      metadata: { name: "chat-secret", namespace: nsH },
      spec: { type: "slack", channel: "#releases", secretRef: { name: "chat-url" } },
    });
    apply({
      apiVersion: "serin.dev/v1beta1",
      kind: "AlertProvider",
      metadata: { name: "chat-inline", namespace: nsH },
      spec: {
        type: "slack",
        channel: "#releases",
        address: `http://alertuser:${P.alertPass.value}@${u401}/hooks?token=${P.alertQueryToken.value}`,
      },
    });
    applyCatalog(k, nsH, { interval: "10s", threshold: 2 });
    k.patchCanarySpec(nsH, "catalog-release", {
      analysis: {
        metrics: [],
        alerts: [
          { name: "secret", severity: "info", providerRef: { name: "chat-secret" } },
          { name: "inline", severity: "info", providerRef: { name: "chat-inline" } },
        ],
        webhooks: [
          {
            name: "closed-hook",
            type: "rollout",
            url: `http://hookuser:${P.hookPass.value}@${closed}/hook?token=${P.hookToken.value}&x=1`,
            timeout: "3s",
          },
          {
            name: "unauthorized-hook",
            type: "rollout",
            url: `${unauthorized.url}/gate?access_token=${P.hookToken401.value}`,
            timeout: "3s",
          },
          {
            name: "echo-hook",
            type: "rollout",
            url: `http://hookuser:${P.echoPass.value}@${u401}/echo?token=${P.echoToken.value}`,
            timeout: "3s",
          },
        ],
      },
    });

    await k.waitForPhase(nsM, "catalog-release", ["Initialized"], 60_000);
    await k.waitForPhase(nsH, "catalog-release", ["Initialized"], 60_000);
    for (const ns of [nsM, nsH])
      k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);

    // Wait until the failed checks have been written (and a rollback with its alerts, for the hooks).
    const metricMessage = await waitForMessage(
      nsM,
      (m) =>
        ["closed-port", "userinfo-401", "token-401", "basic-401", "echo-401"].every((n) => m.includes(n)),
      120_000,
    );
    const hookMessage = await waitForMessage(
      nsH,
      (m) => m.includes("closed-hook") && m.includes("unauthorized-hook") && m.includes("echo-hook"),
      120_000,
    );
    await k.waitForPhase(nsH, "catalog-release", ["Failed"], 90_000).catch(() => "");
    await sleep(3_000); // alerts and log lines of the rollback
    log(`metrics condition: ${metricMessage.slice(0, 600)}`);
    log(`hooks condition: ${hookMessage.slice(0, 600)}`);

    // --- The haystacks.
    const statusOf = (ns: string) =>
      JSON.stringify(
        k.json<{ status?: unknown }>(["get", "canary", "catalog-release", "-n", ns]).status ?? {},
        null,
        1,
      );
    const objectsStatus = (ns: string) =>
      JSON.stringify(
        k
          .json<{ items: Array<{ kind: string; metadata: { name: string }; status?: unknown }> }>([
            "get",
            "metrictemplates.serin.dev,alertproviders.serin.dev",
            "-n",
            ns,
          ])
          .items.map((i) => ({ kind: i.kind, name: i.metadata.name, status: i.status })),
      );
    const events = (ns: string) => k.run(["get", "events", "-n", ns, "-o", "json"]);
    const metricsText = await (await fetch(serin.metricsUrl)).text();
    const serinLog = readFileSync(serin.process.logPath, "utf8");
    const haystacks: Record<string, string> = {
      [`canary status ${nsM}`]: statusOf(nsM),
      [`canary status ${nsH}`]: statusOf(nsH),
      [`MetricTemplate/AlertProvider status ${nsM}`]: objectsStatus(nsM),
      [`MetricTemplate/AlertProvider status ${nsH}`]: objectsStatus(nsH),
      [`events ${nsM}`]: events(nsM),
      [`events ${nsH}`]: events(nsH),
      "serin log": serinLog,
      "serin /metrics": metricsText,
    };
    const leaks = findPlanted(planted, haystacks);
    for (const l of leaks) log(`LEAK in ${l.haystack}: ${l.what}: …${l.context}…`);
    const leakSummary = [...new Set(leaks.map((l) => `${l.what} in ${l.haystack}`))];

    // --- The test can fail: the search finds each value where it legitimately is.
    const secretsJson =
      k.run(["get", "secrets", "-n", nsM, "-o", "json"]) + k.run(["get", "secrets", "-n", nsH, "-o", "json"]);
    const specsJson = [nsM, nsH]
      .map((ns) =>
        JSON.stringify(k.json<{ spec: unknown }>(["get", "canary", "catalog-release", "-n", ns]).spec),
      )
      .join("\n");
    const templatesJson = k.run([
      "get",
      "metrictemplates.serin.dev,alertproviders.serin.dev",
      "-A",
      "-o",
      "json",
    ]);
    const legit = {
      secrets: secretsJson,
      "canary specs": specsJson,
      "templates and providers": templatesJson,
    };
    const notFoundWhereStored = planted.filter(
      (p) => !findPlanted([p], legit).some((f) => f.what === p.what),
    );

    // --- The calls really happened, with the Secret's credentials where a template names one.
    const seen = (path: string) => unauthorized.requests.filter((r) => r.url.startsWith(path));
    const tokenAuth = seen("/token").map((r) => r.headers.authorization);
    const basicAuthSeen = seen("/basic").map((r) => r.headers.authorization);
    log(
      `401 server: ${unauthorized.requests.length} requests (${[...new Set(unauthorized.requests.map((r) => r.url.split("?")[0]))].join(", ")}); /token auth ${tokenAuth.length ? (tokenAuth[0] === `Bearer ${P.secretToken.value}` ? "Bearer <secret token>" : "other") : "none"}, /basic auth ${basicAuthSeen[0] === basicAuth(P.basicUser.value, P.basicPass.value) ? "Basic <secret user:pass>" : (basicAuthSeen[0] ?? "none")}, X-Scope-OrgID ${seen("/token")[0]?.headers["x-scope-orgid"] ?? "none"}`,
    );
    log(
      `Serin alive: ${!serin.process.exited()}; leaks: ${leakSummary.length ? leakSummary.join("; ") : "none"}`,
    );

    expect(
      notFoundWhereStored.map((p) => p.what),
      "planted values not found where they are stored",
    ).toEqual([]);
    // Errors did occur, each named after its metric or hook.
    for (const name of ["closed-port", "userinfo-401", "token-401", "basic-401", "echo-401"])
      expect(metricMessage).toContain(name);
    expect(seen("/echo-json").length, "the echoing Prometheus was queried").toBeGreaterThan(0);
    expect(metricMessage).toMatch(/request-success-rate/);
    expect(hookMessage).toContain("closed-hook");
    expect(hookMessage).toContain("unauthorized-hook");
    expect(hookMessage).toMatch(/echo-hook: HTTP 403/);
    expect(seen("/echo").length, "the echoing webhook was called").toBeGreaterThan(0);
    expect(seen("/gate").length, "the 401 webhook was called").toBeGreaterThan(0);
    expect(seen("/userinfo").length, "the userinfo template's server was queried").toBeGreaterThan(0);
    expect(serin.process.exited()).toBe(false);
    // Nothing leaked.
    expect(leakSummary, "planted credentials found").toEqual([]);
    // MetricTemplate secretRef and headers are used (the token wins over username/password, as in Flagger).
    expect(tokenAuth[0], "Authorization sent for secretRef with token").toBe(`Bearer ${P.secretToken.value}`);
    expect(basicAuthSeen[0], "Authorization sent for secretRef with username/password").toBe(
      basicAuth(P.basicUser.value, P.basicPass.value),
    );
    expect(seen("/token")[0]?.headers["x-scope-orgid"]).toBe("tenant-1");
    expect(seen("/token")[0]?.headers["x-api-key"]).toBe(P.headerToken.value);
  });
});
