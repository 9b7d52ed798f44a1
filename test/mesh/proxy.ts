// "The client sidecar": an HTTP server on loopback that routes each request by the xDS configuration
// istiod pushed to the calling workload's (simulated) sidecar, with Envoy's semantics (envoy/), forwards
// it to the backend of the pod behind the chosen endpoint, and records Istio's metrics on both sides.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import type { BackendManager, BackendSpec } from "./backends.js";
import { behaviourFor, behaviourKey, type ImageCatalogue } from "./behaviour.js";
import { ConnectionPools } from "./connection-pool.js";
import { podPeer, workloadOf } from "./endpoints.js";
import type { CompiledCluster } from "./envoy/clusters.js";
import { decideFault } from "./envoy/fault.js";
import type { Headers } from "./envoy/headers.js";
import { eligibleHosts, type LbRequest, LoadBalancer } from "./envoy/load-balancer.js";
import type { MatchRequest } from "./envoy/matchers.js";
import { OutlierDetector, type OutlierResult, outlierResultOf } from "./envoy/outlier.js";
import { type AttemptOutcome, backoffMs, isRetriable, type RetryPolicy } from "./envoy/retry.js";
import { splitHost } from "./envoy/route-table.js";
import {
  type CompiledSidecarConfig,
  compileSidecarConfig,
  decide,
  finalizeResponseHeaders,
  type RouteDecision,
  upstreamRequest,
} from "./envoy/sidecar-config.js";
import type { XdsSnapshot } from "./envoy/xds-json.js";
import { shadowAuthority, splitServiceFqdn } from "./hosts.js";
import { flattenHeaders, readBody, responseHeaders } from "./http-util.js";
import { listenLoopback } from "./listen.js";
import type { MeshIndex } from "./mesh-index.js";
import type { PodInfo } from "./model.js";
import {
  type PeerInfo,
  SOURCE_HEADERS,
  type SourceIdentity,
  sourceFromHeaders,
  UNKNOWN,
  UNKNOWN_PEER,
} from "./peer.js";
import type { Rng } from "./rng.js";
import type { MeshTelemetry, ServiceRef } from "./telemetry.js";
import { sendUpstream } from "./upstream.js";

/** Who a sidecar belongs to: what istiod selects its configuration by (structurally xds/client's). */
export interface SidecarIdentity {
  namespace: string;
  labels: Record<string, string>;
  workload: string;
  serviceAccount: string;
}

/** A simulated sidecar's configuration source (structurally xds/client's Sidecar). */
export interface SidecarSource {
  config(): XdsSnapshot;
}

export interface ProxyDeps {
  /** Pods (by IP), ReplicaSets and ConfigMaps: endpoint -> pod -> backend and peer labels. */
  index: () => MeshIndex;
  /** The calling workload's sidecar, resolved once its xDS configuration is complete. */
  sidecarFor: (identity: SidecarIdentity) => Promise<SidecarSource>;
  backends: BackendManager;
  telemetry: MeshTelemetry;
  catalogue: ImageCatalogue;
  rng: Rng;
  /** Namespace assumed for a caller that sends no x-mesh-source-namespace. */
  defaultNamespace: string;
  log: (msg: string) => void;
}

const BODY_LIMIT = 8 * 1024 * 1024;
const MIRROR_TIMEOUT_MS = 30_000;

interface Outcome {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | string;
  flags: string[];
  /** The pod that produced the response, if one did. */
  peer: PeerInfo;
}

function local(status: number, flags: string[], body = ""): Outcome {
  return { status, headers: {}, body, flags, peer: UNKNOWN_PEER };
}

export function serviceRefOf(host: string): ServiceRef {
  const s = splitServiceFqdn(host);
  return s ? { host, name: s.name, namespace: s.namespace } : { host, name: host, namespace: UNKNOWN };
}

/** destination_service of a cluster `outbound|PORT|SUBSET|FQDN`. */
export function clusterServiceRef(c: CompiledCluster): ServiceRef | undefined {
  return c.service ? serviceRefOf(c.service.host) : undefined;
}

