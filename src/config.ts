import { hostname } from "node:os";
import { parseArgs } from "node:util";

export interface ControllerConfig {
  kubeconfig: string | undefined;
  metricsServer: string;
  namespace: string | undefined;
  listenAddress: string;
  workers: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  resyncSchedule: string;
  logLevel: string;
}

const USAGE = `serin — progressive delivery for Kubernetes and Istio

  --metrics-server URL         Prometheus address for the built-in checks (env METRICS_SERVER) [http://prometheus.istio-system:9090]
  --kubeconfig PATH            kubeconfig file; default: in-cluster, then $KUBECONFIG, then ~/.kube/config
  --namespace NS               watch one namespace only (env WATCH_NAMESPACE); default: all
  --listen-address HOST:PORT   /metrics, /healthz, /readyz [:8080]
  --workers N                  Canaries reconciled in parallel [4]
  --leader-elect               run several replicas; one acts at a time (Lease)
  --leader-election-namespace  namespace of the Lease (env POD_NAMESPACE) [serin-system]
  --resync CRON                periodic resync of every Canary [*/5 * * * *]
  --log-level LEVEL            trace, debug, info, warn, error [info]
`;

export class ConfigError extends Error {}

/** Flags win over environment variables; every value is checked here so a typo fails at start-up, loudly. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ControllerConfig | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      "metrics-server": { type: "string" },
      kubeconfig: { type: "string" },
      namespace: { type: "string" },
      "listen-address": { type: "string" },
      workers: { type: "string" },
      "leader-elect": { type: "boolean" },
      "leader-election-namespace": { type: "string" },
      "leader-election-id": { type: "string" },
      resync: { type: "string" },
      "log-level": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  const workers = Number(values.workers ?? env.WORKERS ?? "4");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new ConfigError(`--workers must be a whole number from 1 to 64, got ${values.workers}`);
  }
  const metricsServer =
    values["metrics-server"] ?? env.METRICS_SERVER ?? "http://prometheus.istio-system:9090";
  try {
    new URL(metricsServer);
  } catch {
    throw new ConfigError(
      `--metrics-server must be a URL such as http://prometheus:9090, got ${metricsServer}`,
    );
  }
  return {
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG_PATH,
    metricsServer,
    namespace: values.namespace ?? env.WATCH_NAMESPACE ?? undefined,
    listenAddress: values["listen-address"] ?? ":8080",
    workers,
    leaderElect: values["leader-elect"] ?? false,
    leaderElectionNamespace: values["leader-election-namespace"] ?? env.POD_NAMESPACE ?? "serin-system",
    leaderElectionId: values["leader-election-id"] ?? "serin-leader",
    resyncSchedule: values.resync ?? "*/5 * * * *",
    logLevel: values["log-level"] ?? env.LOG_LEVEL ?? "info",
  };
}

export const usage = USAGE;
export const identity = () => `${hostname()}-${process.pid}`;
