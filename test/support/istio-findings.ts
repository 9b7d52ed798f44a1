// A test worker's side of the Istio referee (test/support/istio-validator.ts runs in the vitest main
// process): wait for, acknowledge and describe what `istioctl validate` / `istioctl analyze` found.
import { randomUUID } from "node:crypto";
import type {
  AnalyzeReport,
  CheckReport,
  FindingMatch,
  IstioFinding,
  ValidatedWrite,
  ValidatorStats,
} from "./istio-validator.js";

export type { AnalyzeReport, CheckReport, FindingMatch, IstioFinding, ValidatedWrite };

declare module "vitest" {
  export interface ProvidedContext {
    /** The Istio referee (test/support/istio-validator.ts); "" when switched off. */
    istioCheckUrl: string;
  }
}

export class IstioCheckClient {
  constructor(readonly url: string) {}

  /** One call, retried on a connection failure (every route is idempotent; /check by its token). */
  private async call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.url}${path}`, {
          method,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(300_000),
        });
      } catch (err) {
        if (attempt >= 3) throw new Error(`istio check ${method} ${path}: ${String(err)}`, { cause: err });
        await new Promise((r) => setTimeout(r, 200 * attempt));
        continue;
      }
      const text = await res.text();
      if (!res.ok) throw new Error(`istio check ${method} ${path}: HTTP ${res.status} ${text}`);
      return JSON.parse(text) as T;
    }
  }

  /** The current sequence number: findings after it are newer than this call. */
  async cursor(): Promise<number> {
    return (await this.call<{ seq: number }>("GET", "/cursor")).seq;
  }

  /** Validates every write so far (including those the watch has not delivered yet). */
  async sync(): Promise<void> {
    await this.call("POST", "/sync");
  }

  /** Findings recorded after `cursor` (acknowledged ones too when `all`). */
  async findings(cursor: number, all = false): Promise<IstioFinding[]> {
    const r = await this.call<{ findings: IstioFinding[] }>(
      "GET",
      `/findings?after=${cursor}${all ? "&all=1" : ""}`,
    );
    return r.findings;
  }

  /** Waits until a finding after `cursor` matches. */
  async waitForFinding(cursor: number, match: FindingMatch, timeoutMs = 30_000): Promise<IstioFinding> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await this.sync();
      const hit = (await this.findings(cursor, true)).find((f) => matches(f, match));
      if (hit) return hit;
      if (Date.now() > deadline)
        throw new Error(`no Istio finding for ${JSON.stringify(match)} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /**
   * Marks the matching findings as expected, so the hooks do not fail the test on them; without `seq`
   * the match also covers findings about the same object recorded later.
   */
  async acknowledge(match: FindingMatch): Promise<IstioFinding[]> {
    return (await this.call<{ acknowledged: IstioFinding[] }>("POST", "/ack", match)).acknowledged;
  }

  /** `istioctl analyze` on these namespaces now (allow-listed findings come back under `allowed`). */
  async analyze(namespaces: string[]): Promise<AnalyzeReport> {
    return await this.call<AnalyzeReport>("POST", "/analyze", { namespaces });
  }

  /** The hooks' check (see IstioValidator.check). */
  async check(): Promise<CheckReport> {
    return await this.call<CheckReport>("POST", "/check", { token: randomUUID() });
  }

  /** The Serin writes validated so far in `namespace` (after a sync). */
  async validated(namespace: string): Promise<ValidatedWrite[]> {
    await this.sync();
    return await this.call<ValidatedWrite[]>("GET", `/validated?namespace=${encodeURIComponent(namespace)}`);
  }

  async stats(): Promise<ValidatorStats> {
    return await this.call<ValidatorStats>("GET", "/stats");
  }
}

function matches(f: IstioFinding, m: FindingMatch): boolean {
  return (
    (m.seq === undefined || f.seq === m.seq) &&
    (m.namespace === undefined || f.namespace === m.namespace) &&
    (m.kind === undefined || f.kind === m.kind) &&
    (m.name === undefined || f.name === m.name)
  );
}

/** The object's spec, compact, so the failing field can be read in the assertion message. */
function specOf(f: IstioFinding): string {
  const spec = (f.object as { spec?: unknown } | undefined)?.spec;
  if (spec === undefined) return "";
  const text = JSON.stringify(spec);
  return text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
}

/** One finding as a failure line: the object, istioctl's message, and the spec it was about. */
export function describeFinding(f: IstioFinding): string {
  if (f.tool === "validate" && f.kind === "HTTPRoute") {
    return [
      `istiod rejects HTTPRoute ${f.namespace}/${f.name} (generation ${f.generation}, written by Serin): ${f.message}`,
      `    spec: ${specOf(f)}`,
    ].join("\n");
  }
  if (f.tool === "validate") {
    return [
      `istioctl validate rejects ${f.kind} ${f.namespace}/${f.name} (generation ${f.generation}, written by Serin): ${f.message}`,
      `    spec: ${specOf(f)}`,
    ].join("\n");
  }
  return `istioctl analyze: ${f.level} [${f.code}] (${f.kind} ${f.namespace}/${f.name}) ${f.message}`;
}

/** The failure message for a check, or undefined when Istio found nothing. */
export function checkFailure(report: CheckReport, when: string): string | undefined {
  if (report.findings.length === 0) return undefined;
  const lines = report.findings.map(describeFinding);
  return `Istio rejects what the test world holds (${when}):\n${lines.join("\n")}`;
}
