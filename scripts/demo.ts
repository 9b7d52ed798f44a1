// A local demo of Serin on real parts: a kube-apiserver cluster (pods simulated by kwok), a real
// Prometheus, the mesh simulator standing in for Istio's sidecars (test harness), and Serin itself.
// It applies the catalog example, pushes v2 (promoted), then a bad v3 judged by Flagger's rule and again by the
// sequential judge (both rolled back; the demo compares what each cost users), streaming
// `kubectl get canary -w` as a user would watch it. It serves the live dashboard (`kubectl serin dashboard`)
// and prints its URL and a `kubectl serin get --watch` command; `npm run demo -- --keep` keeps the world,
// the dashboard and the traffic up after the demo, until Ctrl-C, to look around and push more releases.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { CanaryStatus } from "../src/api/canary.js";
import { kubectlPath } from "../test/env/cluster.js";
import { startEnvironment } from "../test/env/environment.js";
import { sleep } from "../test/env/processes.js";
import { repoRoot } from "../test/env/toolchain.js";
import { startMeshSimulator } from "../test/mesh/simulator.js";
import { applyCatalog, webappTraffic } from "../test/support/catalog.js";
import { istioReport } from "../test/support/istioctl.js";
import { Kubectl } from "../test/support/kube.js";
import { buildSerin, startSerin } from "../test/support/serin-process.js";

const keep = process.argv.includes("--keep");
const say = (text: string) => process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
const t0 = Date.now();
say("starting a local cluster (kube-apiserver, etcd, controller-manager, scheduler, kwok) and Prometheus");
const env = await startEnvironment();
const stops: Array<() => Promise<void>> = [() => env.stop()];
const cleanup = async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
};
process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
try {
  buildSerin();
  const mesh = await startMeshSimulator({
    kubeconfigPath: env.cluster.kubeconfigPath,
    xdsAddress: env.istiod.xdsAddress,
  });
  stops.push(() => mesh.stop());
  // One target per metrics shard (the sidecars hashed onto /metrics/shard/<i>): no scrape carries it all.
  env.prometheus.setTargets("mesh", mesh.metricsTargets());
  const serin = await startSerin({
    kubeconfigPath: env.serinKubeconfigPath,
    metricsServer: env.prometheus.url,
    logDir: env.dir,
  });
  stops.push(() => serin.stop());
  say(
    `ready in ${((Date.now() - t0) / 1000).toFixed(0)}s — Prometheus ${env.prometheus.url}, Serin metrics ${serin.metricsUrl}`,
  );
  const look = await lookingGlass(env.dir, env.cluster.kubeconfigPath);
  stops.push(look.stop);
  process.stdout.write(look.help);

  const k = new Kubectl(env.cluster.kubeconfigPath);
  const ns = "shop";
  k.run(["create", "namespace", ns]);
  say("kubectl apply -f examples/catalog/   (analysis.interval shortened to 10s for the demo)");
  applyCatalog(k, ns, { interval: "10s" });
  const traffic = webappTraffic(mesh.proxyUrl, ns, 20, keep ? 24 * 3_600_000 : 900_000);
  stops.push(async () => void (await traffic.stop()));
  const watch = spawn(
    kubectlPath(),
    [`--kubeconfig=${env.cluster.kubeconfigPath}`, "get", "canary", "-n", ns, "-w"],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  stops.push(async () => void watch.kill());
  await k.waitForPhase(ns, "catalog-release", ["Initialized"], 120_000);
  await sleep(5_000);

  say("kubectl set image deployment/catalog catalog=istioinaction/catalog:v2   (healthy)");
  k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
  await k.waitForPhase(ns, "catalog-release", ["Progressing"], 30_000);
  const first = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 600_000);
  say(
    `v2: ${first}; primary now runs ${k.run(["get", "deploy", "catalog-primary", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"])}`,
  );
  await sleep(5_000);

  say(
    "kubectl set image deployment/catalog catalog=istioinaction/catalog:v3-bad   (answers 500 on 20% of requests)",
  );
  k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v3-bad"]);
  await k.waitForPhase(ns, "catalog-release", ["Progressing"], 30_000);
  const second = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 600_000);
  const ruleRun = k.canary(ns, "catalog-release").status;
  say(`v3-bad: ${second} — ${promotedMessage(ruleRun)}`);

  say("kubectl patch canary catalog-release: spec.analysis.judge.mode=sequential   (Serin's evidence judge)");
  k.run(merge(ns, "canary", "catalog-release", { spec: { analysis: { judge: { mode: "sequential" } } } }));
  say("v3-bad again (a pod-template annotation makes it a new revision), judged on evidence this time");
  k.run(
    merge(ns, "deployment", "catalog", {
      spec: { template: { metadata: { annotations: { "demo.serin.dev/attempt": "2" } } } },
    }),
  );
  await k.waitForPhase(ns, "catalog-release", ["Progressing"], 30_000);
  const third = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 600_000);
  const judgedRun = k.canary(ns, "catalog-release").status;
  say(`v3-bad: ${third} — ${promotedMessage(judgedRun)}`);
  say(`harm of v3-bad: Flagger's rule ${harm(ruleRun)}; sequential judge ${harm(judgedRun)}`);
  say("kubectl describe canary: events");
  process.stdout.write(
    k.run([
      "get",
      "events",
      "-n",
      ns,
      "--field-selector",
      "involvedObject.kind=Canary",
      "--sort-by=.lastTimestamp",
      "-o",
      "custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message",
    ]),
  );
  watch.kill();
  if (!keep) {
    const load = await traffic.stop();
    say(`traffic from webapp: ${JSON.stringify(load.byVersionStatus)}`);
  }
  say("Istio's own checks on what Serin wrote: istioctl validate and istioctl analyze");
  const istioProblems = await istioReport(
    env.cluster.kubeconfigPath,
    ns,
    (kind) => k.json<{ items: KubernetesObject[] }>(["get", kind, "-n", ns]).items,
    (text) => process.stdout.write(text),
  );
  if (istioProblems.length > 0)
    throw new Error(`Istio rejects the demo's objects:\n${istioProblems.join("\n")}`);
  if (keep) {
    say(
      `demo finished in ${((Date.now() - t0) / 1000).toFixed(0)}s; the world stays up (--keep) until Ctrl-C`,
    );
    process.stdout.write(look.help);
    process.stdout.write(
      `   kubectl --kubeconfig ${env.cluster.kubeconfigPath} set image -n ${ns} deployment/catalog catalog=istioinaction/catalog:v2   # another release to watch\n`,
    );
    await new Promise<never>(() => {}); // SIGINT tears it down
  }
  say(`demo finished in ${((Date.now() - t0) / 1000).toFixed(0)}s; tearing down`);
} finally {
  await cleanup();
}

