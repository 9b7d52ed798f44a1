// The e2e suite's Istio referee, run once per `vitest --project e2e` in the main process (global setup).
// It watches every VirtualService and DestinationRule in the cluster and runs `istioctl validate` on each
// generation Serin wrote (HTTPRoutes: istiod's Accepted/ResolvedRefs status on that generation, as
// istioctl validate has no checks for Gateway API kinds; istiod-route-status.ts), and runs `istioctl analyze` on a namespace when asked; test files (workers)
// reach it over a loopback HTTP server (test/support/istio-findings.ts) and fail on what it found.
//
// Which writes are Serin's: an object's newest managedFields entry (spec writes only: subresource
// entries such as status are ignored) names the manager of its last change. Serin writes with field
// manager "serin" (create and update both), and a write that changes a value refreshes that entry's
// time, so every Serin write yields an event whose newest entry is "serin". Time has 1-second
// resolution, so a tie counts as Serin's (a test writing in the same second as Serin is checked too,
// never the other way round). Owner kind Canary would not do: a test editing a Serin-owned
// VirtualService by hand (drift) would be blamed on Serin, and an object Serin may write before
// owning it would be missed.
import http from "node:http";
import { KubeConfig, type KubernetesObject, Watch } from "@kubernetes/client-node";
import { sleep } from "../env/processes.js";
import { listenLoopback } from "../mesh/listen.js";
import {
  type AnalyzeMessage,
  analyzeNamespace,
  findIstioctl,
  formatAnalyze,
  partitionAnalyze,
  submittable,
  validateKey,
  validateObjects,
} from "./istioctl.js";
import { istiodVerdict } from "./istiod-route-status.js";
import { getKubeJson } from "./kube-http.js";
import { SERIN_MANAGER } from "./route-monitor.js";

export interface IstioFinding {
  /** increases with every finding and every checked object: a cursor for "since the test began" */
  seq: number;
  t: number;
  tool: "validate" | "analyze";
  namespace: string;
  kind: string;
  name: string;
  /** the generation that was validated (validate only) */
  generation?: number;
  /** analyze's code, e.g. IST0101 */
  code?: string;
  level?: string;
  /** istioctl's own text */
  message: string;
  /** the whole object as validated, for the failure message (validate only) */
  object?: unknown;
  /** expected by the test that caused it (istio-findings.ts acknowledge()): never fails a test */
  acknowledged: boolean;
  /** already handed to an afterEach/afterAll check (each finding fails one test, once) */
  delivered: boolean;
}

export interface AnalyzeReport {
  namespaces: string[];
  /** namespaces not analyzed because they are gone or terminating */
  skipped: string[];
  /** namespaces that could not be analyzed now (API server away): tried again at the next check */
  deferred: string[];
  failing: IstioFinding[];
  allowed: AnalyzeMessage[];
  ms: number;
}

export interface CheckReport {
  /** findings not reported before and not acknowledged: each fails the test that asked */
  findings: IstioFinding[];
  analysis: AnalyzeReport;
  /** false when the API server could not be listed (only watched writes were validated) */
  listed: boolean;
  seq: number;
}

export interface ValidatorStats {
  events: number;
  serinWrites: number;
  /** events of objects owned by a Canary whose newest write is not Serin's (e.g. a test's hand edit) */
  ownedNotSerin: number;
  /** Serin writes to objects with no Canary owner */
  serinNotOwned: number;
  validated: number;
  validateCalls: number;
  validateMs: number;
  analyzeCalls: number;
  analyzeMs: number;
  relists: number;
  watchErrors: number;
}

interface Meta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  ownerReferences?: Array<{ kind?: string; apiVersion?: string }>;
  managedFields?: Array<{ manager?: string; time?: string; subresource?: string; operation?: string }>;
}

