// Issue 6, bad input on the real cluster: one Serin, dozens of generated bad Canaries (seeded, from the
// same generators as the unit fuzz suite) applied through kube-apiserver across namespaces, plus valid
// ones. Serin must stay up, explain every stored invalid Canary (Ready=False InvalidSpec naming the
// field, a Warning Event), not spin on them, and still roll out the valid ones. Then one tenant's
// webhooks hang (accept the connection, never answer): another tenant's rollout must keep its pace,
// deleting the hanging Canaries must free what they held, and SIGTERM must stop Serin promptly.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { validateCanary } from "../../src/api/validate.js";
import { sleep } from "../env/processes.js";
import { repoRoot } from "../env/toolchain.js";
import { applyCatalog, webappTraffic } from "../support/catalog.js";
import {
  baseCanaries,
  KNOWN_BAD_CANARY,
  mutatedCanaryArb,
  type Obj,
  sampleSeeded,
  setAt,
} from "../support/fuzz-canary.js";
import { crdSchema, isDnsSubdomain, validateAgainstSchema } from "../support/fuzz-crd-schema.js";
import { counterSum, seriesOf, startHangingServer, type TestServer } from "../support/fuzz-servers.js";
import { Kubectl } from "../support/kube.js";
import { type SerinProcess, startSerin } from "../support/serin-process.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RANDOM_MUTANTS = Number(process.env.FUZZ_E2E_RANDOM ?? 24);
const k = new Kubectl(inject("kubeconfig"));
const log = (line: string) => process.stdout.write(`[bad-input] ${line}\n`);

let serin: SerinProcess;
let healthUrl = "";
let hang: TestServer;

beforeAll(async () => {
  serin = await startSerin({
    name: "serin-bad-input",
    kubeconfigPath: inject("serinKubeconfig"),
    metricsServer: inject("prometheusUrl"),
    logDir: inject("envDir"),
  });
  healthUrl = serin.metricsUrl.replace(/\/metrics$/, "/healthz");
  hang = await startHangingServer();
});
afterAll(async () => {
  await serin?.stop();
  await hang?.close();
});

async function healthz(): Promise<number> {
  try {
    return (await fetch(healthUrl, { signal: AbortSignal.timeout(3_000) })).status;
  } catch {
    return 0;
  }
}

async function reconcileTotal(): Promise<{ total: number; lines: string[] }> {
  const text = await (await fetch(serin.metricsUrl)).text();
  return {
    total: counterSum(text, "controller_runtime_reconcile_total"),
    lines: seriesOf(text, "controller_runtime_reconcile_total"),
  };
}

interface Ready {
  status: string;
  reason: string;
  message?: string;
}
const readyOf = (ns: string, name: string): Ready | undefined =>
  k.canary(ns, name).status?.conditions?.find((c) => c.type === "Ready");

/** Ready conditions of every Canary in the cluster, by "namespace/name" (one kubectl call). */
function allReady(): Map<string, Ready | undefined> {
  const list = k.json<{
    items: Array<{
      metadata: { name: string; namespace: string };
      status?: { conditions?: Array<Ready & { type: string }> };
    }>;
  }>(["get", "canaries.serin.dev", "-A"]);
  return new Map(
    list.items.map((c) => [
      `${c.metadata.namespace}/${c.metadata.name}`,
      c.status?.conditions?.find((x) => x.type === "Ready"),
    ]),
  );
}

interface Case {
  name: string;
  namespace: string;
  label: string;
  /** field paths the InvalidSpec message must name (any one); undefined: any spec.* path */
  fields?: string[];
  obj: Obj;
  /** Serin's validation (this source tree) says invalid */
  locallyInvalid: boolean;
  /** the issue says this must be rejected, whatever the current validation says */
  mustReject: boolean;
  /** our model of the CRD schema (crds/) predicts the apiserver refuses it */
  predictedSchemaReject: boolean;
  stored?: boolean;
  apiserverError?: string;
}

function catalogDeploymentAndService(name: string): string {
  const dir = join(repoRoot, "examples", "catalog");
  const dep = load(readFileSync(join(dir, "deployment.yaml"), "utf8")) as Obj;
  const svc = load(readFileSync(join(dir, "service.yaml"), "utf8")) as Obj;
  // Every "catalog" (names, labels, the container) becomes `name`; the image stays istioinaction/catalog.
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: [dep, svc] }).replaceAll(
    '"catalog"',
    JSON.stringify(name),
  );
}

