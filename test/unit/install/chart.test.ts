// charts/serin renders what a user asks for, refuses what Serin would refuse, and installs the same
// objects as the kustomize base (deploy/). Rendered by the real helm and kubectl (no cluster needed).
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import {
  CHART_DIR,
  helm,
  helmTemplate,
  kustomize,
  type Manifest,
  only,
  type SerinContainer,
  serinContainer,
} from "../../support/install.js";

const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;

const custom = {
  image: { repository: "registry.example/serin", tag: "1.2.3", digest: DIGEST },
  replicas: 3,
  prometheus: { url: "http://prometheus.monitoring:9090" },
  leaderElection: { enabled: true },
  logLevel: "debug",
  flaggerMetrics: true,
  resources: { requests: { cpu: "200m", memory: "128Mi" }, limits: { memory: "512Mi" } },
  extraArgs: ["--judge=sequential", "--workers=16"],
  nodeOptions: "--max-semi-space-size=2",
};

function names(manifests: Manifest[]): string[] {
  return manifests.map((m) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`).sort();
}

describe("helm template charts/serin", () => {
  it("puts each value where Serin reads it", () => {
    const out = helmTemplate({ namespace: "delivery", values: custom });
    const deployment = only(out, "Deployment");
    expect((deployment.spec as { replicas: number }).replicas).toBe(3);
    const c = serinContainer(deployment);
    expect(c.image).toBe(`registry.example/serin:1.2.3@${DIGEST}`);
    expect(c.args).toEqual([
      "--metrics-server=http://prometheus.monitoring:9090",
      "--leader-elect",
      "--log-level=debug",
      "--flagger-metrics",
      "--judge=sequential",
      "--workers=16",
    ]);
    expect(c.env).toContainEqual({ name: "NODE_OPTIONS", value: "--max-semi-space-size=2" });
    // The Lease namespace is the pod's own, as in deploy/ (POD_NAMESPACE).
    expect(c.env).toContainEqual({
      name: "POD_NAMESPACE",
      valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
    });
    expect(c.resources).toEqual(custom.resources);
    for (const m of out.filter((m) => !m.kind.startsWith("Cluster")))
      expect(m.metadata.namespace).toBe("delivery");
  });

  it("pulls by tag alone when no digest is given, the chart's appVersion by default", () => {
    const chart = load(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as { appVersion: string };
    expect(serinContainer(only(helmTemplate(), "Deployment")).image).toBe(
      `ghcr.io/serin-dev/serin:${chart.appVersion}`,
    );
  });

  it("shards replace leader election (--shards, no --leader-elect)", () => {
    const out = helmTemplate({ values: { shards: 8, leaderElection: { enabled: false } } });
    const args = serinContainer(only(out, "Deployment")).args;
    expect(args).toContain("--shards=8");
    expect(args).not.toContain("--leader-elect");
  });

  it("all namespaces: a ClusterRole; one namespace: --namespace and the same rules as a Role there only", () => {
    const cluster = helmTemplate();
    const clusterRole = only(cluster, "ClusterRole", "serin");
    expect(serinContainer(only(cluster, "Deployment")).args?.some((a) => a.startsWith("--namespace"))).toBe(
      false,
    );

    const scoped = helmTemplate({ namespace: "serin-system", values: { watchNamespace: "shop" } });
    expect(scoped.filter((m) => m.kind.startsWith("Cluster"))).toEqual([]);
    const role = only(scoped, "Role", "serin");
    expect(role.metadata.namespace).toBe("shop");
    expect(role.rules).toEqual(clusterRole.rules);
    const binding = only(scoped, "RoleBinding", "serin");
    expect(binding.metadata.namespace).toBe("shop");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "serin", namespace: "serin-system" }]);
    expect(serinContainer(only(scoped, "Deployment")).args).toContain("--namespace=shop");
    // Leases stay in the release namespace, where the pod runs.
    expect(only(scoped, "Role", "serin-leader-election").metadata.namespace).toBe("serin-system");
  });

  it.each([
    [{ unknownKey: 1 }, /additional properties 'unknownKey' not allowed/],
    [{ image: { repository: "r", digest: "sha256:abc" } }, /\/image\/digest/],
    [{ logLevel: "verbose" }, /\/logLevel/],
    [{ watchNamespace: "Not_A_Namespace" }, /\/watchNamespace/],
    [{ shards: 4 }, /shards and leaderElection.enabled exclude each other.*set leaderElection.enabled=false/],
    [{ leaderElection: { enabled: false } }, /replicas=2 with neither leaderElection.enabled nor shards/],
  ])("refuses %j, naming the value", (values, message) => {
    expect(() => helmTemplate({ values })).toThrow(message);
  });

  it("one replica without leader election is allowed", () => {
    const out = helmTemplate({ values: { replicas: 1, leaderElection: { enabled: false } } });
    expect(serinContainer(only(out, "Deployment")).args).not.toContain("--leader-elect");
  });

  it("--include-crds renders the CRDs of crds/ unchanged", () => {
    const crds = helmTemplate({ includeCrds: true }).filter((m) => m.kind === "CustomResourceDefinition");
    const repo = ["canaries", "metrictemplates", "alertproviders"].map((p) =>
      load(readFileSync(join(CHART_DIR, "..", "..", "crds", `serin.dev_${p}.yaml`), "utf8")),
    );
    expect(crds).toEqual(expect.arrayContaining(repo));
    expect(crds).toHaveLength(3);
  });

  it("helm lint --strict is clean, with the defaults and with every value set", () => {
    for (const extra of [
      [],
      ["--set", "replicas=1,leaderElection.enabled=false,watchNamespace=shop,logLevel=warn"],
    ]) {
      const out = helm(["lint", "--strict", CHART_DIR, ...extra]);
      expect(out).toContain("1 chart(s) linted, 0 chart(s) failed");
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });
});

describe("grafana.dashboards", () => {
  /** A copy of the chart whose dashboards/ holds exactly `files`. */
  function chartWith(files: Record<string, string>): string {
    const dir = join(mkdtempSync(join(tmpdir(), "serin-chart-")), "serin");
    cpSync(CHART_DIR, dir, { recursive: true });
    rmSync(join(dir, "dashboards"), { recursive: true, force: true });
    if (Object.keys(files).length > 0) mkdirSync(join(dir, "dashboards"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "dashboards", name), text);
    return dir;
  }
  const enabled = { grafana: { dashboards: { enabled: true } } };

  it("renders every dashboards/*.json into one ConfigMap labelled grafana_dashboard=1", () => {
    const a = JSON.stringify({ title: "Serin rollout", panels: [{ type: "timeseries" }] }, null, 2);
    const b = JSON.stringify({ title: "Other" });
    const chart = chartWith({ "serin-rollout.json": a, "other.json": b, "notes.txt": "not a dashboard" });
    const cm = only(helmTemplate({ chart, values: enabled }), "ConfigMap");
    expect(cm.metadata.name).toBe("serin-dashboards");
    expect(cm.metadata.labels?.grafana_dashboard).toBe("1");
    expect(cm.data).toEqual({ "serin-rollout.json": a, "other.json": b });

    const elsewhere = { grafana: { dashboards: { enabled: true, namespace: "monitoring" } } };
    expect(only(helmTemplate({ chart, values: elsewhere }), "ConfigMap").metadata.namespace).toBe(
      "monitoring",
    );
    expect(helmTemplate({ chart }).filter((m) => m.kind === "ConfigMap")).toEqual([]);
  });

  it("renders no ConfigMap, and no error, from a chart without dashboard files", () => {
    const out = helmTemplate({ chart: chartWith({}), values: enabled });
    expect(out.filter((m) => m.kind === "ConfigMap")).toEqual([]);
    expect(out.length).toBeGreaterThan(0);
  });

  it("ships the chart's own dashboards, when it has some, byte for byte", () => {
    const out = helmTemplate({ values: enabled }).filter((m) => m.kind === "ConfigMap");
    const own = listDashboards();
    if (own.length === 0) expect(out).toEqual([]);
    else {
      const data = (only(out, "ConfigMap").data ?? {}) as Record<string, string>;
      expect(Object.keys(data).sort()).toEqual(own.map((f) => f.name).sort());
      for (const f of own) {
        expect(data[f.name]).toBe(f.text);
        expect(() => JSON.parse(f.text), `${f.name} is not JSON`).not.toThrow();
      }
    }
  });
});

function listDashboards(): Array<{ name: string; text: string }> {
  const dir = join(CHART_DIR, "dashboards");
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  return files.map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

describe("the chart and the kustomize base install the same Serin", () => {
  const base = kustomize();
  const chart = helmTemplate({ includeCrds: true });

  it("the same kinds and names (the namespace is Helm's --create-namespace)", () => {
    const kinds = (ms: Manifest[]) =>
      ms.map((m) => `${m.kind}/${m.metadata.name}`).filter((n) => n !== "Namespace/serin-system");
    expect(kinds(chart).sort()).toEqual(kinds(base).sort());
    expect(names(base)).toContain("Namespace//serin-system");
  });

  it("the same RBAC rules (deploy/rbac.yaml explains each verb; keep both in step)", () => {
    for (const [kind, name] of [
      ["ClusterRole", "serin"],
      ["Role", "serin-leader-election"],
    ] as const) {
      expect(only(chart, kind, name).rules, `${kind} ${name}`).toEqual(only(base, kind, name).rules);
    }
  });

  it("the same container: image, flags, env, probes, resources and security context", () => {
    const fromChart = serinContainer(only(chart, "Deployment"));
    const fromBase = serinContainer(only(base, "Deployment"));
    // deploy/ sets the Prometheus URL through METRICS_SERVER (an overlay patches one env entry), the chart
    // through --metrics-server; Serin reads either (src/config.ts).
    const metricsServer = (c: SerinContainer) =>
      c.args?.find((a) => a.startsWith("--metrics-server="))?.slice("--metrics-server=".length) ??
      c.env?.find((e) => e.name === "METRICS_SERVER")?.value;
    expect(metricsServer(fromChart)).toBe(metricsServer(fromBase));
    const comparable = (c: SerinContainer) => ({
      ...c,
      args: c.args?.filter((a) => !a.startsWith("--metrics-server=") && a !== "--log-level=info"),
      env: c.env?.filter((e) => e.name !== "METRICS_SERVER"),
      imagePullPolicy: undefined,
    });
    expect(comparable(fromChart)).toEqual(comparable(fromBase));
    const replicas = (m: Manifest) => (m.spec as { replicas: number }).replicas;
    expect(replicas(only(chart, "Deployment"))).toBe(replicas(only(base, "Deployment")));
  });
});
