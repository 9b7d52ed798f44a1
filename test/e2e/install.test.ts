// Both installers, for real, on the test world's API server: `kubectl apply -k deploy/` (with a user's
// overlay for where Prometheus is) and `helm install serin charts/serin` with non-default values. Each
// time a Serin is started exactly as the installed Deployment says, with the installed ServiceAccount's
// token, so only the installed RBAC lets it act, and it must take the catalog through a rollout to
// Succeeded. (Pods are kwok's and never run a container: the local process stands in for the pod.)

import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { kubectlPath } from "../env/cluster.js";
import { sleep } from "../env/processes.js";
import { applyCatalog, image, webappTraffic } from "../support/catalog.js";
import {
  CHART_DIR,
  DEPLOY_DIR,
  helm,
  helmTemplate,
  kustomize,
  type Manifest,
  parseManifests,
  valuesArgs,
} from "../support/install.js";
import { Kubectl } from "../support/kube.js";
import { installedSerin, type SerinDeployment, startInstalledSerin } from "../support/serin-process.js";
import { serviceAccountKubeconfig } from "../support/service-account.js";

const adminKubeconfig = inject("kubeconfig");
const k = new Kubectl(adminKubeconfig);
const logDir = inject("envDir");
const prometheusUrl = inject("prometheusUrl");

/** The catalog example pushed from v1 to v2 under load; how it ended and the weights seen on the way. */
async function catalogRollout(ns: string): Promise<{ phase: string; weights: number[] }> {
  applyCatalog(k, ns, { interval: "10s" });
  await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);
  const traffic = webappTraffic(inject("meshProxyUrl"), ns);
  const watch = k.watchCanary(ns, "catalog-release");
  try {
    k.run(["set", "image", "-n", ns, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);
    const phase = await k.waitForPhase(ns, "catalog-release", ["Succeeded", "Failed"], 240_000);
    return { phase, weights: watch.weights() };
  } finally {
    await traffic.stop();
    watch.stop();
  }
}

/** `kubectl auth can-i VERB RESOURCE -n NS --as SA`: "yes" or "no" (kubectl exits 1 on "no"). */
function canI(serviceAccount: string, verb: string, resource: string, namespace: string): string {
  try {
    return execFileSync(
      kubectlPath(),
      [
        `--kubeconfig=${adminKubeconfig}`,
        "auth",
        "can-i",
        verb,
        resource,
        "-n",
        namespace,
        `--as=${serviceAccount}`,
      ],
      { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    ).trim();
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? "").trim();
  }
}

