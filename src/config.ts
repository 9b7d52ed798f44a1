import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { JUDGE_MODES, type JudgeMode } from "./api/canary.js";
import { formatDuration, tryParseDuration } from "./api/duration.js";

export interface ControllerConfig {
  kubeconfig: string | undefined;
  metricsServer: string;
  namespace: string | undefined;
  listenAddress: string;
  workers: number;
  /** keys of one namespace reconciled at once, so one namespace cannot take every worker */
  namespaceConcurrency: number;
  /** /healthz fails when one reconcile has run longer than this (ms) */
  reconcileStallMs: number;
  /** SIGTERM: how long to wait for reconciles to finish before exiting anyway (ms) */
  shutdownTimeoutMs: number;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  /** Lease-based shards (docs/scale.md "Shards"): the fixed shard count, or undefined (off) */
  shards: number | undefined;
  shardLeaseNamespace: string;
  /** shard Leases are `<prefix>-shard-<k>`, member Leases `<prefix>-member-<identity>` */
  shardLeasePrefix: string;
  resyncSchedule: string;
  logLevel: string;
  /** the judge of Canaries that set no analysis.judge.mode */
  judge: JudgeMode;
  /** also export Flagger's metric names and labels (flagger_*) beside Serin's own (docs/metrics.md) */
  flaggerMetrics: boolean;
}

