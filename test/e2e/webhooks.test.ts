// Flagger's webhooks on the real cluster: a load-test hook is called before every check, and a
// confirm-promotion gate holds the canary at its last weight until a person approves.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, image, webappTraffic } from "../support/catalog.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-webhooks",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

let gate: Server;
let gateUrl = "";
let approved = false;
const calls: Array<{ path: string; phase: string; name: string }> = [];
interface SlackBody {
  channel?: string;
  attachments?: Array<{ author_name: string; text: string }>;
}
const alerts: Array<{ channel: string; body: SlackBody }> = [];
beforeAll(async () => {
  gate = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      const payload = JSON.parse(body || "{}") as { phase?: string; name?: string };
      calls.push({ path: req.url ?? "", phase: payload.phase ?? "", name: payload.name ?? "" });
      if (req.url?.startsWith("/chat/"))
        alerts.push({ channel: req.url, body: JSON.parse(body || "{}") as SlackBody });
      if (req.url === "/approve")
        res.writeHead(approved ? 200 : 403).end(approved ? "approved" : "waiting for the release manager");
      else res.writeHead(200).end("load test ok");
    });
  });
  await new Promise<void>((r) => gate.listen(0, "127.0.0.1", r));
  gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
});
afterAll(() => {
  gate.closeAllConnections();
  gate.close();
});

describe("webhooks", () => {
  it("calls the load test before each check and waits at 50% for promotion approval", async () => {
    const ns = k.createNamespace("hooks");
    applyCatalog(k, ns, { interval: "10s" });
    for (const [name, path] of [
      ["chat-all", "/chat/all"],
      ["chat-errors", "/chat/errors"],
    ]) {
      const provider = { type: "slack", channel: "#releases", address: `${gateUrl}${path}` };
      k.run(
        ["apply", "-n", ns, "-f", "-"],
        JSON.stringify({
          apiVersion: "serin.dev/v1beta1",
          kind: "AlertProvider",
          metadata: { name },
          spec: provider,
        }),
      );
    }
    k.patchCanarySpec(ns, "catalog-release", {
      analysis: {
        alerts: [
          { name: "releases", severity: "info", providerRef: { name: "chat-all" } },
          { name: "on-call", severity: "error", providerRef: { name: "chat-errors" } },
        ],
        webhooks: [
          {
            name: "load-test",
            url: `${gateUrl}/load`,
            timeout: "5s",
            metadata: { cmd: "hey -z 1m -q 10 http://catalog" },
          },
          { name: "release-manager", type: "confirm-promotion", url: `${gateUrl}/approve` },
        ],
      },
    });
    await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    await k.waitForPhase(ns, "catalog-release", ["WaitingPromotion"], 180_000);
    const waiting = k.canary(ns, "catalog-release").status;
    expect(waiting?.canaryWeight).toBe(50);
    expect(waiting?.conditions?.find((c) => c.type === "Promoted")?.message).toContain(
      "waiting for the release manager",
    );
    // Held: another interval passes and nothing is promoted; the checks (and the load test) go on.
    const loadCallsBefore = calls.filter((c) => c.path === "/load").length;
    await sleep(12_000);
    expect(k.canary(ns, "catalog-release").status?.phase).toBe("WaitingPromotion");
    expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v1");
    expect(calls.filter((c) => c.path === "/load").length).toBeGreaterThan(loadCallsBefore);

    approved = true;
    expect(await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 60_000)).toBe("Succeeded");
    await traffic.stop();
    expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
    const load = calls.filter((c) => c.path === "/load");
    // One load-test call before each of the checks at 10, 20, 30, 40, 50 (and more while waiting).
    expect(load.length).toBeGreaterThanOrEqual(5);
    expect(load.every((c) => c.name === "catalog-release" && c.phase !== "")).toBe(true);

    // Alerts in Slack's format: the run's start, the wait for approval and the success; nothing for on-call.
    await sleep(1_000);
    const texts = alerts
      .filter((a) => a.channel === "/chat/all")
      .map((a) => a.body.attachments?.[0]?.text ?? "");
    expect(texts.some((t) => t.includes("New revision detected"))).toBe(true);
    expect(texts.some((t) => t.includes("waiting for promotion approval"))).toBe(true);
    expect(texts.some((t) => t.includes("Promotion completed"))).toBe(true);
    expect(texts.some((t) => t.includes("canary weight 20"))).toBe(false);
    expect(alerts.find((a) => a.channel === "/chat/all")?.body.channel).toBe("#releases");
    expect(alerts.filter((a) => a.channel === "/chat/errors")).toEqual([]);
  });
});