const COLLECTIONS = [
  { kind: "VirtualService", path: "/apis/networking.istio.io/v1beta1/virtualservices" },
  { kind: "DestinationRule", path: "/apis/networking.istio.io/v1beta1/destinationrules" },
  // Judged by istiod's status instead of istioctl validate (istiod-route-status.ts).
  { kind: "HTTPRoute", path: "/apis/gateway.networking.k8s.io/v1/httproutes" },
];
const HTTP_ROUTES = "/apis/gateway.networking.k8s.io/v1/httproutes";
/** How long istiod may take to write its status for a generation Serin wrote (a busy 2-core machine). */
const ISTIOD_STATUS_TIMEOUT_MS = 20_000;

/** The managers of the newest spec write (ties included), from managedFields. */
export function lastWriters(obj: KubernetesObject): string[] {
  const entries = ((obj.metadata as Meta | undefined)?.managedFields ?? []).filter(
    (e) => !e.subresource && e.time,
  );
  let newest = "";
  for (const e of entries) if ((e.time ?? "") > newest) newest = e.time ?? "";
  return entries.filter((e) => e.time === newest).map((e) => e.manager ?? "");
}

export function isSerinWrite(obj: KubernetesObject): boolean {
  return lastWriters(obj).includes(SERIN_MANAGER);
}

function ownedByCanary(obj: KubernetesObject): boolean {
  return ((obj.metadata as Meta | undefined)?.ownerReferences ?? []).some(
    (r) => r.kind === "Canary" && (r.apiVersion ?? "").startsWith("serin.dev/"),
  );
}

export interface FindingMatch {
  namespace?: string;
  kind?: string;
  name?: string;
  seq?: number;
}

function findingMatches(f: IstioFinding, m: FindingMatch): boolean {
  return (
    (m.seq === undefined || f.seq === m.seq) &&
    (m.namespace === undefined || f.namespace === m.namespace) &&
    (m.kind === undefined || f.kind === m.kind) &&
    (m.name === undefined || f.name === m.name)
  );
}

export interface ValidatedWrite {
  namespace: string;
  kind: string;
  name: string;
  generation: number;
  managers: string[];
}

export class IstioValidator {
  readonly findings: IstioFinding[] = [];
  /** every Serin write handed to istioctl validate, in order */
  readonly validatedWrites: ValidatedWrite[] = [];
  readonly stats: ValidatorStats = {
    events: 0,
    serinWrites: 0,
    ownedNotSerin: 0,
    serinNotOwned: 0,
    validated: 0,
    validateCalls: 0,
    validateMs: 0,
    analyzeCalls: 0,
    analyzeMs: 0,
    relists: 0,
    watchErrors: 0,
  };
  private seq = 0;
  private readonly kc = new KubeConfig();
  /** `uid/generation` already validated (or queued) */
  private readonly checked = new Set<string>();
  /** resourceVersion last seen per uid: a relist reports only real changes as activity */
  private readonly seenVersion = new Map<string, string>();
  private readonly queue: KubernetesObject[] = [];
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  /** HTTPRoute generations Serin wrote that istiod has not judged yet, by uid */
  private readonly pendingRoutes = new Map<
    string,
    { namespace: string; name: string; generation: number; since: number }
  >();
  /** seq at which a namespace last had a VirtualService/DestinationRule/HTTPRoute event */
  private readonly touched = new Map<string, number>();
  private readonly analyzeSeen = new Map<string, IstioFinding>();
  private readonly expected: FindingMatch[] = [];
  private analyzedUpTo = 0;
  private pendingAnalyze = new Set<string>();
  private checking: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly aborts = new Set<AbortController>();
  private loops: Array<Promise<void>> = [];

  constructor(
    private readonly istioctl: string,
    private readonly kubeconfig: string,
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.kc.loadFromFile(kubeconfig);
  }

