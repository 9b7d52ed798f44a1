// "The client sidecar": an HTTP server on loopback that routes each request the way Envoy would with the
// config Istio generates, forwards it to a backend process, and records Istio's metrics on both sides.
import { randomUUID } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import type { BackendManager, BackendSpec } from "./backends.js";
import { behaviourFor, behaviourKey, type ImageCatalogue } from "./behaviour.js";
import { ConnectionPools } from "./connection-pool.js";
import { parseDurationMs } from "./durations.js";
import { findDestinationRule, findSubset, podPeer, readyEndpoints, workloadOf } from "./endpoints.js";
import { decideFault } from "./faults.js";
import { parseAuthority, resolveConfigHost, shadowAuthority, splitServiceFqdn } from "./hosts.js";
import {
  applyHeaderOps,
  flattenHeaders,
  type HeaderMap,
  readBody,
  responseHeaders,
  rewritePath,
} from "./http-util.js";
import { type Destination, type HttpRoute, percentValue } from "./istio-types.js";
import { type LbContext, LoadBalancer } from "./load-balancer.js";
import type { RequestFacts } from "./matching.js";
import type { MeshIndex } from "./mesh-index.js";
import type { PodInfo, ServiceInfo } from "./model.js";
import { type PeerInfo, type SourceIdentity, sourceFromHeaders, UNKNOWN, UNKNOWN_PEER } from "./peer.js";
import { backoffMs, isRetriable, type RetryPolicy, retryPolicyFor } from "./retry-policy.js";
import { chance, type Rng } from "./rng.js";
import { decideRoute, type RouteDecision, type Target } from "./routing.js";
import type { MeshTelemetry, ServiceRef } from "./telemetry.js";
import { type EffectivePolicy, effectivePolicy } from "./traffic-policy.js";
import { sendUpstream } from "./upstream.js";

