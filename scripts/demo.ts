// A local demo of Serin on real parts: a kube-apiserver cluster (pods simulated by kwok), a real
// Prometheus, the mesh simulator standing in for Istio's sidecars (test harness), and Serin itself.
// It applies the catalog example, pushes v2 (promoted), then a bad v3 judged by Flagger's rule and again by the
// sequential judge (both rolled back; the demo compares what each cost users), streaming
// `kubectl get canary -w` as a user would watch it.
import { spawn } from "node:child_process";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { CanaryStatus } from "../src/api/canary.js";
import { kubectlPath } from "../test/env/cluster.js";
import { startEnvironment } from "../test/env/environment.js";
import { sleep } from "../test/env/processes.js";
import { startMeshSimulator } from "../test/mesh/simulator.js";
import { applyCatalog, webappTraffic } from "../test/support/catalog.js";
import { istioReport } from "../test/support/istioctl.js";
import { Kubectl } from "../test/support/kube.js";
import { buildSerin, startSerin } from "../test/support/serin-process.js";

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
  process.stdout.write(
    `   kubectl --kubeconfig ${env.cluster.kubeconfigPath} get canary -A   # to look around while it runs\n`,
  );

  const k = new Kubectl(env.cluster.kubeconfigPath);
  const ns = "shop";
  k.run(["create", "namespace", ns]);
  say("kubectl apply -f examples/catalog/   (analysis.interval shortened to 10s for the demo)");
  applyCatalog(k, ns, { interval: "10s" });
  const traffic = webappTraffic(mesh.proxyUrl, ns, 20, 900_000);
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
  const load = await traffic.stop();
  say(`traffic from webapp: ${JSON.stringify(load.byVersionStatus)}`);
  say("Istio's own checks on what Serin wrote: istioctl validate and istioctl analyze");
  const istioProblems = await istioReport(
    env.cluster.kubeconfigPath,
    ns,
    (kind) => k.json<{ items: KubernetesObject[] }>(["get", kind, "-n", ns]).items,
    (text) => process.stdout.write(text),
  );
  if (istioProblems.length > 0)
    throw new Error(`Istio rejects the demo's objects:\n${istioProblems.join("\n")}`);
  say(`demo finished in ${((Date.now() - t0) / 1000).toFixed(0)}s; tearing down`);
} finally {
  await cleanup();
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