/**
 * The dashboard (`kubectl serin dashboard`, the built CLI, with the admin's kubeconfig as a user would
 * run it) and the `kubectl serin` plugin on a PATH for the printed commands.
 */
async function lookingGlass(
  dir: string,
  kubeconfig: string,
): Promise<{ help: string; stop: () => Promise<void> }> {
  const cli = join(repoRoot, "dist", "cli", "main.js");
  const bin = join(dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "kubectl-serin"), `#!/bin/sh\nexec "${process.execPath}" "${cli}" "$@"\n`);
  chmodSync(join(bin, "kubectl-serin"), 0o755);
  const dashboard = spawn(
    process.execPath,
    [cli, "dashboard", "-A", "--port", "0", "--no-open", "--kubeconfig", kubeconfig],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the dashboard did not start: ${out}`)), 20_000);
    dashboard.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const found = /Serin dashboard: (http\S+)/.exec(out);
      if (found?.[1]) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    dashboard.on("exit", (code) => reject(new Error(`the dashboard exited (${code}): ${out}`)));
  });
  // kubectl passes no flag before a plugin's name on to it: the kubeconfig goes by environment.
  const kubectl = `PATH=${bin}:$PATH KUBECONFIG=${kubeconfig} ${kubectlPath()}`;
  const help = [
    `   dashboard:  ${url}`,
    `   watch:      ${kubectl} serin get catalog-release -n shop --watch`,
    `   all:        ${kubectl} get canary -A`,
    "",
  ].join("\n");
  return { help, stop: async () => void dashboard.kill() };
}

function promotedMessage(status: CanaryStatus | undefined): string {
  return status?.conditions?.find((c) => c.type === "Promoted")?.message ?? "";
}

/** "221 requests, 34 failed in 58 s": what the canary served from its first traffic to the end. */
function harm(status: CanaryStatus | undefined): string {
  const run = status?.run;
  const served = run?.canary;
  if (!run || !served) return "not counted";
  const seconds =
    run.trafficSince && status?.lastTransitionTime
      ? ` in ${((Date.parse(status.lastTransitionTime) - Date.parse(run.trafficSince)) / 1000).toFixed(0)} s`
      : "";
  return `${served.requests} requests, ${served.errors} failed${seconds}`;
}

function merge(namespace: string, kind: string, name: string, patch: object): string[] {
  return ["patch", kind, name, "-n", namespace, "--type", "merge", "-p", JSON.stringify(patch)];
}