/** The sidecar identity of a caller, from the x-mesh-source-* headers (none: an unknown peer). */
export function identityOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  source: SourceIdentity,
): SidecarIdentity {
  const one = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const workload = one(SOURCE_HEADERS.workload);
  if (!workload)
    return { namespace: source.namespace, labels: {}, workload: UNKNOWN, serviceAccount: "default" };
  return {
    namespace: source.namespace,
    labels: { ...source.labels },
    workload,
    serviceAccount: one(SOURCE_HEADERS.serviceAccount) || "default",
  };
}

export function sidecarKey(id: SidecarIdentity): string {
  const labels = Object.keys(id.labels)
    .sort()
    .map((k) => [k, id.labels[k]]);
  return JSON.stringify([id.namespace, labels, id.workload, id.serviceAccount]);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

type Forward = Extract<RouteDecision, { kind: "forward" }>;

export class MeshProxy {
  private readonly lb = new LoadBalancer();
  private readonly pools = new ConnectionPools();
  /** Envoy's outlier detection state, per client sidecar and cluster. */
  private readonly outliers = new Map<string, OutlierDetector>();
  /** Retries in flight per client sidecar and cluster (circuit breaker max_retries). */
  private readonly activeRetries = new Map<string, number>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 64 });
  private readonly specCache = new WeakMap<MeshIndex, Map<string, BackendSpec>>();
  readonly server: http.Server;

  constructor(private readonly deps: ProxyDeps) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        deps.log(`proxy error: ${err instanceof Error ? err.stack : String(err)}`);
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end("mesh simulator internal error");
      });
    });
    this.server.keepAliveTimeout = 30_000;
  }

  listen(port: number, host = "127.0.0.1"): Promise<number> {
    return listenLoopback(this.server, port, host);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  /** Which backend serves a pod (one per workload version and behaviour). */
  backendSpec(index: MeshIndex, pod: PodInfo): BackendSpec {
    let cache = this.specCache.get(index);
    if (!cache) {
      cache = new Map();
      this.specCache.set(index, cache);
    }
    const k = `${pod.namespace}/${pod.name}`;
    let spec = cache.get(k);
    if (!spec) {
      const workload = workloadOf(index, pod);
      const behaviour = behaviourFor(index, pod, this.deps.catalogue);
      const version = pod.labels["pod-template-hash"] ?? pod.name;
      spec = {
        key: `${pod.namespace}/${workload}/${version}/${behaviourKey(behaviour)}`,
        namespace: pod.namespace,
        workload,
        behaviour,
      };
      cache.set(k, spec);
    }
    return spec;
  }

  private outlier(stateKey: string): OutlierDetector {
    let d = this.outliers.get(stateKey);
    if (!d) {
      d = new OutlierDetector();
      this.outliers.set(stateKey, d);
    }
    return d;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const source = sourceFromHeaders(req.headers, this.deps.defaultNamespace, req.socket.remoteAddress ?? "");
    const identity = identityOf(req.headers, source);
    const headers = flattenHeaders(req.headers, true);
    const ctx: RequestContext = {
      start: performance.now(),
      source,
      sidecarKey: sidecarKey(identity),
      res,
      recorded: false,
      clientGone: new AbortController(),
      serviceRef: undefined,
    };
    // Listen for the client leaving before the first await: a caller that gives up while its sidecar
    // connects, its body is read or a backend starts must abort everything done on its behalf.
    res.on("close", () => {
      if (!res.writableFinished) {
        ctx.clientGone.abort();
        this.recordSource(ctx, 0, ["DC"], UNKNOWN_PEER);
      }
    });
    let sidecar: SidecarSource;
    try {
      sidecar = await this.deps.sidecarFor(identity);
    } catch (err) {
      this.deps.log(
        `sidecar for ${ctx.sidecarKey} not ready: ${err instanceof Error ? err.message : String(err)}`,
      );
      this.reply(
        ctx,
        local(503, ["NC"], "mesh simulator: the caller's sidecar has no configuration from istiod"),
      );
      return;
    }
    // A real pod's sidecar is ready before the app sends traffic: latency starts now.
    ctx.start = performance.now();
    const body = await readBody(req, BODY_LIMIT);
    if (ctx.clientGone.signal.aborted) return;
    if (body === undefined) {
      this.reply(ctx, local(413, [], "payload too large"));
      return;
    }
    const config = compileSidecarConfig(sidecar.config());
    const m: MatchRequest = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      authority: req.headers.host ?? "",
      scheme: "http",
      headers,
    };
    const decision = decide(config, m, this.deps.rng);
    switch (decision.kind) {
      case "no-route":
        ctx.serviceRef = serviceRefOf(decision.serviceHost);
        this.reply(ctx, local(404, ["NR"]));
        return;
      case "redirect": {
        const h: Headers = { location: decision.location };
        finalizeResponseHeaders(decision, h);
        this.reply(ctx, { status: decision.status, headers: h, body: "", flags: [], peer: UNKNOWN_PEER });
        return;
      }
      case "direct": {
        const h: Headers = {};
        finalizeResponseHeaders(decision, h);
        this.reply(ctx, {
          status: decision.status,
          headers: h,
          body: decision.body,
          flags: [],
          peer: UNKNOWN_PEER,
        });
        return;
      }
      case "forward":
        await this.forward(config, decision, m, headers, body, ctx);
        return;
    }
  }

  private async forward(
    config: CompiledSidecarConfig,
    d: Forward,
    m: MatchRequest,
    inHeaders: Record<string, string>,
    body: Buffer,
    ctx: RequestContext,
  ): Promise<void> {
    ctx.serviceRef = serviceRefOf(d.serviceHost);
    const cluster = d.clusterName ? config.clusters.get(d.clusterName) : undefined;
    if (!cluster) {
      this.reply(ctx, local(d.action.clusterNotFoundStatus, ["NC"]));
      return;
    }
    ctx.serviceRef = clusterServiceRef(cluster) ?? ctx.serviceRef;
    if (cluster.type === "ORIGINAL_DST") {
      // PassthroughCluster: a host the mesh does not know. The simulator has no DNS or original
      // destination to pass through to, so this is a host nobody serves.
      ctx.serviceRef = serviceRefOf(splitHost(m.authority).host);
      this.reply(ctx, local(404, ["NR"]));
      return;
    }
    const flags: string[] = [];

    // The fault filter runs in the client sidecar, before the router.
    const fault = decideFault(d.fault, this.deps.rng);
    if (fault.delayMs !== undefined) {
      flags.push("DI");
      await sleep(fault.delayMs, ctx.clientGone.signal);
      if (ctx.clientGone.signal.aborted) return;
    }
    if (fault.abortStatus !== undefined) {
      flags.push("FI");
      this.reply(ctx, local(fault.abortStatus, flags, "fault filter abort"));
      return;
    }

    // The request as the upstream sees it.
    const up = upstreamRequest(d, inHeaders, m);
    const headers = up.headers;
    headers["x-request-id"] = inHeaders["x-request-id"] ?? randomUUID();
    headers["x-forwarded-proto"] = "http";
    headers.host = up.authority;

    this.startMirrors(config, d, m, up.path, headers, body, ctx);

    const timeoutMs = d.action.timeoutMs ?? 0;
    const deadline = new AbortController();
    const onGone = () => deadline.abort();
    ctx.clientGone.signal.addEventListener("abort", onGone, { once: true });
    let timedOut = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            deadline.abort();
          }, timeoutMs)
        : undefined;
    let outcome: Outcome;
    try {
      outcome = await this.attempts(
        cluster,
        d,
        m,
        up.path,
        headers,
        body,
        d.action.retry,
        deadline.signal,
        ctx,
      );
    } finally {
      if (timer) clearTimeout(timer);
      ctx.clientGone.signal.removeEventListener("abort", onGone);
    }
    if (ctx.clientGone.signal.aborted) return;
    if (timedOut) outcome = local(504, ["UT"], "upstream request timeout");
    finalizeResponseHeaders(d, outcome.headers);
    outcome.flags = [...flags, ...outcome.flags];
    this.reply(ctx, outcome);
  }

  /** The router: pick a host, send, retry per policy. Records each attempt that reached a pod. */
  private async attempts(
    cluster: CompiledCluster,
    d: Forward,
    m: MatchRequest,
    upstreamPath: string,
    headers: Headers,
    body: Buffer,
    retry: RetryPolicy | undefined,
    signal: AbortSignal,
    ctx: RequestContext,
  ): Promise<Outcome> {
    const index = this.deps.index();
    const stateKey = `${ctx.sidecarKey}|${cluster.name}`;
    const detector = this.outlier(stateKey);
    const maxAttempts = 1 + (retry?.numRetries ?? 0);
    const tried = new Set<string>();
    const lbReq: LbRequest = { headers: m.headers, sourceIp: ctx.source.ip, path: m.path };
    let last: Outcome = local(503, ["UH"], "no healthy upstream");
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const isRetry = attempt > 1;
      if (isRetry) {
        // Circuit breaker max_retries: no retry while that many are in flight to the cluster.
        const active = this.activeRetries.get(stateKey) ?? 0;
        if (active >= cluster.limits.maxRetries) return last;
        this.activeRetries.set(stateKey, active + 1);
      }
      try {
        const step = await this.attempt(
          index,
          cluster,
          stateKey,
          detector,
          d,
          lbReq,
          m.method,
          upstreamPath,
          headers,
          body,
          attempt,
          retry,
          tried,
          signal,
          ctx,
        );
        if (step.kind === "final") return step.outcome;
        last = step.outcome;
        if (!retry || !isRetriable(retry, step.retryOutcome)) return last;
      } finally {
        if (isRetry) {
          const n = (this.activeRetries.get(stateKey) ?? 1) - 1;
          if (n <= 0) this.activeRetries.delete(stateKey);
          else this.activeRetries.set(stateKey, n);
        }
      }
      if (attempt === maxAttempts) {
        last.flags.push("URX");
        return last;
      }
      if (retry) await sleep(backoffMs(retry, attempt, this.deps.rng), signal);
      if (signal.aborted) return last;
    }
    return last;
  }

  private async attempt(
    index: MeshIndex,
    cluster: CompiledCluster,
    stateKey: string,
    detector: OutlierDetector,
    d: Forward,
    lbReq: LbRequest,
    method: string,
    upstreamPath: string,
    headers: Headers,
    body: Buffer,
    attempt: number,
    retry: RetryPolicy | undefined,
    tried: Set<string>,
    signal: AbortSignal,
    ctx: RequestContext,
  ): Promise<
    | { kind: "final"; outcome: Outcome }
    | { kind: "retriable"; outcome: Outcome; retryOutcome: AttemptOutcome }
  > {
    const hosts = eligibleHosts(cluster, (k) => detector.isEjected(k));
    const pick = this.lb.pick(
      stateKey,
      cluster,
      hosts,
      d.action.hashPolicies,
      lbReq,
      this.deps.rng,
      retry?.avoidPreviousHosts ? tried : undefined,
    );
    if (!pick) return { kind: "final", outcome: local(503, ["UH"], "no healthy upstream") };
    const limits = cluster.limits;
    const admission = await this.pools.acquire(
      stateKey,
      {
        maxConnections: limits.maxConnections,
        maxPending: limits.maxPending,
        maxRequests: limits.maxRequests,
      },
      signal,
    );
    if (admission.kind === "overflow") {
      return {
        kind: "final",
        outcome: local(
          503,
          ["UO"],
          "upstream connect error or disconnect/reset before headers. reset reason: overflow",
        ),
      };
    }
    if (admission.kind === "aborted") return { kind: "final", outcome: local(0, ["DC"]) };
    const host = pick.host;
    tried.add(host.key);
    const report = (r: OutlierResult) => {
      if (cluster.outlier) detector.report(cluster.outlier, host.key, r, cluster.hosts.length, this.deps.rng);
    };
    const pod = index.podByIp(host.address);
    if (!pod) {
      // The endpoint's IP answers nothing the simulator knows (a stale endpoint): a connect failure in the
      // client sidecar; no server sidecar saw it.
      admission.release();
      report(outlierResultOf("local-failure"));
      return {
        kind: "retriable",
        outcome: local(
          503,
          ["UF"],
          "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
        ),
        retryOutcome: { kind: "connect-failure" },
      };
    }
    const peer = podPeer(index, pod);
    const spec = this.backendSpec(index, pod);
    headers["x-envoy-attempt-count"] = String(attempt);
    headers["x-mesh-pod"] = pod.name;
    // The destination's clock starts when the app can take the request: waiting for the simulator to
    // start a backend is not request latency (a real pod's app is up before the pod is ready).
    let attemptStart = performance.now();
    this.lb.begin(stateKey, host);
    let result: Awaited<ReturnType<typeof sendUpstream>>;
    try {
      let port = this.deps.backends.portOf(spec.key);
      if (port === undefined) {
        port = await this.deps.backends.ensure(spec);
        attemptStart = performance.now();
      }
      // sendUpstream answers "cancelled" without sending when the caller left while the backend started.
      result = await sendUpstream({
        port,
        method,
        path: upstreamPath,
        headers,
        body,
        timeoutMs: retry?.perTryTimeoutMs,
        signal,
        agent: this.agent,
      });
    } catch (err) {
      result = { kind: "connect-failure", message: err instanceof Error ? err.message : String(err) };
    } finally {
      this.lb.end(stateKey, host);
      admission.release();
    }
    const attemptMs = performance.now() - attemptStart;
    const service = clusterServiceRef(cluster) ?? ctx.serviceRef;
    // A pod without a sidecar has no server-side Envoy: nothing reports the request at the destination.
    const dest = (code: number, f: string[]) =>
      pod.sidecar !== false &&
      this.deps.telemetry.record(
        {
          reporter: "destination",
          source: ctx.source.peer,
          destination: peer,
          service,
          responseCode: code,
          flags: f,
        },
        attemptMs,
      );
    if (result.kind === "response") {
      dest(result.status, []);
      report(outlierResultOf(result.status));
      const h = responseHeaders(result.headers);
      if (pick.setCookie) h["set-cookie"] = pick.setCookie;
      h["x-envoy-upstream-service-time"] = String(Math.round(attemptMs));
      h.server = "istio-envoy";
      const grpc = h["grpc-status"];
      return {
        kind: "retriable",
        outcome: { status: result.status, headers: h, body: result.body, flags: [], peer },
        retryOutcome: {
          kind: "status",
          status: result.status,
          grpcStatus: Array.isArray(grpc) ? grpc[0] : grpc,
        },
      };
    }
    if (result.kind === "timeout") {
      // Per-try timeout: the client sidecar resets the stream; the server sidecar sees the client leave.
      dest(0, ["DC"]);
      report(outlierResultOf("local-failure"));
      return {
        kind: "retriable",
        outcome: local(504, ["UT"], "upstream request timeout"),
        retryOutcome: { kind: "per-try-timeout" },
      };
    }
    if (result.kind === "cancelled") {
      dest(0, ["DC"]);
      return { kind: "final", outcome: local(0, ["DC"]) };
    }
    // The app refused or dropped the connection: the server sidecar answers 503 (UF / UC).
    const f = result.kind === "connect-failure" ? "UF" : "UC";
    dest(503, [f]);
    report(outlierResultOf(503));
    return {
      kind: "retriable",
      outcome: {
        status: 503,
        headers: {},
        body: `upstream connect error or disconnect/reset before headers. reset reason: ${result.kind}`,
        flags: [],
        peer,
      },
      retryOutcome: { kind: "status", status: 503 },
    };
  }

  private startMirrors(
    config: CompiledSidecarConfig,
    d: Forward,
    m: MatchRequest,
    path: string,
    headers: Headers,
    body: Buffer,
    ctx: RequestContext,
  ): void {
    for (const policy of d.action.mirrors) {
      if (policy.probability <= 0) continue;
      if (policy.probability < 1 && !(this.deps.rng() < policy.probability)) continue;
      const cluster = config.clusters.get(policy.cluster);
      if (!cluster) continue;
      const host = String(headers.host ?? "");
      const shadow = { ...headers, host: policy.shadowSuffix ? shadowAuthority(host) : host };
      this.mirror(cluster, d, m, path, shadow, body, ctx).catch((err: unknown) =>
        this.deps.log(`mirror failed: ${String(err)}`),
      );
    }
  }

  /** A shadow copy: fire and forget, no retries, recorded only by the mirror destination's sidecar. */
  private async mirror(
    cluster: CompiledCluster,
    d: Forward,
    m: MatchRequest,
    path: string,
    headers: Headers,
    body: Buffer,
    ctx: RequestContext,
  ): Promise<void> {
    const index = this.deps.index();
    const stateKey = `${ctx.sidecarKey}|${cluster.name}`;
    const detector = this.outlier(stateKey);
    const lbReq: LbRequest = { headers: m.headers, sourceIp: ctx.source.ip, path: m.path };
    const hosts = eligibleHosts(cluster, (k) => detector.isEjected(k));
    const pick = this.lb.pick(stateKey, cluster, hosts, d.action.hashPolicies, lbReq, this.deps.rng);
    const pod: PodInfo | undefined = pick ? index.podByIp(pick.host.address) : undefined;
    if (!pick || !pod) return;
    const spec = this.backendSpec(index, pod);
    const port = this.deps.backends.portOf(spec.key) ?? (await this.deps.backends.ensure(spec));
    const t0 = performance.now();
    const result = await sendUpstream({
      port,
      method: m.method,
      path,
      headers: { ...headers, "x-mesh-pod": pod.name },
      body,
      timeoutMs: MIRROR_TIMEOUT_MS,
      signal: undefined,
      agent: this.agent,
    });
    const code = result.kind === "response" ? result.status : result.kind === "timeout" ? 0 : 503;
    const flags = result.kind === "response" ? [] : result.kind === "timeout" ? ["DC"] : ["UF"];
    if (pod.sidecar === false) return;
    this.deps.telemetry.record(
      {
        reporter: "destination",
        source: ctx.source.peer,
        destination: podPeer(index, pod),
        service: clusterServiceRef(cluster) ?? serviceRefOf(d.serviceHost),
        responseCode: code,
        flags,
      },
      performance.now() - t0,
    );
  }

  private reply(ctx: RequestContext, o: Outcome): void {
    const res = ctx.res;
    if (res.headersSent || res.destroyed) return;
    const body = typeof o.body === "string" ? Buffer.from(o.body) : o.body;
    const headers: Record<string, string | string[]> = {
      ...o.headers,
      "content-length": String(body.length),
    };
    if (!("content-type" in headers) && body.length > 0) headers["content-type"] = "text/plain";
    res.writeHead(o.status, headers);
    res.end(body, () => this.recordSource(ctx, o.status, o.flags, o.peer));
  }

  private recordSource(ctx: RequestContext, code: number, flags: string[], peer: PeerInfo): void {
    if (ctx.recorded) return;
    ctx.recorded = true;
    this.deps.telemetry.record(
      {
        reporter: "source",
        source: ctx.source.peer,
        destination: peer,
        service: ctx.serviceRef,
        responseCode: code,
        flags,
      },
      performance.now() - ctx.start,
    );
  }
}

interface RequestContext {
  start: number;
  source: SourceIdentity;
  sidecarKey: string;
  res: http.ServerResponse;
  recorded: boolean;
  clientGone: AbortController;
  serviceRef: ServiceRef | undefined;
}