const objectNames = (ms: Manifest[]) =>
  ms.map((m) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`).sort();

describe("installing Serin", () => {
  it("kubectl apply -k deploy/ installs a Serin that promotes the catalog", async () => {
    const rendered = kustomize(DEPLOY_DIR);
    k.run(["apply", "-k", DEPLOY_DIR]);
    // Every rendered object is on the API server, and nothing else was applied.
    const applied = parseManifests(k.run(["get", "-k", DEPLOY_DIR, "-o", "yaml"]));
    const items = (applied[0]?.items ?? []) as Manifest[];
    expect(objectNames(items)).toEqual(objectNames(rendered));

    // Where Prometheus is differs per cluster: a user's overlay changes that one env entry.
    const overlay = join(logDir, `install-overlay-${randomBytes(3).toString("hex")}`);
    mkdirSync(overlay);
    writeFileSync(
      join(overlay, "kustomization.yaml"),
      JSON.stringify({
        apiVersion: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources: [relative(overlay, DEPLOY_DIR)],
        patches: [
          {
            patch: JSON.stringify({
              apiVersion: "apps/v1",
              kind: "Deployment",
              metadata: { name: "serin", namespace: "serin-system" },
              spec: {
                template: {
                  spec: {
                    containers: [{ name: "serin", env: [{ name: "METRICS_SERVER", value: prometheusUrl }] }],
                  },
                },
              },
            }),
          },
        ],
      }),
    );
    k.run(["apply", "-k", overlay]);

    const installed = installedSerin(
      k.json<SerinDeployment>(["get", "deployment", "serin", "-n", "serin-system"]),
    );
    expect(installed.args).toEqual(["--leader-elect"]);
    expect(installed.env).toMatchObject({ METRICS_SERVER: prometheusUrl, POD_NAMESPACE: "serin-system" });
    const kubeconfigPath = serviceAccountKubeconfig(
      k,
      installed.namespace,
      installed.serviceAccountName,
      join(overlay, "serin.kubeconfig"),
    );
    const serin = await startInstalledSerin({ installed, kubeconfigPath, logDir, name: "serin-kustomize" });
    try {
      const ns = k.createNamespace("install-kustomize");
      const result = await catalogRollout(ns);
      expect(result.phase).toBe("Succeeded");
      expect(result.weights.filter((w) => w > 0)).toEqual([10, 20, 30, 40, 50]);
      expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
      // --leader-elect through the installed Role: this process holds the Lease in its pod's namespace.
      expect(
        k.run([
          "get",
          "lease",
          "serin-leader",
          "-n",
          "serin-system",
          "-o",
          "jsonpath={.spec.holderIdentity}",
        ]),
      ).toBe(`${hostname()}-${serin.process.pid}`);
    } finally {
      await serin.stop();
      // The kwok-simulated controller pods and their Service; the CRDs and RBAC stay (the world's own).
      k.run(["delete", "deployment,service", "serin", "-n", "serin-system", "--ignore-not-found"]);
    }
  });

  it("helm install serin charts/serin with one watched namespace, shards and debug logs promotes the catalog", async () => {
    const ns = k.createNamespace("install-helm-apps");
    const releaseNs = `install-helm-${randomBytes(3).toString("hex")}`;
    const values = {
      image: { digest: `sha256:${"ab".repeat(32)}` },
      replicas: 1,
      prometheus: { url: prometheusUrl },
      watchNamespace: ns,
      leaderElection: { enabled: false },
      shards: 2,
      logLevel: "debug",
      resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "300Mi" } },
      extraArgs: ["--workers=8"],
    };
    helm(
      ["install", "serin", CHART_DIR, "--namespace", releaseNs, "--create-namespace", ...valuesArgs(values)],
      adminKubeconfig,
    );
    try {
      // What helm installed is what `helm template` renders with the same values.
      const manifest = parseManifests(
        helm(["get", "manifest", "serin", "--namespace", releaseNs], adminKubeconfig),
      );
      expect(manifest).toEqual(expect.arrayContaining(helmTemplate({ namespace: releaseNs, values })));
      expect(objectNames(manifest)).toEqual(objectNames(helmTemplate({ namespace: releaseNs, values })));

      const deployment = k.json<SerinDeployment & Manifest>(["get", "deployment", "serin", "-n", releaseNs]);
      expect((deployment.spec as { replicas?: number }).replicas).toBe(1);
      const installed = installedSerin(deployment);
      expect(installed.args).toEqual([
        `--metrics-server=${prometheusUrl}`,
        "--shards=2",
        `--namespace=${ns}`,
        "--log-level=debug",
        "--workers=8",
      ]);
      // One watched namespace: the rights are there and nowhere else.
      const sa = `system:serviceaccount:${releaseNs}:${installed.serviceAccountName}`;
      expect(canI(sa, "patch", "canaries.serin.dev", ns)).toBe("yes");
      expect(canI(sa, "list", "canaries.serin.dev", "default")).toBe("no");
      expect(canI(sa, "create", "deployments.apps", "default")).toBe("no");

      const kubeconfigPath = serviceAccountKubeconfig(
        k,
        installed.namespace,
        installed.serviceAccountName,
        join(logDir, `${releaseNs}.kubeconfig`),
      );
      const serin = await startInstalledSerin({ installed, kubeconfigPath, logDir, name: "serin-helm" });
      try {
        const result = await catalogRollout(ns);
        expect(result.phase).toBe("Succeeded");
        expect(result.weights.filter((w) => w > 0)).toEqual([10, 20, 30, 40, 50]);
        expect(image(k, ns, "catalog-primary")).toBe("istioinaction/catalog:v2");
        // --shards through the installed leader-election Role: both shard Leases held by this process.
        const shardHolders = () =>
          k
            .json<{ items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }> }>([
              "get",
              "leases",
              "-n",
              releaseNs,
              "-l",
              "serin.dev/shard-set=serin",
            ])
            .items.filter((l) => /-shard-\d+$/.test(l.metadata.name))
            .map((l) => l.spec.holderIdentity ?? "");
        expect(shardHolders()).toHaveLength(2);
        const identity = `${hostname()}-${serin.process.pid}-`.toLowerCase();
        for (const holder of shardHolders()) expect(holder.startsWith(identity)).toBe(true);
        // SIGTERM (a pod replaced by an upgrade): the shards are handed back at once, not left to expire.
        await serin.stop();
        await sleep(200); // the log file's stream flushes after the process has exited
        expect(shardHolders()).toEqual(["", ""]);
        expect(readFileSync(serin.process.logPath, "utf8")).not.toContain("did not finish in time");
      } finally {
        await serin.stop();
      }
    } finally {
      helm(["uninstall", "serin", "--namespace", releaseNs], adminKubeconfig);
      k.run(["delete", "namespace", releaseNs, "--wait=false"]);
    }
  });
});
