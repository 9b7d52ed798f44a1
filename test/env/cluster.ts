import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePki, type Pki } from "./certificates.js";
import { distinctFreePorts, type ManagedProcess, sleep, startProcess, waitFor } from "./processes.js";
import { binDir } from "./toolchain.js";

/**
 * A real local control plane: etcd, kube-apiserver (RBAC on, client-cert auth),
 * kube-controller-manager (Deployments -> ReplicaSets -> Pods, garbage collection, service accounts),
 * kube-scheduler, and kwok standing in for kubelets so that pods become Running/Ready.
 */
export interface Cluster {
  readonly server: string;
  readonly kubeconfigPath: string;
  readonly dir: string;
  readonly pki: Pki;
  kubectl(args: string[], input?: string): string;
  /**
   * Fault injection: stops kube-apiserver only (etcd, the controllers and kwok keep running and retry),
   * with SIGTERM (graceful) or SIGKILL (crash). Idempotent.
   */
  stopApiServer(signal?: NodeJS.Signals): Promise<void>;
  /** Starts kube-apiserver again on the same address, with the same data; resolves once /readyz is ok. */
  startApiServer(): Promise<void>;
  apiServerRunning(): boolean;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Where certificates, data and logs go; a fresh temp dir by default. */
  dir?: string;
  /** Keep `dir` after stop (logs for post-mortems). */
  keepDir?: boolean;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "serin-cluster-"));
  mkdirSync(dir, { recursive: true });
  const logs = join(dir, "logs");
  mkdirSync(logs, { recursive: true });
  const bin = binDir();
  const pki = generatePki(dir);
  const processes: ManagedProcess[] = [];
  const stopAll = async () => {
    for (const p of [...processes].reverse()) await p.stop();
  };

  try {
    const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort, kwokPort] = await distinctFreePorts(6);
    const etcd = startProcess(
      "etcd",
      join(bin, "etcd"),
      [
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        "--unsafe-no-fsync", // test data only: fsync dominates write latency on shared disks
        "--log-level=warn",
      ],
      logs,
    );
    processes.push(etcd);
    await waitFor("etcd", () => httpOk(`http://127.0.0.1:${etcdClient}/health`), {
      timeoutMs: 30_000,
      process: etcd,
    });

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, "apiserver-certs")}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--api-audiences=https://kubernetes.default.svc.cluster.local",
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.96.0.0/16",
      "--allow-privileged=true",
      "--endpoint-reconciler-type=none",
      "--v=1",
    ];
    const launchApiServer = () =>
      startProcess("kube-apiserver", join(bin, "kube-apiserver"), apiserverArgs, logs);
    let apiserver = launchApiServer();
    processes.push(apiserver);
    await waitFor("kube-apiserver /readyz", () => apiOk(server, pki, "/readyz"), {
      timeoutMs: 90_000,
      process: apiserver,
    });
    let apiserverTransition: Promise<void> = Promise.resolve();
    const inTurn = (work: () => Promise<void>): Promise<void> => {
      const next = apiserverTransition.then(work);
      apiserverTransition = next.catch(() => {});
      return next;
    };

    const kubeconfigPath = join(dir, "kubeconfig");
    writeFileSync(kubeconfigPath, kubeconfig(server, pki));

    processes.push(
      startProcess(
        "kube-controller-manager",
        join(bin, "kube-controller-manager"),
        [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${kcmPort}`,
          "--leader-elect=false",
          `--service-account-private-key-file=${pki.serviceAccountKey}`,
          `--root-ca-file=${pki.caCert}`,
          "--use-service-account-credentials=false",
          // Quick GC and rollouts matter more here than API politeness.
          "--kube-api-qps=200",
          "--kube-api-burst=400",
          "--concurrent-deployment-syncs=10",
          "--concurrent-replicaset-syncs=10",
          "--concurrent-gc-syncs=20",
          "--v=1",
        ],
        logs,
      ),
      startProcess(
        "kube-scheduler",
        join(bin, "kube-scheduler"),
        [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          "--bind-address=127.0.0.1",
          `--secure-port=${schedPort}`,
          "--leader-elect=false",
          "--v=1",
        ],
        logs,
      ),
      startProcess(
        "kwok",
        join(bin, "kwok"),
        [
          `--kubeconfig=${kubeconfigPath}`,
          `--config=${join(bin, "kwok-stages.yaml")}`,
          "--manage-all-nodes=false",
          "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
          "--node-lease-duration-seconds=40",
          `--server-address=127.0.0.1:${kwokPort}`,
          "--cidr=10.244.0.0/16",
          "--node-ip=10.244.0.1",
        ],
        logs,
      ),
    );

    const cluster: Cluster = {
      server,
      kubeconfigPath,
      dir,
      pki,
      kubectl(args, input) {
        return execFileSync(kubectlPath(), [`--kubeconfig=${kubeconfigPath}`, ...args], {
          input,
          encoding: "utf8",
          stdio: ["pipe", "pipe", "pipe"],
        });
      },
      stopApiServer: (signal = "SIGTERM") =>
        inTurn(async () => {
          if (apiserver.exited()) return;
          await (signal === "SIGTERM" ? apiserver.stop() : apiserver.kill(signal));
        }),
      startApiServer: () =>
        inTurn(async () => {
          if (!apiserver.exited()) return;
          const previous = apiserver;
          apiserver = launchApiServer();
          processes[processes.indexOf(previous)] = apiserver;
          await waitFor("kube-apiserver /readyz (restart)", () => apiOk(server, pki, "/readyz"), {
            timeoutMs: 90_000,
            process: apiserver,
          });
        }),
      apiServerRunning: () => !apiserver.exited(),
      async stop() {
        await inTurn(async () => {});
        await stopAll();
        if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };

    for (const node of ["kwok-node-0", "kwok-node-1"])
      cluster.kubectl(["apply", "-f", "-"], JSON.stringify(kwokNode(node)));
    await waitFor(
      "kwok nodes Ready",
      async () =>
        cluster
          .kubectl([
            "get",
            "nodes",
            "-o",
            "jsonpath={.items[*].status.conditions[?(@.type=='Ready')].status}",
          ])
          .trim() === "True True",
      { timeoutMs: 60_000 },
    );
    // The default ServiceAccount appears asynchronously; pods are rejected until it exists.
    await waitFor(
      "default ServiceAccount",
      async () => {
        cluster.kubectl(["get", "serviceaccount", "default", "-n", "default"]);
        return true;
      },
      { timeoutMs: 60_000 },
    );
    return cluster;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

export function kubectlPath(): string {
  const built = join(binDir(), "kubectl");
  return existsSync(built) ? built : "kubectl";
}

/** A Node that kwok manages (the `kwok.x-k8s.io/node: fake` annotation), with room for `pods` pods. */
export function kwokNode(name: string, pods = 500): object {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
      },
    },
    status: {
      allocatable: { cpu: "64", memory: "256Gi", pods: String(pods) },
      capacity: { cpu: "64", memory: "256Gi", pods: String(pods) },
    },
  };
}

function kubeconfig(server: string, pki: Pki): string {
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "serin-testenv", cluster: { server, "certificate-authority": pki.caCert } }],
      users: [{ name: "admin", user: { "client-certificate": pki.adminCert, "client-key": pki.adminKey } }],
      contexts: [
        { name: "serin-testenv", context: { cluster: "serin-testenv", user: "admin", namespace: "default" } },
      ],
      "current-context": "serin-testenv",
    },
    null,
    2,
  );
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url);
  return res.ok;
}

function apiOk(server: string, pki: Pki, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      {
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        timeout: 5000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

export { sleep };