  async start(): Promise<this> {
    for (const c of COLLECTIONS) {
      const state = { resourceVersion: "" };
      await this.retry(() => this.relist(c.path, state), 60_000);
      this.loops.push(this.run(c.path, state));
    }
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const a of this.aborts) a.abort();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await Promise.race([Promise.allSettled(this.loops), sleep(3_000)]);
    await this.flushing;
  }

  cursor(): number {
    return this.seq;
  }

  /** Namespaces with VirtualService/DestinationRule activity after `cursor`. */
  touchedSince(cursor: number): string[] {
    return [...this.touched].filter(([, s]) => s > cursor).map(([ns]) => ns);
  }

  findingsSince(cursor: number, includeAcknowledged = false): IstioFinding[] {
    return this.findings.filter((f) => f.seq > cursor && (includeAcknowledged || !f.acknowledged));
  }

  /**
   * Marks matching findings as expected, and keeps the match as a standing rule: findings about the
   * same object recorded later (analyze's IST0106 repeats validate's message) are expected too.
   * Returns the findings acknowledged now.
   */
  acknowledge(match: FindingMatch): IstioFinding[] {
    if (match.seq === undefined) this.expected.push(match);
    const hits = this.findings.filter((f) => !f.acknowledged && findingMatches(f, match));
    for (const f of hits) f.acknowledged = true;
    return hits;
  }

  /**
   * Everything written so far is checked: lists both collections (a write the watch has not delivered
   * yet is caught here), queues what Serin wrote and was not validated, and waits for the queue.
   */
  async sync(): Promise<{ listed: boolean }> {
    let listed = true;
    for (const c of COLLECTIONS) {
      try {
        const list = (await getKubeJson(this.kc, c.path)) as { items?: KubernetesObject[] };
        // As a watch event: a write the watch has not delivered yet also marks its namespace for analyze.
        for (const item of list.items ?? []) this.consider({ ...item, kind: c.kind });
      } catch {
        listed = false; // API server down (a fault test): what the watch delivered is still checked
      }
    }
    await this.drain();
    if (listed) await this.awaitIstiodVerdicts();
    return { listed };
  }

  /** Waits (relisting) until istiod has judged every HTTPRoute generation Serin wrote; silence is a finding. */
  private async awaitIstiodVerdicts(): Promise<void> {
    const deadline = Date.now() + ISTIOD_STATUS_TIMEOUT_MS;
    while (this.pendingRoutes.size > 0 && Date.now() < deadline) {
      await sleep(250);
      try {
        const list = (await getKubeJson(this.kc, HTTP_ROUTES)) as { items?: KubernetesObject[] };
        const present = new Set((list.items ?? []).map((i) => i.metadata?.uid ?? ""));
        for (const uid of this.pendingRoutes.keys()) if (!present.has(uid)) this.pendingRoutes.delete(uid);
        for (const item of list.items ?? []) this.consider({ ...item, kind: "HTTPRoute" });
      } catch {
        return; // API server away: judged at a later check
      }
    }
    for (const [uid, p] of this.pendingRoutes) {
      if (Date.now() - p.since < ISTIOD_STATUS_TIMEOUT_MS) continue;
      this.pendingRoutes.delete(uid);
      this.record({
        tool: "validate",
        namespace: p.namespace,
        kind: "HTTPRoute",
        name: p.name,
        generation: p.generation,
        message: `istiod wrote no status for generation ${p.generation} within ${ISTIOD_STATUS_TIMEOUT_MS / 1000}s (it did not translate the route)`,
      });
    }
  }

  /** istiod's status on an HTTPRoute event: the verdict on the generation Serin wrote, once there is one. */
  private judgeRoute(obj: KubernetesObject): void {
    const meta = (obj.metadata ?? {}) as Meta;
    const pending = this.pendingRoutes.get(meta.uid ?? "");
    if (pending === undefined) return;
    const verdict = istiodVerdict(obj, pending.generation);
    if (verdict.state === "pending") return;
    this.pendingRoutes.delete(meta.uid ?? "");
    this.stats.validated++;
    this.validatedWrites.push({
      namespace: meta.namespace ?? "",
      kind: "HTTPRoute",
      name: meta.name ?? "",
      generation: pending.generation,
      managers: lastWriters(obj),
    });
    if (verdict.state === "rejected")
      for (const message of verdict.messages) this.recordValidate({ ...obj, kind: "HTTPRoute" }, message);
  }

  /** `istioctl analyze` on each namespace that still exists and is not being deleted. */
  async analyze(namespaces: string[]): Promise<AnalyzeReport> {
    const t0 = performance.now();
    const report: AnalyzeReport = {
      namespaces: [],
      skipped: [],
      deferred: [],
      failing: [],
      allowed: [],
      ms: 0,
    };
    for (const ns of [...new Set(namespaces)].sort()) {
      let phase: string;
      try {
        const obj = (await getKubeJson(this.kc, `/api/v1/namespaces/${ns}`)) as {
          status?: { phase?: string };
        };
        phase = obj.status?.phase ?? "";
      } catch (err) {
        phase = /HTTP 404/.test(String(err)) ? "Gone" : "Unreachable";
      }
      if (phase === "Unreachable") {
        report.deferred.push(ns);
        continue;
      }
      // A namespace being deleted is analyzed no more: its objects disappear in no particular order.
      if (phase !== "Active") {
        report.skipped.push(ns);
        continue;
      }
      let result: Awaited<ReturnType<typeof analyzeNamespace>>;
      try {
        result = await analyzeNamespace(this.istioctl, this.kubeconfig, ns);
      } catch (err) {
        this.log(`istio analyze -n ${ns} failed, tried again at the next check: ${String(err)}`);
        report.deferred.push(ns);
        continue;
      }
      this.stats.analyzeCalls++;
      this.stats.analyzeMs += result.ms;
      const { failing, allowed } = partitionAnalyze(result.messages);
      report.namespaces.push(ns);
      report.allowed.push(...allowed);
      for (const m of failing) {
        const [kind = "", ref = ""] = (m.origin ?? "").split(" ");
        const [refNs, refName] = ref.includes("/") ? ref.split("/") : [ns, ref];
        // The same finding on an unchanged world is reported once, not at every later check.
        const key = `${m.code}|${m.origin}|${m.message}`;
        const known = this.analyzeSeen.get(key);
        if (known) {
          report.failing.push(known);
          continue;
        }
        const finding = this.record({
          tool: "analyze",
          namespace: refNs ?? ns,
          kind,
          name: refName ?? ref,
          code: m.code,
          level: m.level,
          message: m.message,
        });
        this.analyzeSeen.set(key, finding);
        report.failing.push(finding);
        this.log(`istio analyze: ${formatAnalyze(m)}`);
      }
    }
    report.ms = performance.now() - t0;
    return report;
  }

  /**
   * The hooks' check: everything written so far validated, every namespace with VirtualService or
   * DestinationRule activity since the last check analyzed (if it still exists), and the findings no
   * check has reported yet and no test acknowledged.
   */
  check(): Promise<CheckReport> {
    const next = this.checking.then(() => this.checkNow());
    this.checking = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private async checkNow(): Promise<CheckReport> {
    const { listed } = await this.sync();
    const upTo = this.seq;
    for (const ns of this.touchedSince(this.analyzedUpTo)) this.pendingAnalyze.add(ns);
    this.analyzedUpTo = upTo;
    const analysis = await this.analyze([...this.pendingAnalyze]);
    this.pendingAnalyze = new Set(analysis.deferred);
    const findings = this.findings.filter((f) => !f.acknowledged && !f.delivered);
    for (const f of findings) f.delivered = true;
    return { findings, analysis, listed, seq: this.seq };
  }

  private record(f: Omit<IstioFinding, "seq" | "t" | "acknowledged" | "delivered">): IstioFinding {
    const finding: IstioFinding = {
      ...f,
      seq: ++this.seq,
      t: Date.now(),
      acknowledged: false,
      delivered: false,
    };
    finding.acknowledged = this.expected.some((m) => findingMatches(finding, m));
    this.findings.push(finding);
    return finding;
  }

  /** One event (or listed item) of a collection. */
  private consider(obj: KubernetesObject): void {
    const meta = (obj.metadata ?? {}) as Meta;
    const uid = meta.uid ?? "";
    if (this.seenVersion.get(uid) === meta.resourceVersion) return; // a relist of what we have
    this.seenVersion.set(uid, meta.resourceVersion ?? "");
    this.stats.events++;
    if (meta.namespace) this.touched.set(meta.namespace, ++this.seq);
    if (obj.kind === "HTTPRoute") this.judgeRoute(obj);
    if (!isSerinWrite(obj)) {
      if (ownedByCanary(obj)) this.stats.ownedNotSerin++;
      return;
    }
    const key = `${meta.uid}/${meta.generation}`;
    if (this.checked.has(key)) return;
    this.checked.add(key);
    this.stats.serinWrites++;
    if (!ownedByCanary(obj)) this.stats.serinNotOwned++;
    if (meta.namespace) this.touched.set(meta.namespace, ++this.seq);
    if (obj.kind === "HTTPRoute") {
      // istioctl validate does not check Gateway API kinds: istiod's status on this generation does.
      this.pendingRoutes.set(uid, {
        namespace: meta.namespace ?? "",
        name: meta.name ?? "",
        generation: meta.generation ?? 0,
        since: Date.now(),
      });
      this.judgeRoute(obj);
      return;
    }
    this.queue.push(obj);
    if (this.flushTimer === undefined && this.flushing === undefined)
      this.flushTimer = setTimeout(() => void this.flush(), 20);
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushing !== undefined) {
      if (this.flushing) await this.flushing;
      else await this.flush();
    }
  }

  private flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      try {
        while (this.queue.length > 0) {
          // One document per Kind/namespace/name in a batch, so each error line names one generation.
          const batch: KubernetesObject[] = [];
          const keys = new Set<string>();
          for (let i = 0; i < this.queue.length && batch.length < 25; ) {
            const obj = this.queue[i] as KubernetesObject;
            const key = validateKey(obj);
            if (keys.has(key)) {
              i++;
              continue;
            }
            keys.add(key);
            batch.push(obj);
            this.queue.splice(i, 1);
          }
          await this.validateBatch(batch);
        }
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private async validateBatch(batch: KubernetesObject[]): Promise<void> {
    let result: Awaited<ReturnType<typeof validateObjects>>;
    try {
      result = await validateObjects(this.istioctl, batch);
    } catch (err) {
      for (const obj of batch) this.recordValidate(obj, `istioctl validate could not run: ${String(err)}`);
      return;
    }
    this.stats.validateCalls++;
    this.stats.validateMs += result.ms;
    this.stats.validated += batch.length;
    for (const obj of batch) {
      const meta = (obj.metadata ?? {}) as Meta;
      this.validatedWrites.push({
        namespace: meta.namespace ?? "",
        kind: obj.kind ?? "",
        name: meta.name ?? "",
        generation: meta.generation ?? 0,
        managers: lastWriters(obj),
      });
    }
    if (result.ok) {
      if (result.warnings) this.log(`istio validate warnings: ${result.warnings}`);
      return;
    }
    if (result.unattributed.length > 0 && batch.length > 1) {
      // A message that names no document: validate one by one to find whose it is.
      for (const obj of batch) await this.validateBatch([obj]);
      return;
    }
    for (const obj of batch) {
      const messages = result.errors.get(validateKey(obj)) ?? [];
      if (batch.length === 1) messages.push(...result.unattributed);
      for (const message of messages) this.recordValidate(obj, message);
    }
  }

  private recordValidate(obj: KubernetesObject, message: string): void {
    const meta = (obj.metadata ?? {}) as Meta;
    const f = this.record({
      tool: "validate",
      namespace: meta.namespace ?? "",
      kind: obj.kind ?? "",
      name: meta.name ?? "",
      generation: meta.generation,
      message,
      object: submittable(obj),
    });
    this.log(
      `istio validate: ${f.kind} ${f.namespace}/${f.name} (generation ${f.generation}, written by Serin): ${message}`,
    );
  }

  // --- the watch: list, then watch from its resourceVersion; survives API server restarts ---------

  private async run(path: string, state: { resourceVersion: string }): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const outcome = await this.watchOnce(path, state);
      if (this.stopped) return;
      if (outcome === "closed") {
        failures = 0;
        continue;
      }
      this.stats.watchErrors++;
      // 410 Gone, or the API server away: relist (with backoff up to 5 s) and carry on.
      failures++;
      await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      try {
        await this.relist(path, state);
        this.stats.relists++;
        failures = 0;
      } catch {
        // next round
      }
    }
  }

  private watchOnce(path: string, state: { resourceVersion: string }): Promise<"closed" | "gone" | "error"> {
    const kind = COLLECTIONS.find((c) => c.path === path)?.kind ?? "";
    return new Promise((resolve) => {
      let gone = false;
      let controller: AbortController | undefined;
      new Watch(this.kc)
        .watch(
          path,
          { resourceVersion: state.resourceVersion, allowWatchBookmarks: true },
          (type: string, obj: KubernetesObject & { code?: number }) => {
            if (type === "ERROR") {
              if (obj.code === 410) gone = true;
              return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv) state.resourceVersion = rv;
            if (type === "ADDED" || type === "MODIFIED") this.consider({ ...obj, kind });
            else if (type === "DELETED" && obj.metadata?.namespace) {
              this.seenVersion.delete(obj.metadata.uid ?? "");
              this.pendingRoutes.delete(obj.metadata.uid ?? "");
              this.touched.set(obj.metadata.namespace, ++this.seq);
            }
          },
          (err: unknown) => {
            if (controller) this.aborts.delete(controller);
            const code = (err as { statusCode?: number } | null)?.statusCode;
            resolve(gone || code === 410 ? "gone" : err ? "error" : "closed");
          },
        )
        .then((c: AbortController) => {
          controller = c;
          this.aborts.add(c);
          if (this.stopped) c.abort();
        })
        .catch(() => resolve("error"));
    });
  }

  private async relist(path: string, state: { resourceVersion: string }): Promise<void> {
    const kind = COLLECTIONS.find((c) => c.path === path)?.kind ?? "";
    const list = (await getKubeJson(this.kc, path)) as {
      metadata?: { resourceVersion?: string };
      items?: KubernetesObject[];
    };
    for (const item of list.items ?? []) this.consider({ ...item, kind });
    state.resourceVersion = list.metadata?.resourceVersion ?? "";
  }

  private async retry(fn: () => Promise<void>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await fn();
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
  }
}