export interface ProxyDeps {
  index: () => MeshIndex;
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

/** A resolved upstream cluster: Service + port + subset, with its DestinationRule policy. */
interface Cluster {
  key: string;
  service: ServiceInfo;
  ref: ServiceRef;
  port: number;
  subsetLabels: Record<string, string> | undefined;
  policy: EffectivePolicy;
}

type ClusterResult = { ok: true; cluster: Cluster } | { ok: false; ref: ServiceRef };

interface Outcome {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer | string;
  flags: string[];
  /** The pod that produced the response, if one did. */
  peer: PeerInfo;
}

export function serviceRefOf(host: string): ServiceRef {
  const s = splitServiceFqdn(host);
  return s ? { host, name: s.name, namespace: s.namespace } : { host, name: host, namespace: UNKNOWN };
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

export class MeshProxy {
  private readonly lb = new LoadBalancer();
  private readonly pools = new ConnectionPools();
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
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        const a = this.server.address();
        resolve(a && typeof a === "object" ? a.port : port);
      });
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  /** Which backend process serves a pod (one per workload version). */
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

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const start = performance.now();
    const source = sourceFromHeaders(req.headers, this.deps.defaultNamespace, req.socket.remoteAddress ?? "");
    const headers = flattenHeaders(req.headers, true);
    const ctx: RequestContext = {
      start,
      source,
      res,
      recorded: false,
      clientGone: new AbortController(),
      serviceRef: undefined,
    };
    // Listen for the client leaving before the first await: a caller that gives up while its body is
    // read (or a backend starts) must abort everything done on its behalf.
    res.on("close", () => {
      if (!res.writableFinished) {
        ctx.clientGone.abort();
        this.recordSource(ctx, 0, ["DC"], UNKNOWN_PEER);
      }
    });
    const body = await readBody(req, BODY_LIMIT);
    if (ctx.clientGone.signal.aborted) return;
    const authority = req.headers.host ?? "";
    const index = this.deps.index();
    const facts: RequestFacts = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      authority,
      scheme: "http",
      headers,
      port: 0,
      source: { labels: source.labels, namespace: source.namespace },
    };
    if (body === undefined) {
      this.reply(ctx, { status: 413, headers: {}, body: "payload too large", flags: [], peer: UNKNOWN_PEER });
      return;
    }
    const decision = decideRoute(index, parseAuthority(authority), facts, this.deps.rng);
    await this.dispatch(index, decision, facts, headers, body, ctx);
  }

  private async dispatch(
    index: MeshIndex,
    decision: RouteDecision,
    facts: RequestFacts,
    headers: HeaderMap,
    body: Buffer,
    ctx: RequestContext,
  ): Promise<void> {
    switch (decision.kind) {
      case "no-route":
        ctx.serviceRef = serviceRefOf(decision.host);
        this.reply(ctx, { status: 404, headers: {}, body: "", flags: ["NR"], peer: UNKNOWN_PEER });
        return;
      case "redirect":
        this.reply(ctx, {
          status: decision.status,
          headers: { location: decision.location },
          body: "",
          flags: [],
          peer: UNKNOWN_PEER,
        });
        return;
      case "direct":
        this.reply(ctx, {
          status: decision.status,
          headers: {},
          body: decision.body,
          flags: [],
          peer: UNKNOWN_PEER,
        });
        return;
      case "forward":
        await this.forward(index, decision, facts, headers, body, ctx);
        return;
    }
  }

  /** Service + port + subset for a route target; a missing one is Envoy's "no cluster" (503 NC). */
  private cluster(index: MeshIndex, target: Target, listenPort: number, clientNs: string): ClusterResult {
    const ref = serviceRefOf(target.host);
    const service = index.service(target.host);
    if (!service) return { ok: false, ref };
    let port = target.port;
    if (port === undefined) {
      if (service.ports.some((p) => p.port === listenPort)) port = listenPort;
      else if (service.ports.length === 1) port = service.ports[0]?.port;
    }
    if (port === undefined || !service.ports.some((p) => p.port === port)) return { ok: false, ref };
    const dr = findDestinationRule(index, target.host, clientNs);
    let subsetLabels: Record<string, string> | undefined;
    if (target.subset) {
      const subset = dr ? findSubset(dr.dr.spec, target.subset) : undefined;
      if (!subset) return { ok: false, ref };
      subsetLabels = subset.labels ?? {};
    }
    const policy = effectivePolicy(dr?.dr.spec, target.subset, port);
    const key = `outbound|${port}|${target.subset ?? ""}|${target.host}`;
    return { ok: true, cluster: { key, service, ref, port, subsetLabels, policy } };
  }

  private async forward(
    index: MeshIndex,
    decision: Extract<RouteDecision, { kind: "forward" }>,
    facts: RequestFacts,
    inHeaders: HeaderMap,
    body: Buffer,
    ctx: RequestContext,
  ): Promise<void> {
    const route = decision.selected?.route;
    const target = decision.target;
    if (!target) {
      ctx.serviceRef = serviceRefOf(decision.resolution.host);
      this.reply(ctx, { status: 503, headers: {}, body: "", flags: ["NC"], peer: UNKNOWN_PEER });
      return;
    }
    const c = this.cluster(index, target, decision.port, ctx.source.namespace);
    ctx.serviceRef = c.ok ? c.cluster.ref : c.ref;
    if (!c.ok) {
      this.reply(ctx, { status: 503, headers: {}, body: "", flags: ["NC"], peer: UNKNOWN_PEER });
      return;
    }
    const cluster = c.cluster;
    const flags: string[] = [];

    // Fault injection happens in the client sidecar, before the router.
    const fault = decideFault(route?.fault, this.deps.rng);
    if (fault.delayMs !== undefined) {
      flags.push("DI");
      await sleep(fault.delayMs, ctx.clientGone.signal);
      if (ctx.clientGone.signal.aborted) return;
    }
    if (fault.abortStatus !== undefined) {
      flags.push("FI");
      this.reply(ctx, {
        status: fault.abortStatus,
        headers: {},
        body: "fault filter abort",
        flags,
        peer: UNKNOWN_PEER,
      });
      return;
    }

    // Request as the upstream sees it.
    const headers: Record<string, string | string[]> = { ...inHeaders };
    const single = (route?.route?.length ?? 1) === 1;
    const routeOps = route?.headers?.request;
    const destOps = target.destination?.headers?.request;
    let authority = facts.authority;
    const first = single ? routeOps : destOps;
    const second = single ? destOps : routeOps;
    const a1 = applyHeaderOps(headers, first);
    const a2 = applyHeaderOps(headers, second);
    authority = route?.rewrite?.authority ?? a2 ?? a1 ?? authority;
    const path = rewritePath(route, decision.selected?.entry, facts.path);
    headers["x-request-id"] = inHeaders["x-request-id"] ?? randomUUID();
    headers["x-forwarded-proto"] = "http";
    headers.host = authority;

    this.startMirrors(index, route, decision, { ...facts, path }, headers, body, ctx);

    const timeoutMs = parseDurationMs(route?.timeout) ?? 0;
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
    const retry = retryPolicyFor(route?.retries, cluster.policy.lb.kind === "CONSISTENT_HASH");
    let outcome: Outcome;
    try {
      outcome = await this.attempts(index, cluster, facts, path, headers, body, retry, deadline.signal, ctx);
    } finally {
      if (timer) clearTimeout(timer);
      ctx.clientGone.signal.removeEventListener("abort", onGone);
    }
    if (ctx.clientGone.signal.aborted) return;
    if (timedOut) {
      outcome = {
        status: 504,
        headers: {},
        body: "upstream request timeout",
        flags: ["UT"],
        peer: UNKNOWN_PEER,
      };
    }
    applyHeaderOps(
      outcome.headers,
      single ? route?.headers?.response : target.destination?.headers?.response,
    );
    applyHeaderOps(
      outcome.headers,
      single ? target.destination?.headers?.response : route?.headers?.response,
    );
    outcome.flags = [...flags, ...outcome.flags];
    this.reply(ctx, outcome);
  }

  /** The router: pick a pod, send, retry per policy. Records each attempt at the destination. */
  private async attempts(
    index: MeshIndex,
    cluster: Cluster,
    facts: RequestFacts,
    upstreamPath: string,
    headers: Record<string, string | string[]>,
    body: Buffer,
    retry: RetryPolicy | undefined,
    signal: AbortSignal,
    ctx: RequestContext,
  ): Promise<Outcome> {
    const maxAttempts = 1 + (retry?.numRetries ?? 0);
    const tried = new Set<string>();
    const lbCtx: LbContext = { headers: facts.headers, sourceIp: ctx.source.ip, path: facts.path };
    let last: Outcome = { status: 503, headers: {}, body: "", flags: ["UH"], peer: UNKNOWN_PEER };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const endpoints = readyEndpoints(index, cluster.service, cluster.subsetLabels);
      const pick = this.lb.pick(cluster.key, cluster.policy.lb, endpoints, lbCtx, this.deps.rng, tried);
      if (!pick)
        return { status: 503, headers: {}, body: "no healthy upstream", flags: ["UH"], peer: UNKNOWN_PEER };
      const admission = await this.pools.acquire(
        `${ctx.source.namespace}/${ctx.source.peer.workload}|${cluster.key}`,
        cluster.policy.pool,
        signal,
      );
      if (admission.kind === "overflow") {
        return {
          status: 503,
          headers: {},
          body: "upstream connect error or disconnect/reset before headers. reset reason: overflow",
          flags: ["UO"],
          peer: UNKNOWN_PEER,
        };
      }
      if (admission.kind === "aborted") return last;
      const pod = pick.pod;
      tried.add(`${pod.namespace}/${pod.name}`);
      const peer = podPeer(index, pod);
      const spec = this.backendSpec(index, pod);
      headers["x-envoy-attempt-count"] = String(attempt);
      headers["x-mesh-pod"] = pod.name;
      // The destination's clock starts when the app can take the request: waiting for the simulator to
      // start a backend process is not request latency (a real pod's app is up before the pod is ready).
      let attemptStart = performance.now();
      this.lb.begin(pod);
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
          method: facts.method,
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
        this.lb.end(pod);
        admission.release();
      }
      const attemptMs = performance.now() - attemptStart;
      const dest = (code: number, f: string[]) =>
        this.deps.telemetry.record(
          {
            reporter: "destination",
            source: ctx.source.peer,
            destination: peer,
            service: cluster.ref,
            responseCode: code,
            flags: f,
          },
          attemptMs,
        );
      let retriable = false;
      if (result.kind === "response") {
        dest(result.status, []);
        const h = responseHeaders(result.headers);
        if (pick.setCookie) h["set-cookie"] = pick.setCookie;
        h["x-envoy-upstream-service-time"] = String(Math.round(attemptMs));
        h.server = "istio-envoy";
        last = { status: result.status, headers: h, body: result.body, flags: [], peer };
        retriable = !!retry && isRetriable(retry, { kind: "status", status: result.status });
      } else if (result.kind === "timeout") {
        // Per-try timeout: the client sidecar resets the stream; the server sidecar sees the client leave.
        dest(0, ["DC"]);
        last = {
          status: 504,
          headers: {},
          body: "upstream request timeout",
          flags: ["UT"],
          peer: UNKNOWN_PEER,
        };
        retriable = !!retry && isRetriable(retry, { kind: "per-try-timeout" });
      } else if (result.kind === "cancelled") {
        dest(0, ["DC"]);
        return last;
      } else {
        // The app refused or dropped the connection: the server sidecar answers 503 (UF / UC).
        const f = result.kind === "connect-failure" ? "UF" : "UC";
        dest(503, [f]);
        last = {
          status: 503,
          headers: {},
          body: `upstream connect error or disconnect/reset before headers. reset reason: ${result.kind}`,
          flags: [],
          peer,
        };
        retriable = !!retry && isRetriable(retry, { kind: "status", status: 503 });
      }
      if (!retriable) return last;
      if (attempt === maxAttempts) {
        last.flags.push("URX");
        return last;
      }
      if (retry) await sleep(backoffMs(retry, attempt, this.deps.rng), signal);
      if (signal.aborted) return last;
    }
    return last;
  }

  private startMirrors(
    index: MeshIndex,
    route: HttpRoute | undefined,
    decision: Extract<RouteDecision, { kind: "forward" }>,
    facts: RequestFacts,
    headers: Record<string, string | string[]>,
    body: Buffer,
    ctx: RequestContext,
  ): void {
    if (!route || !decision.resolution.vs) return;
    const vsNs = decision.resolution.vs.vs.namespace;
    const mirrors: Array<{ dest: Destination; pct: number }> = [];
    if (route.mirror) {
      const pct =
        route.mirrorPercentage !== undefined ? percentValue(route.mirrorPercentage) : route.mirrorPercent;
      mirrors.push({ dest: route.mirror, pct: pct ?? 100 });
    }
    for (const m of route.mirrors ?? [])
      mirrors.push({ dest: m.destination, pct: percentValue(m.percentage) ?? 100 });
    for (const m of mirrors) {
      if (!chance(this.deps.rng, m.pct)) continue;
      const target: Target = {
        host: resolveConfigHost(m.dest.host, vsNs),
        subset: m.dest.subset || undefined,
        port: m.dest.port?.number || undefined,
        destination: undefined,
      };
      const shadowHeaders = { ...headers, host: shadowAuthority(String(headers.host ?? "")) };
      this.mirror(index, target, decision.port, facts, shadowHeaders, body, ctx.source).catch(
        (err: unknown) => this.deps.log(`mirror failed: ${String(err)}`),
      );
    }
  }

  /** A shadow copy: fire and forget, recorded only by the mirror destination's sidecar. */
  private async mirror(
    index: MeshIndex,
    target: Target,
    listenPort: number,
    facts: RequestFacts,
    headers: Record<string, string | string[]>,
    body: Buffer,
    source: SourceIdentity,
  ): Promise<void> {
    const c = this.cluster(index, target, listenPort, source.namespace);
    if (!c.ok) return;
    const endpoints = readyEndpoints(index, c.cluster.service, c.cluster.subsetLabels);
    const lbCtx: LbContext = { headers: facts.headers, sourceIp: source.ip, path: facts.path };
    const pick = this.lb.pick(c.cluster.key, c.cluster.policy.lb, endpoints, lbCtx, this.deps.rng);
    if (!pick) return;
    const spec = this.backendSpec(index, pick.pod);
    const port = this.deps.backends.portOf(spec.key) ?? (await this.deps.backends.ensure(spec));
    const t0 = performance.now();
    const result = await sendUpstream({
      port,
      method: facts.method,
      path: facts.path,
      headers: { ...headers, "x-mesh-pod": pick.pod.name },
      body,
      timeoutMs: MIRROR_TIMEOUT_MS,
      signal: undefined,
      agent: this.agent,
    });
    const code = result.kind === "response" ? result.status : result.kind === "timeout" ? 0 : 503;
    const flags = result.kind === "response" ? [] : result.kind === "timeout" ? ["DC"] : ["UF"];
    this.deps.telemetry.record(
      {
        reporter: "destination",
        source: source.peer,
        destination: podPeer(index, pick.pod),
        service: c.cluster.ref,
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
  res: http.ServerResponse;
  recorded: boolean;
  clientGone: AbortController;
  serviceRef: ServiceRef | undefined;
}
