// Istio's own judgement of the routing objects in the test world: `istioctl validate` (the checks
// Istio's validating webhook would make on admission) and `istioctl analyze` (cross-object checks on
// what is in the cluster). Used by the e2e suite's validator (test/support/istio-validator.ts) and by
// the demo. The binary is built from the Go module istio.io/istio (see scripts/testenv/).
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import type { KubernetesObject } from "@kubernetes/client-node";
import { istioBinaries } from "../env/istiod.js";

/**
 * istioctl: `SERIN_ISTIOCTL`, else the one scripts/testenv/build-istio.sh built (the version pinned in
 * scripts/testenv/versions.sh). Undefined when neither is executable.
 */
export function findIstioctl(): string | undefined {
  const candidates = [process.env.SERIN_ISTIOCTL, join(istioBinaries().binDir, "istioctl")];
  for (const path of candidates) {
    if (!path) continue;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next candidate
    }
  }
  return undefined;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runIstioctl(
  istioctl: string,
  args: string[],
  input?: string,
  timeoutMs = 60_000,
): Promise<RunResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(istioctl, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ms: performance.now() - t0,
      });
    });
    child.stdin.on("error", () => {}); // istioctl may exit before reading everything
    child.stdin.end(input ?? "");
  });
}

/**
 * The object as it would be submitted: no status, no server-side bookkeeping. `istioctl validate`
 * accepts only apiVersion/kind/metadata/spec/status at the top level and decodes spec strictly
 * (unknown fields are errors), so what is left is exactly what Serin wrote.
 */
export function submittable(obj: KubernetesObject): KubernetesObject {
  const copy = structuredClone(obj) as KubernetesObject & { status?: unknown };
  delete copy.status;
  if (copy.metadata) {
    const { managedFields, resourceVersion, uid, creationTimestamp, generation, selfLink, ...rest } =
      copy.metadata as Record<string, unknown>;
    void managedFields;
    void resourceVersion;
    void uid;
    void creationTimestamp;
    void generation;
    void selfLink;
    copy.metadata = rest;
  }
  return copy;
}