export interface IstioCheckServer {
  url: string;
  validator: IstioValidator;
  close(): Promise<void>;
}

/**
 * The validator behind a loopback HTTP API for test workers:
 *   GET  /cursor                      -> {seq}
 *   POST /sync                        -> {seq, listed}: every write so far validated
 *   GET  /findings?after=N[&all=1]    -> {findings, touched: namespaces with activity after N}
 *   POST /ack {namespace,kind,name,seq} -> {acknowledged: findings}
 *   POST /analyze {namespaces}        -> AnalyzeReport
 *   POST /check                       -> CheckReport: sync, analyze what changed, undelivered findings
 *   GET  /validated?namespace=NS      -> ValidatedWrite[]: the Serin writes validated so far
 *   GET  /stats                       -> ValidatorStats
 */
export async function startIstioCheck(
  istioctl: string,
  kubeconfig: string,
  log: (msg: string) => void = () => {},
): Promise<IstioCheckServer> {
  const validator = await new IstioValidator(istioctl, kubeconfig, log).start();
  const checkReplies = new Map<string, Promise<CheckReport>>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://istio-check");
    const reply = (status: number, body: unknown) => {
      // No keep-alive: a client reusing a socket the server is closing gets "other side closed".
      res.writeHead(status, { "content-type": "application/json", connection: "close" });
      res.end(JSON.stringify(body));
    };
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = (() => {
        try {
          return chunks.length
            ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
            : {};
        } catch {
          return {};
        }
      })();
      const route = `${req.method} ${url.pathname}`;
      const handle = async (): Promise<unknown> => {
        switch (route) {
          case "GET /cursor":
            return { seq: validator.cursor() };
          case "POST /sync": {
            const r = await validator.sync();
            return { seq: validator.cursor(), ...r };
          }
          case "GET /findings": {
            const after = Number(url.searchParams.get("after") ?? 0);
            return {
              findings: validator.findingsSince(after, url.searchParams.get("all") === "1"),
              touched: validator.touchedSince(after),
            };
          }
          case "POST /ack":
            return {
              acknowledged: validator.acknowledge(body as FindingMatch),
            };
          case "POST /check": {
            // A retried call (same token) gets the same report: delivered findings are never lost.
            const token = String(body.token ?? "");
            const cached = token ? checkReplies.get(token) : undefined;
            if (cached) return await cached;
            const report = validator.check();
            if (token) checkReplies.set(token, report);
            if (checkReplies.size > 100) checkReplies.delete(checkReplies.keys().next().value ?? "");
            return await report;
          }
          case "POST /analyze":
            return await validator.analyze(
              Array.isArray(body.namespaces) ? (body.namespaces as string[]) : [],
            );
          case "GET /validated": {
            const ns = url.searchParams.get("namespace");
            return validator.validatedWrites.filter((w) => ns === null || w.namespace === ns);
          }
          case "GET /stats":
            return validator.stats;
          default:
            throw Object.assign(new Error(`no route ${route}`), { status: 404 });
        }
      };
      handle()
        .then((r) => reply(200, r))
        .catch((err: unknown) =>
          reply((err as { status?: number }).status ?? 500, {
            error: String((err as Error)?.message ?? err),
          }),
        );
    });
  });
  server.on("clientError", (_err, socket) => socket.destroy());
  const port = await listenLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    validator,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await validator.stop();
    },
  };
}