const USAGE = `serin — progressive delivery for Kubernetes and Istio

  --metrics-server URL         Prometheus address for the built-in checks (env METRICS_SERVER) [http://prometheus.istio-system:9090]
  --kubeconfig PATH            kubeconfig file; default: in-cluster, then $KUBECONFIG, then ~/.kube/config
  --namespace NS               watch one namespace only (env WATCH_NAMESPACE); default: all
  --listen-address HOST:PORT   /metrics, /healthz, /readyz [:8080]
  --workers N                  Canaries reconciled in parallel [32]
  --namespace-concurrency N    Canaries of one namespace reconciled in parallel
                               [workers with --namespace, else max(1, workers/4)]
  --reconcile-stall-after D    /healthz fails when one reconcile runs longer than D [15m]
  --shutdown-timeout D         on SIGTERM, wait at most D for running reconciles [8s]
  --leader-elect               run several replicas; one acts at a time (Lease)
  --leader-election-namespace  namespace of the Lease (env POD_NAMESPACE) [serin-system]
  --shards S                   run several replicas that share the Canaries: S shards, each a Lease held
                               by one live replica (docs/scale.md); replaces --leader-elect
                               (env SERIN_SHARDS) [off]
  --shard-lease-namespace NS   namespace of the shard Leases [the leader election namespace]
  --shard-lease-prefix P       Leases P-shard-<k> and P-member-<replica> [serin]
  --resync CRON                periodic resync of every Canary [*/5 * * * *]
  --log-level LEVEL            trace, debug, info, warn, error [info]
  --judge MODE                 judge of Canaries without analysis.judge.mode: threshold (Flagger's rule)
                               or sequential (docs/judge.md) (env SERIN_JUDGE) [threshold]
  --flagger-metrics            also export Flagger's metrics (flagger_canary_weight, _status, ...) beside
                               Serin's own, for existing dashboards and alerts (docs/metrics.md)
                               (env SERIN_FLAGGER_METRICS=true) [off]
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
      "namespace-concurrency": { type: "string" },
      "reconcile-stall-after": { type: "string" },
      "shutdown-timeout": { type: "string" },
      "leader-elect": { type: "boolean" },
      "leader-election-namespace": { type: "string" },
      "leader-election-id": { type: "string" },
      shards: { type: "string" },
      "shard-lease-namespace": { type: "string" },
      "shard-lease-prefix": { type: "string" },
      resync: { type: "string" },
      "log-level": { type: "string" },
      judge: { type: "string" },
      "flagger-metrics": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) return "help";
  // Reconciles are mostly waiting on I/O (the API server, Prometheus, webhooks): many are cheap in Node.
  // Reconciles are I/O-bound awaits, so workers = rate x latency (Little's law). At 1,000 Canaries on a
  // 10 s interval: 100 steps/s x ~80 ms (status, route and scale writes, checks) = 8, the sequential
  // judge's ~400 looks/s x ~20 ms = 8, ~300 no-op event reconciles/s x ~5 ms = 1.5; ~17.5 busy on
  // average. 32 covers that twice (promotion waves, a slow API server) for the cost of a parked promise
  // per idle worker; beyond it CPU (~1 ms per reconcile) and the API server's fairness queues limit.
  const workers = Number(values.workers ?? env.WORKERS ?? "32");
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw new ConfigError(`--workers must be a whole number from 1 to 64, got ${values.workers}`);
  }
  const namespace = values.namespace ?? env.WATCH_NAMESPACE ?? undefined;
  // Watching one namespace there is nobody to be fair to; otherwise a quarter of the workers each.
  const defaultShare = namespace ? workers : Math.max(1, Math.floor(workers / 4));
  const namespaceConcurrency = Number(
    values["namespace-concurrency"] ?? env.NAMESPACE_CONCURRENCY ?? defaultShare,
  );
  if (!Number.isInteger(namespaceConcurrency) || namespaceConcurrency < 1 || namespaceConcurrency > workers) {
    throw new ConfigError(
      `--namespace-concurrency must be a whole number from 1 to --workers (${workers}), got ${values["namespace-concurrency"]}`,
    );
  }
  const reconcileStallMs = durationFlag(
    "reconcile-stall-after",
    values["reconcile-stall-after"],
    "15m",
    60_000,
  );
  const shutdownTimeoutMs = durationFlag("shutdown-timeout", values["shutdown-timeout"], "8s", 0);
  const metricsServer =
    values["metrics-server"] ?? env.METRICS_SERVER ?? "http://prometheus.istio-system:9090";
  try {
    new URL(metricsServer);
  } catch {
    throw new ConfigError(
      `--metrics-server must be a URL such as http://prometheus:9090, got ${metricsServer}`,
    );
  }
  const judge = values.judge ?? env.SERIN_JUDGE ?? "threshold";
  if (!(JUDGE_MODES as readonly string[]).includes(judge)) {
    throw new ConfigError(`--judge must be one of ${JUDGE_MODES.join(", ")}, got ${judge}`);
  }
  const shardsText = values.shards ?? env.SERIN_SHARDS;
  const shards = shardsText === undefined || shardsText === "" ? undefined : Number(shardsText);
  if (shards !== undefined && (!Number.isInteger(shards) || shards < 1 || shards > 1024)) {
    throw new ConfigError(`--shards must be a whole number from 1 to 1024, got ${shardsText}`);
  }
  const leaderElect = values["leader-elect"] ?? false;
  if (shards !== undefined && leaderElect) {
    throw new ConfigError(
      "--shards and --leader-elect exclude each other: with --shards every replica acts on the Canaries of the shards it holds, so no leader is needed; drop --leader-elect",
    );
  }
  const leaderElectionNamespace = values["leader-election-namespace"] ?? env.POD_NAMESPACE ?? "serin-system";
  const shardLeasePrefix = values["shard-lease-prefix"] ?? "serin";
  // Lease names are DNS subdomains; the prefix is followed by -shard-<k> or -member-<replica>.
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(shardLeasePrefix)) {
    throw new ConfigError(
      `--shard-lease-prefix must be 1 to 40 lowercase letters, digits or '-', starting and ending with a letter or digit, got ${shardLeasePrefix}`,
    );
  }
  return {
    judge: judge as JudgeMode,
    flaggerMetrics:
      values["flagger-metrics"] ?? booleanEnv("SERIN_FLAGGER_METRICS", env.SERIN_FLAGGER_METRICS),
    kubeconfig: values.kubeconfig ?? env.KUBECONFIG_PATH,
    metricsServer,
    namespace,
    listenAddress: values["listen-address"] ?? ":8080",
    workers,
    namespaceConcurrency,
    reconcileStallMs,
    shutdownTimeoutMs,
    leaderElect,
    leaderElectionNamespace,
    shards,
    shardLeaseNamespace: values["shard-lease-namespace"] ?? leaderElectionNamespace,
    shardLeasePrefix,
    leaderElectionId: values["leader-election-id"] ?? "serin-leader",
    resyncSchedule: values.resync ?? "*/5 * * * *",
    logLevel: values["log-level"] ?? env.LOG_LEVEL ?? "info",
  };
}

/** An on/off environment variable: unset or empty is off; anything but true/false/1/0 is a mistake worth failing on. */
function booleanEnv(name: string, value: string | undefined): boolean {
  if (value === undefined || value === "") return false;
  const v = value.toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new ConfigError(`${name} must be true or false, got ${value}`);
}

/** A Go duration flag, at least `minMs` and at most a day (it drives a timer or a probe). */
function durationFlag(flag: string, value: string | undefined, fallback: string, minMs: number): number {
  const ms = tryParseDuration(value ?? fallback);
  if (ms === undefined || ms < minMs || ms > 86_400_000) {
    throw new ConfigError(
      `--${flag} must be a duration from ${formatDuration(minMs)} to 24h such as ${fallback}, got ${value}`,
    );
  }
  return ms;
}

export const usage = USAGE;
export const identity = () => `${hostname()}-${process.pid}`;
