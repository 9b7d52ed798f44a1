// The live dashboard (docs/cli.md, "Dashboard") in a real browser: the built `kubectl serin dashboard` as its
// own process with the admin's kubeconfig, Debian's chromium driven by playwright-core, a real catalog
// release. The page must show the weight moving within 2 s of each status change (measured against an API
// watch), the Abort button must roll the release back, and a user without `patch` must see the refusal.
// Screenshots go to test/output/ (gitignored) for people to look at.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { CanaryStatus } from "../../src/api/canary.js";
import { sleep } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";
import { applyCatalog, webappTraffic } from "../support/catalog.js";
import { viewerKubeconfig } from "../support/cli.js";
import { Kubectl } from "../support/kube.js";
import { ObjectWatch } from "../support/object-watch.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-dashboard",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

const NAME = "catalog-release";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUTPUT = join(repoRoot, "test", "output");
/** The promise: the page shows a status change within 2 s, without a reload. */
const MAX_UPDATE_MS = 2_000;

interface Dashboard {
  url: string;
  child: ChildProcess;
  stderr(): string;
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>;
}

/** `kubectl serin dashboard --port 0 --no-open`: the built plugin, its URL read from its one stdout line. */
async function startDashboard(args: string[], kubeconfig: string): Promise<Dashboard> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, "dist", "cli", "main.js"),
      "dashboard",
      ...args,
      "--port",
      "0",
      "--no-open",
      "--kubeconfig",
      kubeconfig,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  child.stderr?.setEncoding("utf8").on("data", (c: string) => {
    err += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`dashboard printed no URL in 20 s: ${out} ${err}`)),
      20_000,
    );
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
      const m = /^Serin dashboard: (http:\/\/127\.0\.0\.1:\d+\/)\n/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => reject(new Error(`dashboard exited ${code}: ${err}`)));
  });
  return {
    url,
    child,
    stderr: () => err,
    stop: async () => {
      child.kill("SIGTERM");
      return exited;
    },
  };
}

