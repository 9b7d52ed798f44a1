import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, webappTraffic } from "../support/catalog.js";
import { type CliResult, runCli } from "../support/cli.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-replay",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

const NAME = "catalog-release";
const INTERVAL_S = 10;
/** ~40 canary requests per check at weight 10: v3-bad fails each check but for a 0.01% chance. */
const QPS = 40;

/** `kubectl serin ARGS` with the admin's kubeconfig; `env` on top (never an inherited SERIN_PROMETHEUS_URL). */
const serin = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { kubeconfig: k.kubeconfig, env, timeoutMs: 120_000 });

interface ReplayJson {
  run: { number?: number; outcome: string; recordedChecks: number };
  steps: Array<{
    kind: string;
    offsetSeconds: number;
    weight: number;
    verdict?: string;
    differs: boolean;
    recorded?: { verdict: string; canaryWeight: number };
  }>;
  end: { outcome: string; canaryWeight: number; failedChecks: number; offsetSeconds: number };
  recordedEnd: { outcome: string; canaryWeight: number; failedChecks?: number; offsetSeconds: number };
  sameOutcome: boolean;
}

const parse = (r: CliResult): ReplayJson => {
  try {
    return JSON.parse(r.stdout) as ReplayJson;
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
};

let ns = "";

describe("kubectl serin replay (docs/replay.md)", () => {
  beforeAll(async () => {
    ns = k.createNamespace("replay");
    applyCatalog(k, ns, { interval: `${INTERVAL_S}s`, threshold: 2 });
    await k.waitForPhase(ns, NAME, ["Initialized"], 60_000);
    const traffic = webappTraffic(inject("meshProxyUrl"), ns, QPS);
    try {
      await sleep(3_000);
      k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v3-bad"]);
      await k.waitForPhase(ns, NAME, ["Progressing"], 60_000);
      await k.waitForPhase(ns, NAME, ["Failed", "Succeeded"], 120_000);
      // The last scrape before the rollback is in Prometheus well before now.
      await sleep(2_000);
    } finally {
      await traffic.stop();
    }
  }, 240_000);

  it("with the same analysis, reproduces the recorded checks and outcome", async () => {
    const status = k.canary(ns, NAME).status;
    expect(status?.phase).toBe("Failed");
    const r = await serin(["replay", NAME, "-n", ns, "--prometheus", inject("prometheusUrl"), "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const v = parse(r);
    expect(v.run).toMatchObject({ number: 1, outcome: "Failed" });
    expect(v.run.recordedChecks).toBeGreaterThanOrEqual(2);
    const checks = v.steps.filter((s) => s.kind === "check");
    expect(checks.length).toBe(v.run.recordedChecks);
    for (const c of checks) {
      expect(c.recorded?.verdict, JSON.stringify(c)).toBe(c.verdict);
      expect(c.recorded?.canaryWeight).toBe(c.weight);
    }
    expect(v.steps.filter((s) => s.differs)).toEqual([]);
    expect(v.end.outcome).toBe("Failed");
    expect(v.end.failedChecks).toBe(v.recordedEnd.failedChecks);
    expect(v.end.canaryWeight).toBe(v.recordedEnd.canaryWeight);
    expect(Math.abs(v.end.offsetSeconds - v.recordedEnd.offsetSeconds)).toBeLessThanOrEqual(0.1);
    expect(v.sameOutcome).toBe(true);

    // The text, with Prometheus named by the environment, says the same.
    const text = await serin(["replay", NAME, "-n", ns, "--run", "1"], {
      SERIN_PROMETHEUS_URL: inject("prometheusUrl"),
    });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`Replay of canary ${NAME} in namespace ${ns}, run 1: catalog:v3-bad`);
    expect(text.stdout).toMatch(/Recorded: Failed at \+\d+s \(weight 10, 2 failed checks\)/);
    expect(text.stdout).toMatch(/Replayed: Failed at \+\d+s \(weight 10, 2 failed checks\)/);
    expect(text.stdout).toContain("Same outcome");
    process.stdout.write(`replay (same analysis):\n${text.stdout}\n`);
  });

  it("with an edited threshold, shows where the decisions differ and a different outcome", async () => {
    const lenient = await serin([
      "replay",
      NAME,
      "-n",
      ns,
      "--prometheus",
      inject("prometheusUrl"),
      "--set",
      "analysis.metrics[request-success-rate].thresholdRange.min=50",
    ]);
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(lenient.stdout).toContain("analysis.metrics[request-success-rate].thresholdRange.min 99 -> 50");
    expect(lenient.stdout).toMatch(/\*\s+\+\d+s\s+10\s+failed\s+passed > 20/);
    expect(lenient.stdout).toMatch(
      /Replayed: would still be running at \+\d+s \(the recorded end\): weight 30/,
    );
    expect(lenient.stdout).toContain("Different outcome");
    process.stdout.write(`replay (min 50):\n${lenient.stdout}\n`);

    const strict = await serin(["replay", NAME, "-n", ns, "--set", "analysis.threshold=1", "-o", "json"], {
      SERIN_PROMETHEUS_URL: inject("prometheusUrl"),
    });
    expect(strict.code, strict.stderr).toBe(0);
    const v = parse(strict);
    expect(v.end).toMatchObject({ outcome: "Failed", failedChecks: 1 });
    expect(v.end.offsetSeconds).toBeLessThan(v.recordedEnd.offsetSeconds);
    expect(v.steps.some((s) => s.kind === "recorded-only" && s.differs)).toBe(true);
  });

  it("refuses a bad --set, a missing run and a missing Prometheus clearly", async () => {
    const prometheus = ["--prometheus", inject("prometheusUrl")];
    const badPath = await serin(["replay", NAME, "-n", ns, ...prometheus, "--set", "analysis.treshold=3"]);
    expect(badPath.code).toBe(2);
    expect(badPath.stderr).toContain("--set analysis.treshold=3: spec.analysis");
    expect(badPath.stderr).toContain("treshold");
    const badValue = await serin(["replay", NAME, "-n", ns, ...prometheus, "--set", "analysis.interval=5s"]);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain("--set analysis.interval=5s: spec.analysis.interval");
    const noRun = await serin(["replay", NAME, "-n", ns, ...prometheus, "--run", "99"]);
    expect(noRun.code).toBe(1);
    expect(noRun.stderr).toContain(`error: canary ${NAME} has no run 99; runs kept in status.history: 1`);
    const noPrometheus = await serin(["replay", NAME, "-n", ns]);
    expect(noPrometheus.code).toBe(1);
    expect(noPrometheus.stderr).toContain("no Prometheus to ask: pass --prometheus URL");
    const unreachable = await serin(["replay", NAME, "-n", ns, "--prometheus", "http://127.0.0.1:1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("cannot query Prometheus at http://127.0.0.1:1 (--prometheus)");
    const missing = await serin(["replay", "nope", "-n", ns, ...prometheus]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`canary nope not found in namespace ${ns}`);
    // Nothing in the cluster changed.
    expect(k.canary(ns, NAME).status?.phase).toBe("Failed");
  });
});
