import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { applyCatalog, image, routeWeights, webappTraffic } from "../support/catalog.js";
import { runCli, viewerKubeconfig } from "../support/cli.js";
import { Kubectl } from "../support/kube.js";
import { serinForFile } from "../support/serin-process.js";

const k = new Kubectl(inject("kubeconfig"));
serinForFile(
  { beforeAll, afterAll },
  {
    name: "serin-control",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  },
);

const NAME = "catalog-release";
const INTERVAL_S = 10;

/** `kubectl serin ARGS`: the built plugin as its own process, with the admin's or another kubeconfig. */
const serin = (args: string[], kubeconfig = k.kubeconfig) => runCli(args, { kubeconfig });

function generation(ns: string, deployment: string): number {
  return Number(k.run(["get", "deployment", deployment, "-n", ns, "-o", "jsonpath={.metadata.generation}"]));
}

/** The Deployment's rollout number (deployment.kubernetes.io/revision): moves only with a new pod template. */
function deploymentRevision(ns: string): string {
  return k.run([
    "get",
    "deployment",
    "catalog",
    "-n",
    ns,
    "-o",
    "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
  ]);
}

function replicasOf(ns: string): number {
  return Number(k.run(["get", "deployment", "catalog", "-n", ns, "-o", "jsonpath={.spec.replicas}"]));
}

/** The Deployment's spec but its replicas (which every run sets), as JSON: the pod template and all else. */
function specButReplicas(ns: string): string {
  const d = k.json<{ spec: Record<string, unknown> }>(["get", "deployment", "catalog", "-n", ns]);
  const { replicas: _replicas, ...rest } = d.spec;
  return JSON.stringify(rest);
}

/** Polls until `ok` holds for the Canary's status (1 s apart), or throws saying where it stood. */
async function until(
  ns: string,
  what: string,
  ok: (s: ReturnType<Kubectl["canary"]>["status"]) => boolean,
  timeoutMs: number,
  everyMs = 500,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let s = k.canary(ns, NAME).status;
  while (!ok(s)) {
    if (Date.now() > deadline)
      throw new Error(
        `${ns}/${NAME}: not ${what} in ${timeoutMs} ms (phase ${s?.phase}, weight ${s?.canaryWeight})`,
      );
    await sleep(everyMs);
    s = k.canary(ns, NAME).status;
  }
}

/** A catalog release in its own namespace, v2 pushed, followed until it has passed its first step. */
async function progressing(prefix: string, minWeight = 10) {
  const ns = k.createNamespace(prefix);
  applyCatalog(k, ns, { interval: `${INTERVAL_S}s` });
  await k.waitForPhase(ns, NAME, ["Initialized"], 60_000);
  const traffic = webappTraffic(inject("meshProxyUrl"), ns);
  const watch = k.watchCanary(ns, NAME);
  await sleep(3_000);
  k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
  await until(
    ns,
    `Progressing at weight >= ${minWeight}`,
    (s) => s?.phase === "Progressing" && (s.canaryWeight ?? 0) >= minWeight,
    90_000,
  );
  return { ns, traffic, watch };
}

const once = <T>(f: () => Promise<T>): (() => Promise<T>) => {
  let p: Promise<T> | undefined;
  return () => {
    p ??= f();
    return p;
  };
};

/** Release A: a viewer tries to abort (refused), then an operator aborts during Progressing. */
const abortRun = once(async () => {
  const { ns, traffic, watch } = await progressing("ctl-abort");
  try {
    const viewer = viewerKubeconfig(k, ns, inject("envDir"));
    const viewerGet = await serin(["get", NAME, "-n", ns], viewer);
    const forbidden = await serin(["abort", NAME, "-n", ns, "--reason", "not mine to steer"], viewer);
    const afterForbidden = k.json<{
      metadata: { annotations?: Record<string, string> };
      status?: { phase?: string };
    }>(["get", "canary", NAME, "-n", ns]);
    const weightBefore = k.canary(ns, NAME).status?.canaryWeight ?? 0;
    const abort = await serin(["abort", NAME, "-n", ns, "--reason", "5xx on checkout"]);
    const afterCli = Date.now();
    // The CLI returns when status.control carries its id; the same write set phase Failed.
    await until(ns, "Failed", (s) => s?.phase === "Failed", 10_000, 200);
    const failedAfterMs = Date.now() - afterCli + abort.ms;
    const history = await serin(["history", NAME, "-n", ns]);
    const historyJson = await serin(["history", NAME, "-n", ns, "-o", "json"]);
    return {
      ns,
      viewerGet,
      forbidden,
      afterForbidden,
      weightBefore,
      abort,
      failedAfterMs,
      history,
      historyJson,
    };
  } finally {
    await traffic.stop();
    watch.stop();
  }
});