async function screenshot(page: Page, name: string): Promise<string> {
  const path = join(OUTPUT, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  process.stdout.write(`dashboard screenshot: ${path}\n`);
  return path;
}

/**
 * Records, in the page, when the shown weight changes (browser clock = this machine's clock). Browser code
 * as text: the tests are type-checked without the DOM library.
 */
const RECORD_SHOWN_WEIGHTS = `(() => {
  const read = () => document.getElementById("weight-value")?.textContent ?? "";
  window.shownWeights = [{ t: Date.now(), weight: read() }];
  new MutationObserver(() => {
    const weight = read();
    if (weight !== window.shownWeights.at(-1).weight) window.shownWeights.push({ t: Date.now(), weight });
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

const shownWeights = (page: Page) =>
  page.evaluate<Array<{ t: number; weight: string }>>("window.shownWeights");

let browser: Browser;
beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
});
afterAll(async () => {
  await browser?.close();
});

describe("kubectl serin dashboard in a browser (docs/cli.md)", () => {
  let ns = "";

  it("shows a rollout advancing within 2 s of each change, and its Abort button rolls it back", async () => {
    ns = k.createNamespace("dash");
    applyCatalog(k, ns, { interval: "10s" });
    await k.waitForPhase(ns, NAME, ["Initialized"], 60_000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns);
    const dash = await startDashboard(["-n", ns], k.kubeconfig);
    const api = await new ObjectWatch<KubernetesObject & { status?: CanaryStatus }>({
      kubeconfig: k.kubeconfig,
      path: `/apis/serin.dev/v1beta1/namespaces/${ns}/canaries`,
    }).start();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    try {
      // The list: every Canary of the namespace, live.
      await page.goto(dash.url);
      const row = page.locator(`tr[data-key="${ns}/${NAME}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect((await row.textContent()) ?? "").toContain("Initialized");
      await screenshot(page, "list");

      // A Canary's page, then v2 pushed: every weight the API takes must show within 2 s.
      await row.locator("a").click();
      await page.locator("#weight-value").waitFor({ timeout: 10_000 });
      expect(page.url()).toContain(`#/c/${ns}/${NAME}`);
      await page.evaluate(RECORD_SHOWN_WEIGHTS);
      const changes: Array<{ t: number; weight: number }> = [];
      api.subscribe((e) => {
        const weight = (e.object as { status?: CanaryStatus }).status?.canaryWeight ?? 0;
        if (weight !== (changes.at(-1)?.weight ?? 0)) changes.push({ t: e.t, weight });
      });
      k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
      await api.waitFor("weight 30", (e) => (e.object.status?.canaryWeight ?? 0) >= 30, 120_000);
      await sleep(MAX_UPDATE_MS + 500);
      const shown = await shownWeights(page);
      const latencies = changes.map((c) => {
        const seen = shown.find((s) => Number(s.weight) === c.weight && s.t >= c.t - 1_000);
        return { weight: c.weight, ms: seen === undefined ? Number.POSITIVE_INFINITY : seen.t - c.t };
      });
      process.stdout.write(`dashboard update latency (weight: ms): ${JSON.stringify(latencies)}\n`);
      expect(changes.map((c) => c.weight)).toEqual([10, 20, 30]);
      for (const l of latencies)
        expect(l.ms, `weight ${l.weight} shown after ${l.ms} ms`).toBeLessThan(MAX_UPDATE_MS);
      expect((await page.locator("#phase").textContent()) ?? "").toContain("Progressing");
      // The charts: a point per weight, a chart per metric with the run's checks.
      expect(await page.locator("#weight-chart circle").count()).toBeGreaterThanOrEqual(4);
      expect(await page.locator('svg[id^="metric-"]').count()).toBe(2);
      expect(await page.locator('svg[id^="metric-"] circle').count()).toBeGreaterThanOrEqual(2);
      expect((await page.locator("#harm-text").textContent()) ?? "").toMatch(/canary served [\d,]+ requests/);
      await screenshot(page, "progressing");

      // Abort, with a reason asked in the page: Failed, weight 0, shown without a reload.
      const reason = "dashboard e2e: 5xx on checkout";
      await page.locator('button[data-action="abort"]').click();
      await page.locator("#reason").fill(reason);
      const clickedAt = Date.now();
      await page.locator("#confirm-go").click();
      await page.locator("#phase", { hasText: /^Failed$/ }).waitFor({ timeout: 10_000 });
      const failedShownMs = Date.now() - clickedAt;
      await page
        .locator("#control-result", { hasText: new RegExp(`^abort ${NAME}: done$`) })
        .waitFor({ timeout: 35_000 });
      process.stdout.write(`dashboard abort: Failed shown ${failedShownMs} ms after the click\n`);
      expect(failedShownMs).toBeLessThan(5_000);
      const status = k.canary(ns, NAME).status;
      expect(status?.phase).toBe("Failed");
      expect(status?.canaryWeight).toBe(0);
      expect(status?.control).toMatchObject({ action: "abort", result: "done", reason });
      expect((await page.locator("#weight-value").textContent()) ?? "").toBe("0");
      await page.locator("#events li", { hasText: "Aborted" }).first().waitFor({ timeout: 10_000 });
      expect((await page.locator("#control-last").textContent()) ?? "").toContain(reason);
      expect(await page.locator('button[data-action="retry"]').isEnabled()).toBe(true);
      expect(await page.locator('button[data-action="abort"]').isEnabled()).toBe(false);
      await screenshot(page, "aborted");

      // A phone: one column, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await sleep(300);
      const [scrollWidth, innerWidth] = await page.evaluate<[number, number]>(
        "[document.documentElement.scrollWidth, window.innerWidth]",
      );
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
      await screenshot(page, "phone");
      expect(pageErrors).toEqual([]);
      expect(await dash.stop()).toBe(0);
    } finally {
      await page.close();
      await api.stop();
      await traffic.stop();
      dash.child.kill("SIGKILL");
    }
  });

  it("a user who may only look sees the refusal in the page, and nothing is written", async () => {
    expect(ns).not.toBe("");
    const dash = await startDashboard(["-n", ns], viewerKubeconfig(k, ns, inject("envDir")));
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.goto(`${dash.url}#/c/${ns}/${NAME}`);
      await page.locator("#phase", { hasText: "Failed" }).waitFor({ timeout: 10_000 });
      await page.locator('button[data-action="retry"]').click();
      await page.locator("#reason").fill("not mine to steer");
      await page.locator("#confirm-go").click();
      const result = page.locator("#control-result");
      await result.locator("text=/forbidden/").waitFor({ timeout: 10_000 });
      const text = (await result.textContent()) ?? "";
      expect(text).toContain("forbidden: context viewer may not patch canaries.serin.dev");
      expect(text).toContain(`in namespace ${ns}`);
      // Events are not the viewer's to list: said in the page, the rest still works.
      expect((await page.locator("#problem").textContent()) ?? "").toContain("forbidden");
      await screenshot(page, "forbidden");
      const annotations =
        k.json<{ metadata: { annotations?: Record<string, string> } }>(["get", "canary", NAME, "-n", ns])
          .metadata.annotations ?? {};
      expect(Object.keys(annotations).filter((a) => a.startsWith("serin.dev/action"))).toEqual([]);
      expect(k.canary(ns, NAME).status?.phase).toBe("Failed");
      expect(await dash.stop()).toBe(0);
    } finally {
      await page.close();
      dash.child.kill("SIGKILL");
    }
  });
});