/**
 * The global setup's entry: the referee for one e2e run, or undefined when switched off with
 * SERIN_ISTIO_CHECK=0. No istioctl is an error, not a silent skip.
 */
export async function startIstioCheckForRun(
  kubeconfig: string,
  log: (msg: string) => void,
): Promise<IstioCheckServer | undefined> {
  if (process.env.SERIN_ISTIO_CHECK === "0") {
    log("istio check: OFF (SERIN_ISTIO_CHECK=0): Serin's routing objects are not checked by istioctl");
    return undefined;
  }
  const istioctl = findIstioctl();
  if (istioctl === undefined) {
    throw new Error(
      "istioctl not found (SERIN_ISTIOCTL, $SERIN_CACHE/bin-istio-*/istioctl, /tmp/istio-bin/istioctl): " +
        "run scripts/setup.sh, or set SERIN_ISTIO_CHECK=0 to run without Istio's checks",
    );
  }
  const server = await startIstioCheck(istioctl, kubeconfig, log);
  log(
    `istio check: ${istioctl} validates Serin's VirtualServices/DestinationRules, istiod's status its HTTPRoutes (${server.url})`,
  );
  return {
    ...server,
    async close() {
      const s = server.validator.stats;
      const per = (ms: number, n: number) => (n === 0 ? "-" : `${(ms / n).toFixed(0)} ms`);
      log(
        `istio check: validated ${s.validated} Serin writes in ${s.validateCalls} istioctl calls ` +
          `(${per(s.validateMs, s.validateCalls)} per call, ${per(s.validateMs, s.validated)} per object); ` +
          `analyzed ${s.analyzeCalls} namespaces (${per(s.analyzeMs, s.analyzeCalls)} each); ` +
          `${s.events} watch events, ${s.ownedNotSerin} on Canary-owned objects last written by others, ` +
          `${s.serinNotOwned} Serin writes to objects no Canary owns; ${s.relists} relists; ` +
          `${server.validator.findings.length} findings (${server.validator.findings.filter((f) => f.acknowledged).length} acknowledged)`,
      );
      await server.close();
    },
  };
}
