#!/usr/bin/env node
// Serin's entry point: wire the shell (clients, caches, queue, HTTP) around the pure core and run.
import { randomBytes } from "node:crypto";
import { identity, parseConfig, usage } from "./config.js";
import { Applier } from "./controller/apply.js";
import { ClusterCache } from "./controller/cluster-cache.js";
import { CanaryController } from "./controller/controller.js";
import { Reconciler } from "./controller/reconciler.js";
import { Reporter } from "./controller/reporter.js";
import { canaryCounter } from "./controller/rollout-metrics.js";
import { kubeAgents } from "./kube/agent-pool.js";
import { connect, keyOf } from "./kube/client.js";
import { EventRecorder } from "./kube/events.js";
import { LeaderElector } from "./kube/leader-election.js";
import { KubeLeaseApi, ShardManager } from "./kube/shard-leases.js";
import { PrometheusClient } from "./metrics/prometheus-client.js";
import { destroyPooledConnections } from "./net/agents.js";
import { redact } from "./net/redact.js";
import { startHttpServer } from "./observability/http-server.js";
import { createLogger } from "./observability/logger.js";
import { ControllerMetrics } from "./observability/metrics.js";
import { SERIN_VERSION } from "./version.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    process.exit(2);
  }
  if (config === "help") {
    process.stdout.write(usage);
    return;
  }
  const log = createLogger(config.logLevel);
  const clients = connect(config.kubeconfig);
  const metrics = new ControllerMetrics(config.flaggerMetrics ? { flagger: { version: SERIN_VERSION } } : {});
  const cache = new ClusterCache(clients, log, config.namespace);
  const events = new EventRecorder(clients.rest, log);
  const reconciler = new Reconciler({
    clients,
    cache,
    reporter: new Reporter(clients, cache, events, log),
    applier: new Applier(clients, cache, log),
    events,
    prometheus: new PrometheusClient({ address: config.metricsServer }),
    metrics,
    log,
    defaultJudge: config.judge,
  });
  // --shards: one identity per process incarnation (a restarted pod keeps its name, and must not
  // inherit the shards of the incarnation before it without waiting them out like anyone else).
  const shards =
    config.shards === undefined
      ? undefined
      : new ShardManager(
          new KubeLeaseApi(clients.config),
          {
            namespace: config.shardLeaseNamespace,
            prefix: config.shardLeasePrefix,
            identity: `${identity()}-${randomBytes(3).toString("hex")}`.toLowerCase(),
            shards: config.shards,
          },
          log,
          metrics.registry,
        );
  const controller = new CanaryController(cache, reconciler, metrics, log, {
    workers: config.workers,
    resyncSchedule: config.resyncSchedule,
    namespaceConcurrency: config.namespaceConcurrency,
    reconcileStallMs: config.reconcileStallMs,
    ...(shards ? { gate: shards } : {}),
  });
  const elector = config.leaderElect
    ? new LeaderElector(
        clients.config,
        { namespace: config.leaderElectionNamespace, name: config.leaderElectionId, identity: identity() },
        log,
      )
    : undefined;

  const server = await startHttpServer(config.listenAddress, metrics.registry, {
    healthy: () => controller.health(),
    // A standby replica is ready to take over; the leader is ready once its caches are synced.
    // With shards: once it has tried for its share (a replica holding none is ready to take some).
    ready: () =>
      elector !== undefined && !elector.leading ? true : cache.synced() && (shards?.tried ?? true),
  });
  log.info(
    {
      listen: config.listenAddress,
      metricsServer: redact(config.metricsServer),
      namespace: config.namespace ?? "(all)",
      workers: config.workers,
      namespaceConcurrency: config.namespaceConcurrency,
      ...(shards
        ? {
            shards: config.shards,
            shardLeases: `${config.shardLeaseNamespace}/${config.shardLeasePrefix}-*`,
            identity: shards.identity,
          }
        : {}),
    },
    "serin starting",
  );

  let stopping = false;
  // Bounded: the kubelet kills us after terminationGracePeriodSeconds (30 s) anyway, and a rolling
  // update waits for us. Outbound calls are aborted first (controller.stop -> reconciler.cancelAll),
  // so reconciles return quickly; whatever still runs after the deadline is abandoned.
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutting down");
    const deadline = Date.now() + config.shutdownTimeoutMs;
    const within = async (what: string, work: Promise<unknown>) => {
      const left = Math.max(0, deadline - Date.now());
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<"expired">((r) => {
        timer = setTimeout(() => r("expired"), left);
      });
      const result = await Promise.race([work.then(() => "done" as const), expired]).catch(
        () => "failed" as const,
      );
      clearTimeout(timer);
      if (result !== "done")
        log.warn({ step: what, result }, "shutdown step did not finish in time; exiting anyway");
    };
    elector?.stop();
    await within("stop workers", controller.stop());
    // After the workers: shards are given back only when no reconcile is left running.
    if (shards) await within("give shards back", shards.stop());
    await within("stop informers", cache.stop());
    destroyPooledConnections();
    kubeAgents.destroy();
    server.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  if (elector) {
    await elector.acquire(() => {
      // Another replica may be acting already: stop at once, like controller-runtime, and let Kubernetes restart us.
      process.exit(1);
    });
  }
  if (stopping) return; // SIGTERM while waiting for the lease: shutdown() exits
  await cache.start();
  const countCanaries = canaryCounter(metrics);
  countCanaries(cache.canaries.list());
  cache.canaries.onChange(() => countCanaries(cache.canaries.list()));
  controller.start();
  shards?.start({
    // A fresh reconcile of each Canary of a gained shard, from its status (the record of intent).
    gained: (gained) => {
      const set = new Set(gained);
      let n = 0;
      for (const c of cache.canaries.list()) {
        if (!set.has(shards.shardOf(keyOf(c)))) continue;
        controller.queue.add(keyOf(c));
        n++;
      }
      log.debug({ shards: gained, canaries: n }, "shards gained: Canaries enqueued");
    },
    released: (released) => {
      const set = new Set(released);
      for (const c of cache.canaries.list()) {
        const key = keyOf(c);
        if (!set.has(shards.shardOf(key))) continue;
        const { namespace = "", name = "" } = c.metadata ?? {};
        // Idle when given back; only a shard taken from us (which the fence rules out) has calls to abort.
        reconciler.cancel(namespace, name);
        reconciler.forget(namespace, name);
      }
    },
    // Another replica may take these shards over once our Lease expires: stop at once, like --leader-elect.
    fenceLost: () => process.exit(1),
  });
  log.info({ canaries: cache.canaries.list().length }, "caches synced; controller running");
}

main().catch((err: unknown) => {
  process.stderr.write(`serin: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