describe.concurrent("steering a rollout with kubectl serin (docs/control.md)", () => {
  it("abort during Progressing rolls back at once: Failed, weight 0, control done, an Aborted Event", async () => {
    const r = await abortRun();
    expect(r.weightBefore).toBeGreaterThanOrEqual(10);
    expect(r.abort.stderr).toBe("");
    expect(r.abort.code).toBe(0);
    expect(r.abort.stdout.trim()).toBe(`abort ${NAME}: done`);
    // "At once": in the reconcile that consumed the request (one status write carries both), not at the
    // next check; and so within an interval of the command, however busy the machine.
    const status = k.canary(r.ns, NAME).status;
    const consumedAt = Date.parse(status?.control?.at ?? "");
    expect(Math.abs(Date.parse(status?.lastTransitionTime ?? "") - consumedAt)).toBeLessThan(1_000);
    expect(r.failedAfterMs).toBeLessThan(INTERVAL_S * 1000);
    expect(status?.phase).toBe("Failed");
    expect(status?.canaryWeight).toBe(0);
    expect(status?.control?.action).toBe("abort");
    expect(status?.control?.result).toBe("done");
    expect(status?.control?.reason).toBe("5xx on checkout");
    expect(status?.control?.by).toBeTruthy();
    // Not by the checks: v2 is healthy, none failed.
    expect(status?.failedChecks ?? 0).toBe(0);
    for (const [primary, canary] of routeWeights(k, r.ns, "catalog"))
      expect([primary, canary]).toEqual([100, 0]);
    expect(image(k, r.ns, "catalog-primary")).toBe("istioinaction/catalog:v1");
    // The request was consumed: the annotations are gone.
    const annotations =
      k.json<{ metadata: { annotations?: Record<string, string> } }>(["get", "canary", NAME, "-n", r.ns])
        .metadata.annotations ?? {};
    expect(Object.keys(annotations).filter((a) => a.startsWith("serin.dev/action"))).toEqual([]);
    const aborted = k.canaryEvents(r.ns).filter((e) => e.reason === "Aborted");
    expect(aborted).toHaveLength(1);
    expect(aborted[0]?.type).toBe("Warning");
    expect(aborted[0]?.message).toMatch(/aborted by \S+: 5xx on checkout/);
    process.stdout.write(
      `control figures: abort answered in ${r.abort.ms} ms, Failed ${r.failedAfterMs} ms after the command; "${aborted[0]?.message}"\n`,
    );
  });

  it("a user without patch on canaries is refused with a clear 403 and exit 1, and nothing changes", async () => {
    const r = await abortRun();
    // The kubeconfig works: the viewer may read.
    expect(r.viewerGet.stderr).toBe("");
    expect(r.viewerGet.code).toBe(0);
    expect(r.viewerGet.stdout).toMatch(/Phase:\s+Progressing/);
    expect(r.forbidden.code).toBe(1);
    expect(r.forbidden.stdout).toBe("");
    expect(r.forbidden.stderr).toContain(
      `error: forbidden: context viewer may not patch canaries.serin.dev "${NAME}" in namespace ${r.ns} (RBAC): steering a rollout needs "patch" on canaries.serin.dev; ask for a Role like canary-operator in docs/control.md (verbs get, list, watch, patch); the API server said: `,
    );
    expect(r.forbidden.stderr).toMatch(/forbidden/i);
    expect(r.forbidden.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.afterForbidden.status?.phase).toBe("Progressing");
    expect(
      Object.keys(r.afterForbidden.metadata.annotations ?? {}).filter((a) =>
        a.startsWith("serin.dev/action"),
      ),
    ).toEqual([]);
  });

  it("history lists the aborted run", async () => {
    const r = await abortRun();
    expect(r.history.stderr).toBe("");
    expect(r.history.code).toBe(0);
    const lines = r.history.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+REVISION\s+IMAGE\s+OUTCOME/);
    const failed = lines.filter((l) => /\bFailed\b/.test(l));
    expect(failed, r.history.stdout).toHaveLength(1);
    expect(failed[0]).toMatch(/catalog:v2/);
    expect(failed[0]).toMatch(/aborted by/);
    const view = JSON.parse(r.historyJson.stdout) as {
      runs: Array<{ outcome: string; image?: string; reason: string; canaryWeight: number }>;
    };
    const run = view.runs.at(-1);
    expect(run?.outcome).toBe("Failed");
    expect(run?.image).toBe("istioinaction/catalog:v2");
    expect(run?.reason).toMatch(/aborted by \S+: 5xx on checkout/);
    expect(run?.canaryWeight).toBeGreaterThanOrEqual(10);
  });

  it("retry after the abort runs the same revision again without touching the pod template", async () => {
    const r = await abortRun();
    const traffic = webappTraffic(inject("meshProxyUrl"), r.ns);
    try {
      const before = k.canary(r.ns, NAME).status;
      const gen = generation(r.ns, "catalog");
      const template = specButReplicas(r.ns);
      const rollout = deploymentRevision(r.ns);
      expect(replicasOf(r.ns)).toBe(0); // scaled down by the rollback
      const retry = await serin(["retry", NAME, "-n", r.ns, "--reason", "fixed the dependency"]);
      expect(retry.stderr).toBe("");
      expect(retry.code).toBe(0);
      expect(retry.stdout.trim()).toBe(`retry ${NAME}: done`);
      const status = k.canary(r.ns, NAME).status;
      expect(status?.phase).toBe("Progressing");
      expect(status?.control?.action).toBe("retry");
      expect(status?.control?.result).toBe("done");
      expect(status?.lastAppliedSpec).toBe(before?.lastAppliedSpec);
      // The pod template is not touched: no new rollout of the Deployment (same revision, same template).
      // Its generation moves by exactly one: the retried run scales the canary back up from 0 (replicas),
      // as every run does; nothing else in the spec changes.
      expect(specButReplicas(r.ns)).toBe(template);
      expect(deploymentRevision(r.ns)).toBe(rollout);
      expect(generation(r.ns, "catalog")).toBeLessThanOrEqual(gen + 1);
      if (generation(r.ns, "catalog") === gen + 1) expect(replicasOf(r.ns)).toBeGreaterThan(0);
      expect(image(k, r.ns, "catalog")).toBe("istioinaction/catalog:v2");
      expect(k.canaryEvents(r.ns).some((e) => e.reason === "Retried")).toBe(true);
      // And it is analysed again from the start: the first step sends traffic to the same revision.
      await until(
        r.ns,
        "back at weight 10",
        (s) => s?.phase === "Progressing" && (s.canaryWeight ?? 0) >= 10,
        30_000,
      );
      expect(generation(r.ns, "catalog")).toBeLessThanOrEqual(gen + 1);
      expect(specButReplicas(r.ns)).toBe(template);
      expect(deploymentRevision(r.ns)).toBe(rollout);
      expect(k.canary(r.ns, NAME).status?.lastAppliedSpec).toBe(before?.lastAppliedSpec);
      // A second retry while it runs is refused: only a failed run can be retried.
      const again = await serin(["retry", NAME, "-n", r.ns]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(
        `error: retry ${NAME} was ignored: only a failed run can be retried (phase Progressing)`,
      );
      // history now shows the aborted run and the run under way, last.
      const history = await serin(["history", NAME, "-n", r.ns]);
      expect(history.code).toBe(0);
      const lines = history.stdout.trimEnd().split("\n");
      expect(lines.some((l) => /\bFailed\b/.test(l))).toBe(true);
      expect(lines.at(-1)).toMatch(/Progressing \(now\)/);
    } finally {
      await traffic.stop();
    }
  });

  it("pause holds the weight across two intervals; resume continues and the release is promoted", async () => {
    const { ns, traffic, watch } = await progressing("ctl-pause");
    try {
      const pause = await serin(["pause", NAME, "-n", ns, "--reason", "checking dashboards"]);
      expect(pause.stderr).toBe("");
      expect(pause.code).toBe(0);
      expect(pause.stdout.trim()).toBe(`pause ${NAME}: done`);
      const paused = k.canary(ns, NAME).status;
      expect(paused?.paused).toBe(true);
      expect(paused?.control?.result).toBe("done");
      const held = paused?.canaryWeight ?? -1;
      expect(held).toBeGreaterThanOrEqual(10);
      // Two and a half intervals: the weight holds, the phase stays Progressing (checks go on).
      const samples: Array<{ phase?: string; weight?: number; paused?: boolean }> = [];
      const end = Date.now() + 2.5 * INTERVAL_S * 1000;
      while (Date.now() < end) {
        const s = k.canary(ns, NAME).status;
        samples.push({ phase: s?.phase, weight: s?.canaryWeight, paused: s?.paused });
        await sleep(1_000);
      }
      // About one sample a second (fewer on a busy machine: each is a kubectl call) over 25 s.
      expect(samples.length).toBeGreaterThanOrEqual(10);
      expect(samples.every((s) => s.weight === held && s.phase === "Progressing" && s.paused === true)).toBe(
        true,
      );
      // Paused holds the weight, it does not stop watching: the checks went on at every interval.
      const checksDuringPause = (
        (k.canary(ns, NAME).status?.run as { checks?: Array<{ time: string; verdict: string }> } | undefined)
          ?.checks ?? []
      ).filter((c) => Date.parse(c.time) > Date.parse(paused?.control?.at ?? ""));
      expect(checksDuringPause.length).toBeGreaterThanOrEqual(2);
      const resume = await serin(["resume", NAME, "-n", ns]);
      expect(resume.stderr).toBe("");
      expect(resume.code).toBe(0);
      expect(resume.stdout.trim()).toBe(`resume ${NAME}: done`);
      expect(k.canary(ns, NAME).status?.paused).toBeFalsy();
      const phase = await k.waitForPhase(ns, NAME, ["Succeeded", "Failed"], 120_000);
      expect(phase).toBe("Succeeded");
      // Every step, none skipped: the weight moved on from where it was held.
      const weights = watch.weights().filter((w) => w > 0);
      expect(weights).toEqual([10, 20, 30, 40, 50].filter((w) => w >= (weights[0] ?? 0)));
      expect(weights.at(-1)).toBe(50);
      expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
      const reasons = k.canaryEvents(ns).map((e) => e.reason);
      expect(reasons).toEqual(expect.arrayContaining(["Paused", "Resumed"]));
      process.stdout.write(
        `control figures: paused at weight ${held} for ${samples.length} s (${checksDuringPause.length} checks meanwhile: ${checksDuringPause.map((c) => c.verdict).join(",")}), then promoted\n`,
      );
    } finally {
      await traffic.stop();
      watch.stop();
    }
  });

  it("promote during Progressing promotes at the next passed check, skipping the remaining steps", async () => {
    const { ns, traffic, watch } = await progressing("ctl-promote");
    try {
      const at = k.canary(ns, NAME).status?.canaryWeight ?? 0;
      const promote = await serin(["promote", NAME, "-n", ns, "--reason", "looks good"]);
      expect(promote.stderr).toBe("");
      expect(promote.code).toBe(0);
      expect(promote.stdout.trim()).toBe(
        `promote ${NAME}: pending: promotes at the next check that passes, skipping the remaining steps`,
      );
      const requested = k.canary(ns, NAME).status?.control;
      expect(requested?.result).toMatch(/^pending: /);
      const requestedAt = Date.parse(requested?.at ?? "");
      const phase = await k.waitForPhase(
        ns,
        NAME,
        ["Promoting", "Finalising", "Succeeded", "Failed"],
        40_000,
      );
      expect(phase).not.toBe("Failed");
      await k.waitForPhase(ns, NAME, ["Succeeded", "Failed"], 60_000);
      expect(k.canary(ns, NAME).status?.phase).toBe("Succeeded");
      await sleep(1_000); // the watch's last rows
      const weights = watch.weights();
      const statuses = watch.statuses();
      expect(statuses).toEqual(expect.arrayContaining(["Progressing", "Promoting"]));
      // Never reached maxWeight (50): at most one step past where it was when asked.
      expect(Math.max(...weights)).toBeLessThan(50);
      expect(Math.max(...weights)).toBeLessThanOrEqual(at + 10);
      // Promoted on a check that passed after the request, not on the request itself.
      const checks =
        (k.canary(ns, NAME).status?.run as { checks?: Array<{ time: string; verdict: string }> } | undefined)
          ?.checks ?? [];
      const after = checks.filter((c) => Date.parse(c.time) >= requestedAt);
      expect(after.length, JSON.stringify(checks)).toBeGreaterThan(0);
      expect(after.every((c) => c.verdict === "passed")).toBe(true);
      expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
      const events = k.canaryEvents(ns);
      expect(events.map((e) => e.reason)).toEqual(
        expect.arrayContaining(["PromotionRequested", "PromotedByRequest"]),
      );
      process.stdout.write(
        `control figures: promote asked at weight ${at}; weights ${weights.join(",")}; statuses ${statuses.join(",")}\n`,
      );
    } finally {
      await traffic.stop();
      watch.stop();
    }
  });
});
