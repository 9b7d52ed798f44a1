// Fault matrix (issue 6), part 3: writes racing Serin's own. (1) A user patches unrelated Canary spec
// fields several times a second during the steps; (2) the leader of two Serins dies between writing the
// routes and writing the status. Weights must never go backwards in either. The cases run side by side.
import { readFileSync } from "node:fs";
import { afterAll, describe, inject, it } from "vitest";
import { sleep } from "../env/processes.js";
import { type FaultCase, FaultCases, V2 } from "../support/faults.js";
import { Kubectl } from "../support/kube.js";

const k = new Kubectl(inject("kubeconfig"));
const cases = new FaultCases(k);
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const c of cleanups) c();
});

/** Status weights from the Canary watch: must only grow until the run ends. */
function statusBackwards(c: FaultCase): string[] {
  const out: string[] = [];
  let max = 0;
  for (const s of c.canary.samples()) {
    if (["Promoting", "Finalising", "Succeeded", "Failed"].includes(s.phase)) break;
    if (s.weight < max) out.push(`status weight ${max} -> ${s.weight} (${s.phase})`);
    max = Math.max(max, s.weight);
  }
  return out;
}

describe.concurrent("fault matrix: writes racing Serin's", () => {
  it("concurrent spec edits during steps (threshold, annotations, several a second): weights never backwards", async ({
    expect,
  }) => {
    const c = await cases.open({ name: "spec-edits", threshold: 3 });
    await c.waitInitialized();
    c.startTraffic();
    c.push(V2);
    await c.canary.waitForWeight(10, 120_000);
    // Until the run reaches promotion (or 40 s): alternate an unrelated spec field and an annotation.
    let edits = 0;
    const until = Date.now() + 40_000;
    while (Date.now() < until) {
      const phase = c.canary.samples().at(-1)?.phase ?? "";
      if (["Promoting", "Finalising", "Succeeded", "Failed"].includes(phase)) break;
      if (edits % 2 === 0)
        await c.kubectlAsync([
          "patch",
          "canary",
          "catalog-release",
          "-n",
          c.ns,
          "--type=merge",
          "-p",
          JSON.stringify({ spec: { analysis: { threshold: edits % 4 === 0 ? 4 : 3 } } }),
        ]);
      else
        await c.kubectlAsync([
          "annotate",
          "canary",
          "catalog-release",
          "-n",
          c.ns,
          `fault.serin.dev/edit=${edits}`,
          "--overwrite",
        ]);
      edits++;
      await sleep(100);
    }
    const phase = await c.waitTerminal(180_000);
    const violations = await c.violations({ newImage: V2 });
    process.stdout.write(`${c.summary()}\n  ${edits} spec/annotation edits during the steps\n`);
    expect.soft(edits).toBeGreaterThan(20);
    expect.soft(phase).toBe("Succeeded");
    expect.soft(violations).toEqual([]);
    expect.soft(statusBackwards(c)).toEqual([]);
  });

  it("leader killed between the route write and the status write: the new leader never moves weights backwards", async ({
    expect,
  }) => {
    const c = await cases.open({ name: "leader", serins: 2, maxWeight: 40 });
    await c.waitInitialized();
    c.startTraffic();
    c.push(V2);
    const step = await c.canary.waitForWeight(10, 120_000);
    // The status write is the one that never lands: an admission policy denies the serin ServiceAccount's
    // writes to canaries/status in this namespace, so whatever Serin does between deciding a step and
    // recording it happens, and the record does not — exactly the window a crash would hit.
    const policy = `fault-freeze-${c.ns}`;
    k.run(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name: policy },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: [
              {
                apiGroups: ["serin.dev"],
                apiVersions: ["*"],
                operations: ["UPDATE"],
                resources: ["canaries/status"],
              },
            ],
          },
          validations: [
            {
              expression: "request.userInfo.username != 'system:serviceaccount:serin-system:serin'",
              message: "fault injection: Canary status writes frozen",
            },
          ],
        },
      }),
    );
    const unfreeze = () => {
      k.run(["delete", "validatingadmissionpolicybinding", policy, "--ignore-not-found"]);
      k.run(["delete", "validatingadmissionpolicy", policy, "--ignore-not-found"]);
    };
    cleanups.push(unfreeze);
    k.run(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicyBinding",
        metadata: { name: policy },
        spec: {
          policyName: policy,
          validationActions: ["Deny"],
          matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": c.ns } } },
        },
      }),
    );
    // In force once a server-side dry run of a status change, as Serin, is denied.
    let probe = "";
    await c
      .until(
        "status freeze in force",
        () => {
          try {
            // A raw PUT (kubectl patch would GET first, which Serin's RBAC does not allow).
            const obj = k.json<{ metadata: Record<string, unknown>; status?: Record<string, unknown> }>([
              "get",
              "canary",
              "catalog-release",
              "-n",
              c.ns,
            ]);
            obj.status = { ...obj.status, failedChecks: 7 };
            probe = k.run(
              [
                "replace",
                "--raw",
                `/apis/serin.dev/v1beta1/namespaces/${c.ns}/canaries/catalog-release/status?dryRun=All`,
                "-f",
                "-",
                "--as=system:serviceaccount:serin-system:serin",
              ],
              JSON.stringify(obj),
            );
            return undefined;
          } catch (err) {
            probe = String((err as { stderr?: string }).stderr ?? err);
            return probe.includes("frozen") ? true : undefined;
          }
        },
        15_000,
        300,
      )
      .catch((err: unknown) => {
        throw new Error(`${String(err)}; last probe: ${probe}`);
      });
    const frozenAt = Date.now();
    const frozenWeight = c.canary.samples().at(-1)?.weight ?? step.weight;
    // The leader's next step is due within an interval: wait for its route write (Serin writing routes
    // ahead of its status), or for an interval and a half without one (status written first: nothing moves).
    const ahead = await c
      .until(
        "Serin writes routes ahead of its status",
        () =>
          c.routes.samples.find(
            (s) => s.t > frozenAt && s.writer === "serin" && s.canaryWeight > frozenWeight,
          ),
        15_000,
      )
      .catch(() => undefined);
    const leader = c.leader();
    expect.soft(leader, "a leader holds the case's Lease").toBeDefined();
    const killedAt = Date.now();
    if (leader) await c.crash(leader);
    // Evidence the fault was exercised: the leader's status write was denied, or its routes ran ahead.
    const denied = leader
      ? readFileSync(leader.process.logPath, "utf8").includes("status writes frozen")
      : false;
    unfreeze();
    const phase = await c.waitTerminal(180_000);
    const violations = await c.violations({ newImage: V2 });
    const takeover = c.routes.samples.find((s) => s.t > killedAt && s.writer === "serin");
    process.stdout.write(
      `${c.summary()}\n  frozen at status weight ${frozenWeight}; leader's status write denied: ${denied}; routes written ahead of status: ${ahead ? `yes (${ahead.canaryWeight})` : "no"}; leader pid ${leader?.process.pid} killed; next Serin route write ${takeover ? `${((takeover.t - killedAt) / 1000).toFixed(1)}s later (${takeover.canaryWeight})` : "none"}\n`,
    );
    expect
      .soft(denied || ahead !== undefined, "the freeze hit a status write or routes ran ahead")
      .toBe(true);
    expect.soft(phase).toBe("Succeeded");
    expect.soft(violations).toEqual([]);
    expect.soft(statusBackwards(c)).toEqual([]);
  });
});