/** `Kind/namespace/name`, the prefix istioctl validate puts on each error of a document. */
export function validateKey(obj: {
  kind?: string;
  metadata?: { namespace?: string; name?: string };
}): string {
  return `${obj.kind ?? ""}/${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

export interface ValidateResult {
  /** istioctl's messages per `Kind/namespace/name` (its own text, without the prefix) */
  errors: Map<string, string[]>;
  /** messages that name no document of the input (e.g. a decode failure), and warnings */
  unattributed: string[];
  warnings: string;
  ok: boolean;
  ms: number;
}

/**
 * `istioctl validate -f -` on several objects in one call (one process start, ~50 ms, however many
 * documents). Each document's errors come back prefixed with `Kind/namespace/name:`.
 */
export async function validateObjects(
  istioctl: string,
  objects: KubernetesObject[],
): Promise<ValidateResult> {
  const input = objects.map((o) => `---\n${JSON.stringify(submittable(o))}\n`).join("");
  const run = await runIstioctl(istioctl, ["validate", "-f", "-"], input);
  const keys = new Set(objects.map(validateKey));
  const errors = new Map<string, string[]>();
  const unattributed: string[] = [];
  const text = `${run.stderr}\n${run.stdout}`;
  let warnings = "";
  if (run.code !== 0) {
    // cobra prints `Error: N errors occurred:\n\t* Kind/ns/name: message\n\t* ...`
    const body = text.replace(/^[\s\S]*?errors? occurred:\n/, "");
    const points = body.split(/\n\t\* |^\t\* /m).map((p) => p.trim());
    for (const point of points) {
      if (point === "") continue;
      const m = /^([A-Za-z]+\/[^/\s]*\/[^\s:]*): ([\s\S]*)$/.exec(point);
      if (m?.[1] && keys.has(m[1])) {
        const list = errors.get(m[1]) ?? [];
        list.push((m[2] ?? "").trim());
        errors.set(m[1], list);
      } else unattributed.push(point);
    }
    if (errors.size === 0 && unattributed.length === 0) unattributed.push(text.trim());
  } else if (!/validation succeed/.test(run.stdout + run.stderr)) {
    warnings = text.trim();
  }
  return { errors, unattributed, warnings, ok: run.code === 0, ms: run.ms };
}

/** One `istioctl analyze` message, as its `-o json` prints it. */
export interface AnalyzeMessage {
  code: string;
  level: string;
  message: string;
  /** e.g. `VirtualService shop/catalog` */
  origin?: string;
  reference?: string;
  documentationUrl?: string;
}

export interface AnalyzeResult {
  messages: AnalyzeMessage[];
  ms: number;
  stderr: string;
}

function parseAnalyzeOutput(run: RunResult, what: string): AnalyzeResult {
  const start = run.stdout.indexOf("[");
  if (start < 0) {
    throw new Error(
      `istioctl analyze ${what} printed no JSON (exit ${run.code}): ${(run.stderr || run.stdout).trim().slice(0, 2000)}`,
    );
  }
  const parsed = JSON.parse(run.stdout.slice(start)) as Array<Record<string, unknown>>;
  const messages = parsed.map((m) => ({
    code: String(m.code ?? ""),
    level: String(m.level ?? ""),
    message: String(m.message ?? ""),
    origin: m.origin === undefined ? undefined : String(m.origin),
    reference: m.reference === undefined ? undefined : String(m.reference),
    documentationUrl: m.documentationUrl === undefined ? undefined : String(m.documentationUrl),
  }));
  return { messages, ms: run.ms, stderr: run.stderr };
}

/**
 * `istioctl analyze` against the live cluster, one namespace: every analyzer sees what istiod would
 * (Services, pods, nodes, namespaces, mesh config) rather than a hand-picked export.
 */
export async function analyzeNamespace(
  istioctl: string,
  kubeconfig: string,
  namespace: string,
): Promise<AnalyzeResult> {
  const run = await runIstioctl(istioctl, [
    "analyze",
    `--kubeconfig=${kubeconfig}`,
    "-n",
    namespace,
    "-o",
    "json",
    "--output-threshold=Info",
    "--timeout=60s",
  ]);
  return parseAnalyzeOutput(run, `-n ${namespace}`);
}

/** `istioctl analyze --use-kube=false` over objects given as documents (no cluster needed). */
export async function analyzeObjects(istioctl: string, objects: KubernetesObject[]): Promise<AnalyzeResult> {
  const input = objects.map((o) => `---\n${JSON.stringify(submittable(o))}\n`).join("");
  const run = await runIstioctl(
    istioctl,
    ["analyze", "--use-kube=false", "-o", "json", "--output-threshold=Info", "-"],
    input,
  );
  return parseAnalyzeOutput(run, "(files)");
}

/**
 * Findings of `istioctl analyze` that describe the simulated cluster, not Serin's or a test's objects.
 * Each was seen in this test world and traced to its cause; anything else fails.
 */
export const SIMULATION_ALLOW_LIST: Readonly<Record<string, string>> = {
  // "Namespace X is not enabled for Istio injection": no namespace carries istio-injection=enabled
  // because there is no injection webhook; the mesh simulator stands in for every sidecar, so all
  // pods are in the mesh as far as routing goes.
  IST0102: "namespace not labelled for sidecar injection: the mesh simulator plays the sidecars",
  // "The pod X is missing the Istio proxy": kwok's pods have only their app container; the
  // simulator, not an istio-proxy container, applies the routing.
  IST0103: "pod without an istio-proxy container: kwok pods, sidecars simulated",
};

/** Splits findings into those that fail and those allowed by SIMULATION_ALLOW_LIST. */
export function partitionAnalyze(messages: AnalyzeMessage[]): {
  failing: AnalyzeMessage[];
  allowed: AnalyzeMessage[];
} {
  const failing: AnalyzeMessage[] = [];
  const allowed: AnalyzeMessage[] = [];
  for (const m of messages) (m.code in SIMULATION_ALLOW_LIST ? allowed : failing).push(m);
  return { failing, allowed };
}

/** `Error [IST0101] (VirtualService shop/catalog) Referenced host not found: "x"` — istioctl's log line. */
export function formatAnalyze(m: AnalyzeMessage): string {
  return `${m.level} [${m.code}] (${m.origin ?? "?"}) ${m.message}`;
}

/**
 * For the demo (scripts/demo.ts): `istioctl validate` on the namespace's VirtualServices and
 * DestinationRules and `istioctl analyze -n NS` on the live cluster, printed as a user would see them.
 * Returns the findings that are not explained by the simulated cluster (empty = Istio accepts it all).
 */
export async function istioReport(
  kubeconfig: string,
  namespace: string,
  list: (kind: string) => KubernetesObject[],
  write: (text: string) => void,
): Promise<string[]> {
  const istioctl = findIstioctl();
  if (istioctl === undefined) {
    write(
      "   istioctl not found (scripts/setup.sh builds it; or set SERIN_ISTIOCTL): Istio's checks skipped\n",
    );
    return [];
  }
  const problems: string[] = [];
  const objects = [...list("virtualservices"), ...list("destinationrules")].filter(
    (o) => o.kind === "VirtualService" || o.kind === "DestinationRule",
  );
  write(
    `   $ kubectl get virtualservices,destinationrules -n ${namespace} -o yaml | istioctl validate -f -\n`,
  );
  const validation = await validateObjects(istioctl, objects);
  if (validation.ok) {
    write(`   validation succeed (${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")})\n`);
  } else {
    for (const [key, messages] of validation.errors)
      for (const m of messages) problems.push(`istioctl validate: ${key}: ${m}`);
    problems.push(...validation.unattributed.map((m) => `istioctl validate: ${m}`));
  }
  write(`   $ istioctl analyze -n ${namespace}\n`);
  const analysis = await analyzeNamespace(istioctl, kubeconfig, namespace);
  for (const m of analysis.messages) {
    const reason = SIMULATION_ALLOW_LIST[m.code];
    write(`   ${formatAnalyze(m)}${reason ? `\n      (allowed: ${reason})` : ""}\n`);
    if (!reason) problems.push(`istioctl analyze: ${formatAnalyze(m)}`);
  }
  if (analysis.messages.length === 0)
    write(`   ✔ No validation issues found when analyzing namespace: ${namespace}.\n`);
  for (const p of problems) write(`   ✘ ${p}\n`);
  return problems;
}