describe("bad input", () => {
  it("stays up, explains every stored invalid Canary with InvalidSpec naming the field, does not spin on them, and still initializes valid ones", async () => {
    const namespaces = [k.createNamespace("bad-a"), k.createNamespace("bad-b"), k.createNamespace("bad-c")];
    const validNs = [k.createNamespace("good-a"), k.createNamespace("good-b")];
    const schema = crdSchema("serin.dev_canaries.yaml");
    const bases = baseCanaries();
    const cases: Case[] = [];
    const add = (label: string, obj: Obj, mustReject: boolean, fields?: string[]) => {
      const i = cases.length;
      const namespace = namespaces[i % namespaces.length] as string;
      const name = (obj.metadata as { name?: unknown } | undefined)?.name;
      const local = validateCanary(obj);
      const crd = validateAgainstSchema(obj, schema);
      cases.push({
        name: String(name),
        namespace,
        label,
        fields,
        obj,
        locallyInvalid: !local.ok,
        mustReject,
        predictedSchemaReject: crd.errors.length > 0 || !isDnsSubdomain(name),
      });
    };
    // Every mutation the issue calls out, each on a base picked by the seed.
    KNOWN_BAD_CANARY.forEach((bad, i) => {
      const base = bases[(SEED + i) % bases.length] as { obj: Obj };
      const obj = structuredClone(base.obj);
      bad.apply(obj);
      setAt(obj, ["metadata"], { name: `known-${i}` });
      add(bad.label, obj, true, bad.fields);
    });
    // Names the apiserver itself refuses.
    for (const name of ["UPPER-case", "under_score", "x".repeat(254)]) {
      const obj = structuredClone((bases[0] as { obj: Obj }).obj);
      setAt(obj, ["metadata"], { name });
      add(`metadata.name ${name.slice(0, 20)}`, obj, true);
    }
    // Random mutants (seeded): Serin's own validation decides what they should be.
    sampleSeeded(mutatedCanaryArb(), SEED, RANDOM_MUTANTS).forEach((m, i) => {
      setAt(m.obj, ["metadata"], { name: `random-${i}` });
      add(`random: ${m.mutations.join(", ")}`, m.obj, false);
    });

    // Valid Canaries beside them, in their own namespaces.
    for (const ns of validNs) applyCatalog(k, ns, { interval: "10s" });

    for (const c of cases) {
      const obj = { ...c.obj, metadata: { ...(c.obj.metadata as Obj), namespace: c.namespace } };
      try {
        k.run(["create", "-f", "-"], JSON.stringify(obj));
        c.stored = true;
      } catch (err) {
        c.stored = false;
        c.apiserverError = String((err as { stderr?: string }).stderr ?? err)
          .split("\n")[0]
          ?.slice(0, 200);
      }
    }
    const stored = cases.filter((c) => c.stored);
    const refused = cases.filter((c) => !c.stored);
    log(
      `seed ${SEED}: ${cases.length} bad Canaries generated, ${refused.length} refused by the apiserver's schema, ${stored.length} stored`,
    );
    const mispredicted = cases.filter((c) => c.predictedSchemaReject !== !c.stored);
    for (const c of mispredicted)
      log(
        `  CRD model mismatch: ${c.label}: predicted ${c.predictedSchemaReject ? "refused" : "stored"}, apiserver ${c.stored ? "stored" : `refused (${c.apiserverError})`}`,
      );

    // Every stored Canary that must be (or that Serin's validation says is) invalid: InvalidSpec, fast.
    const expectInvalid = stored.filter((c) => c.mustReject || c.locallyInvalid);
    const seenAt = new Map<Case, { ms: number; ready: Ready }>();
    const started = Date.now();
    while (Date.now() - started < 30_000 && seenAt.size < expectInvalid.length) {
      const readyNow = allReady();
      for (const c of expectInvalid) {
        if (seenAt.has(c)) continue;
        const ready = readyNow.get(`${c.namespace}/${c.name}`);
        if (ready?.reason === "InvalidSpec") seenAt.set(c, { ms: Date.now() - started, ready });
      }
      await sleep(1_000);
    }
    const times = [...seenAt.values()].map((s) => s.ms).sort((a, b) => a - b);
    log(
      `${seenAt.size}/${expectInvalid.length} stored invalid Canaries reported InvalidSpec; p50 ${times[Math.floor(times.length / 2)] ?? "-"} ms, max ${times[times.length - 1] ?? "-"} ms after the last create`,
    );
    const missing = expectInvalid.filter((c) => !seenAt.has(c));
    const readyAfter = allReady();
    const missingText = missing.map((c) => {
      const r = readyAfter.get(`${c.namespace}/${c.name}`);
      return `${c.label} [${c.namespace}/${c.name}] -> Ready ${r?.status ?? "-"}/${r?.reason ?? "-"}${c.locallyInvalid ? "" : " (this tree's validation accepts it too)"}`;
    });
    for (const line of missingText) log(`  NOT InvalidSpec: ${line}`);

    // The message names a field (the one the mutation broke, for the called-out ones).
    const unnamed: string[] = [];
    for (const [c, { ready }] of seenAt) {
      const msg = ready.message ?? "";
      const ok = c.fields ? c.fields.some((f) => msg.includes(f)) : /\bspec\.[A-Za-z]/.test(msg);
      if (ready.status !== "False" || !ok) unnamed.push(`${c.label}: "${msg.slice(0, 200)}"`);
    }
    for (const line of unnamed) log(`  message does not name the field: ${line}`);

    // ... and a Warning Event says the same.
    const events = k.json<{
      items: Array<{
        type: string;
        reason: string;
        message: string;
        involvedObject: { name: string; namespace: string };
      }>;
    }>(["get", "events", "-A", "--field-selector", "reason=InvalidSpec"]).items;
    const withoutEvent = [...seenAt.keys()].filter(
      (c) =>
        !events.some(
          (e) =>
            e.type === "Warning" &&
            e.involvedObject.name === c.name &&
            e.involvedObject.namespace === c.namespace,
        ),
    );
    for (const c of withoutEvent) log(`  no Warning InvalidSpec Event: ${c.label}`);

    // Locally valid random mutants must not be called invalid.
    const wronglyInvalid = stored
      .filter((c) => !c.mustReject && !c.locallyInvalid)
      .filter((c) => readyAfter.get(`${c.namespace}/${c.name}`)?.reason === "InvalidSpec");
    for (const c of wronglyInvalid)
      log(`  InvalidSpec although this tree's validation accepts it: ${c.label}`);

    // The valid Canaries initialize.
    for (const ns of validNs) await k.waitForPhase(ns, "catalog-release", ["Initialized"], 60_000);

    // A quiet window: nothing changes, so almost nothing should be reconciled. Serin watches every
    // namespace, so Canaries left by earlier test files count too.
    const all = allReady().size;
    const before = await reconcileTotal();
    await sleep(20_000);
    const after = await reconcileTotal();
    const perCanaryPerSecond = (after.total - before.total) / all / 20;
    log(
      `quiet window: ${after.total - before.total} reconciles in 20 s for ${all} Canaries = ${perCanaryPerSecond.toFixed(3)} per Canary per second (${after.lines.join("; ")})`,
    );

    // Reconciles that failed (retried with backoff): which Canaries and why, from Serin's log.
    const failures = readFileSync(serin.process.logPath, "utf8")
      .split("\n")
      .filter((l) => l.includes("reconcile failed"))
      .map((l) => {
        try {
          const j = JSON.parse(l) as { canary?: string; err?: unknown };
          return `${j.canary}: ${JSON.stringify(j.err).slice(0, 200)}`;
        } catch {
          return l.slice(0, 200);
        }
      });
    log(
      `failed reconciles in Serin's log: ${failures.length}${[...new Set(failures)]
        .slice(0, 8)
        .map((f) => `\n    ${f}`)
        .join("")}`,
    );

    expect(serin.process.exited(), "Serin exited").toBe(false);
    expect(await healthz()).toBe(200);
    expect(missingText, "stored invalid Canaries without Ready=False InvalidSpec").toEqual([]);
    expect(unnamed, "InvalidSpec messages that do not name the field").toEqual([]);
    expect(
      withoutEvent.map((c) => c.label),
      "InvalidSpec without a Warning Event",
    ).toEqual([]);
    expect(wronglyInvalid.map((c) => c.label)).toEqual([]);
    expect(refused.length, "the apiserver's schema refused some generated Canaries").toBeGreaterThan(0);
    expect(perCanaryPerSecond, "reconciles per Canary per second while nothing changes").toBeLessThan(0.5);
  });

  it("one tenant's hanging webhooks do not hold back another tenant's rollout; deleting them frees their calls; SIGTERM stops Serin in time", async () => {
    const nsA = k.createNamespace("tenant-a");
    const nsB = k.createNamespace("tenant-b");
    // Tenant A: more hanging Canaries than Serin has workers (4 by default), with the worst hooks
    // validation lets through: default timeout, the longest timeouts, the most retries.
    // Those validation refuses are recorded and skipped; at least 4 must remain to hang.
    const variants: Array<[string, Obj]> = [
      ["default timeout", {}],
      ["timeout 10m", { timeout: "10m" }],
      ["timeout 1h", { timeout: "1h" }],
      ["retries 10, timeout 1m", { retries: 10, timeout: "1m" }],
      ["timeout 0s", { timeout: "0s" }],
      ["retries 1000000", { retries: 1_000_000 }],
      ["timeout 10m #2", { timeout: "10m" }],
      ["retries 1, timeout 5m", { retries: 1, timeout: "5m" }],
      ["default timeout #2", {}],
      ["timeout 10m #3", { timeout: "10m" }],
    ];
    const names = variants.map((_, i) => `hang-${i}`);
    for (const [i, [, hook]] of variants.entries()) {
      const name = names[i] as string;
      k.run(["apply", "-n", nsA, "-f", "-"], catalogDeploymentAndService(name));
      const canary = {
        apiVersion: "serin.dev/v1beta1",
        kind: "Canary",
        metadata: { name, namespace: nsA },
        spec: {
          targetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
          progressDeadlineSeconds: 60,
          service: { name, port: 80, targetPort: 3000 },
          analysis: {
            interval: "10s",
            threshold: 100,
            maxWeight: 50,
            stepWeight: 25,
            webhooks: [
              { name: "acceptance", type: "pre-rollout", url: `${hang.url}/${name}/pre`, ...hook },
              { name: "load", type: "rollout", url: `${hang.url}/${name}/rollout`, ...hook },
            ],
          },
        },
      };
      try {
        k.run(["apply", "-f", "-"], JSON.stringify(canary));
      } catch (err) {
        const why = String((err as { stderr?: string }).stderr ?? err).replace(/\s+/g, " ");
        log(`tenant A ${name} (${variants[i]?.[0]}) refused by the apiserver: ${why.slice(0, 200)}`);
      }
    }
    applyCatalog(k, nsB, { interval: "10s" });
    await k.waitForPhase(nsB, "catalog-release", ["Initialized"], 60_000);
    const hanging: string[] = [];
    const storedA = new Set(
      k
        .run(["get", "canaries.serin.dev", "-n", nsA, "-o", "name"])
        .split("\n")
        .map((l) => l.split("/")[1] ?? "")
        .filter((n) => n !== ""),
    );
    const settled = (name: string) =>
      k.canary(nsA, name).status?.phase === "Initialized" || readyOf(nsA, name)?.reason === "InvalidSpec";
    for (let t = 0; t < 60 && ![...storedA].every(settled); t++) await sleep(500);
    for (const [i, name] of names.entries()) {
      if (!storedA.has(name)) continue;
      const phase = k.canary(nsA, name).status?.phase ?? "";
      const ready = readyOf(nsA, name);
      const label = variants[i]?.[0];
      if (phase === "Initialized") hanging.push(name);
      else
        log(
          `tenant A ${name} (${label}) not started: phase ${phase}, Ready ${ready?.reason}: ${ready?.message?.slice(0, 160)}`,
        );
    }
    log(`tenant A: ${hanging.length} Canaries with hanging hooks: ${hanging.join(", ")}`);
    expect(hanging.length, "at least as many hanging Canaries as workers").toBeGreaterThanOrEqual(4);

    const traffic = webappTraffic(inject("meshProxyUrl"), nsB);
    for (const name of hanging)
      k.run(["set", "image", "-n", nsA, `deployment/${name}`, `${name}=istioinaction/catalog:v2`]);
    // Let tenant A's hooks start hanging before tenant B pushes.
    for (let i = 0; i < 40 && hang.open() < Math.min(4, hanging.length); i++) await sleep(250);
    log(`hung requests before tenant B's push: ${hang.open()}`);
    const pushed = Date.now();
    k.run(["set", "image", "-n", nsB, "deployment/catalog", "catalog=istioinaction/catalog:v2"]);

    // Tenant B's steps, as seen by polling its status.
    const steps: Array<{ at: number; phase: string; weight: number; failedChecks: number }> = [
      { at: pushed, phase: "pushed", weight: 0, failedChecks: 0 },
    ];
    let phase = "";
    while (Date.now() - pushed < 240_000 && phase !== "Succeeded" && phase !== "Failed") {
      const s = k.canary(nsB, "catalog-release").status;
      phase = s?.phase ?? "";
      const last = steps[steps.length - 1];
      const now = { phase, weight: s?.canaryWeight ?? 0, failedChecks: s?.failedChecks ?? 0 };
      if (
        last &&
        (last.phase !== now.phase || last.weight !== now.weight || last.failedChecks !== now.failedChecks)
      )
        steps.push({ at: Date.now(), ...now });
      await sleep(250);
    }
    await traffic.stop();
    const gaps = steps.slice(1).map((s, i) => ({ ...s, gapMs: s.at - (steps[i]?.at ?? s.at) }));
    log(
      `tenant B: ${gaps.map((g) => `${g.phase}/${g.weight}${g.failedChecks ? ` (failed ${g.failedChecks})` : ""} +${(g.gapMs / 1000).toFixed(1)}s`).join(" -> ")}; hung requests now ${hang.open()}, total hook requests ${hang.requests.length}`,
    );
    // Each step (or failed check, which waits one interval too) comes within the interval (10 s) plus
    // the hanging hooks' default deadline (10 s) plus 5 s of slack.
    const limitMs = 25_000;
    const late = gaps.filter((g) => g.gapMs > limitMs);

    // Deleting tenant A's first Canaries frees their hung calls (their sockets are closed) within 20 s.
    const deleted = hanging.slice(0, 3);
    const openBefore = deleted.map((n) => hang.open(`/${n}/`));
    const deletedAt = Date.now();
    k.run(["delete", "canary", ...deleted, "-n", nsA, "--wait=false"]);
    let stillOpen = deleted.map((n) => hang.open(`/${n}/`)).reduce((a, b) => a + b, 0);
    while (Date.now() - deletedAt < 20_000 && stillOpen > 0) {
      await sleep(500);
      stillOpen = deleted.map((n) => hang.open(`/${n}/`)).reduce((a, b) => a + b, 0);
    }
    const requestsAfter = () =>
      hang.requests.filter((r) => r.at > deletedAt + 2_000 && deleted.some((n) => r.url.startsWith(`/${n}/`)))
        .length;
    await sleep(3_000);
    log(
      `deleted ${deleted.join(", ")} (hung calls ${openBefore.join("/")}): still open after ${((Date.now() - deletedAt) / 1000).toFixed(1)} s: ${stillOpen}; new calls for them after deletion: ${requestsAfter()}`,
    );
    expect(serin.process.exited(), "Serin exited").toBe(false);
    expect(await healthz(), "/healthz while tenant A hangs").toBe(200);

    // SIGTERM while the remaining hooks hang: Serin exits within 10 s.
    const openAtTerm = hang.open();
    const termAt = Date.now();
    process.kill(serin.process.pid, "SIGTERM");
    while (!serin.process.exited() && Date.now() - termAt < 15_000) await sleep(100);
    const exitMs = Date.now() - termAt;
    log(
      `SIGTERM with ${openAtTerm} hung calls: ${serin.process.exited() ? `exited in ${exitMs} ms` : "still running after 15 s"}`,
    );

    expect(phase, "tenant B's rollout").toBe("Succeeded");
    expect(
      late.map((g) => `${g.phase}/${g.weight} after ${(g.gapMs / 1000).toFixed(1)} s`),
      `tenant B's steps later than ${limitMs / 1000} s`,
    ).toEqual([]);
    expect(stillOpen, "hung calls of deleted Canaries still open 20 s after the delete").toBe(0);
    expect(requestsAfter(), "hook calls for deleted Canaries").toBe(0);
    expect(serin.process.exited() && exitMs <= 10_000, `Serin exited ${exitMs} ms after SIGTERM`).toBe(true);
  });
});
