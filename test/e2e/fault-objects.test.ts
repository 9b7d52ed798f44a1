// Fault matrix (issue 6), part 2: objects Serin depends on are deleted or edited under it mid-rollout —
// the `<target>-primary` Deployment, the target Deployment, the VirtualService — and a second Canary
// claims the same target. One namespace and one Serin (--namespace) per case; the cases run side by side.
import { describe, inject, it } from "vitest";
import { image } from "../support/catalog.js";
import { type FaultCase, FaultCases, V1, V2 } from "../support/faults.js";
import { Kubectl } from "../support/kube.js";
import { TEST_MANAGER } from "../support/route-monitor.js";

const k = new Kubectl(inject("kubeconfig"));
const cases = new FaultCases(k);

async function open(
  name: string,
  opts: Partial<Parameters<typeof FaultCase.open>[2]> = {},
): Promise<FaultCase> {
  return cases.open({ name, ...opts });
}

const primaryImage = (c: FaultCase) => image(k, c.ns, "catalog-primary");

describe.concurrent("fault matrix: objects deleted or edited mid-rollout", () => {
  it("primary Deployment deleted: it comes back on the last promoted image, never the canary's", async ({
    expect,
  }) => {
    const c = await open("primary-del");
    await c.waitInitialized();
    c.startTraffic();
    c.push(V2);
    await c.canary.waitForWeight(20, 120_000);
    const deletedAt = Date.now();
    k.run(["delete", "deployment", "catalog-primary", "-n", c.ns, "--wait=false"]);
    let back: number | undefined;
    try {
      back = (
        await c.deployments.watch.waitFor(
          "catalog-primary recreated",
          (e) => e.type === "ADDED" && e.object.metadata?.name === "catalog-primary" && e.t > deletedAt,
          30_000,
        )
      ).t;
    } catch {
      back = undefined;
    }
    const phase = await c.waitTerminal(180_000).catch(() => "none");
    const violations = await c.violations({ newImage: V2 });
    process.stdout.write(
      `${c.summary()}\n  primary back after ${back === undefined ? "never (30 s)" : `${((back - deletedAt) / 1000).toFixed(1)}s`}; Promoted: ${c.condition("Promoted")?.message ?? "-"}\n`,
    );
    expect.soft(back, "catalog-primary recreated within 30 s").toBeDefined();
    // Recreated from the last promoted revision: v1 until promotion, never v2 before it (checked by violations).
    const recreated = c.deployments
      .samples("catalog-primary")
      .find((s) => s.t > deletedAt && s.image !== undefined);
    expect.soft(recreated?.image).toBe(V1);
    expect.soft(violations).toEqual([]);
    expect.soft(["Succeeded", "Failed"]).toContain(phase);
    if (phase === "Failed") expect.soft(c.condition("Promoted")?.message ?? "").not.toBe("");
    expect.soft(primaryImage(c)).toBe(phase === "Succeeded" ? V2 : V1);
  });

  it("target Deployment deleted: traffic back to primary within seconds, run Failed with a reason, no endless 503s", async ({
    expect,
  }) => {
    const c = await open("target-del");
    await c.waitInitialized();
    c.startTraffic();
    c.push(V2);
    await c.canary.waitForWeight(20, 120_000);
    const deletedAt = Date.now();
    k.run(["delete", "deployment", "catalog", "-n", c.ns, "--wait=false"]);
    // Serin routes everything back to the primary.
    let routedBack: number | undefined;
    try {
      routedBack = await c.until(
        "VirtualService back on the primary",
        () =>
          c.routes.samples.find((s) => s.t > deletedAt && s.writer === "serin" && s.canaryWeight === 0)?.t,
        15_000,
      );
    } catch {
      routedBack = undefined;
    }
    const phase = await c.waitTerminal(60_000).catch(() => "none");
    const violations = await c.violations({});
    const message = c.condition("Promoted")?.message ?? "";
    process.stdout.write(
      `${c.summary()}\n  routed back ${routedBack === undefined ? "never (15 s)" : `${((routedBack - deletedAt) / 1000).toFixed(1)}s`} after the delete; Promoted: ${message}\n`,
    );
    expect.soft(routedBack, "canary weight 0 written by Serin within 15 s of the delete").toBeDefined();
    expect.soft((routedBack ?? Number.POSITIVE_INFINITY) - deletedAt).toBeLessThan(5_000);
    expect.soft(phase).toBe("Failed");
    expect.soft(message).toMatch(/catalog/);
    expect.soft(violations).toEqual([]);
    expect.soft(primaryImage(c)).toBe(V1);
  });

  it("VirtualService edited by hand, then deleted: put back each time, Serin's weights never backwards", async ({
    expect,
  }) => {
    const c = await open("vs-edit", { maxWeight: 40 });
    await c.waitInitialized();
    c.startTraffic();
    c.push(V2);
    const at = await c.canary.waitForWeight(10, 120_000);
    // A hand edit: everything to the primary (as the test's own field manager).
    const vs = k.json<{
      spec: { http: Array<{ route: Array<{ destination: { host: string }; weight?: number }> }> };
    }>(["get", "virtualservice", "catalog", "-n", c.ns]);
    const ops = vs.spec.http.flatMap((r, i) =>
      r.route.length < 2
        ? []
        : r.route.map((d, j) => ({
            op: "replace",
            path: `/spec/http/${i}/route/${j}/weight`,
            value: d.destination.host.endsWith("-canary") ? 0 : 100,
          })),
    );
    const editedAt = Date.now();
    c.kubectl(["patch", "virtualservice", "catalog", "-n", c.ns, "--type=json", "-p", JSON.stringify(ops)]);
    const handEdit = await c.until(
      "the hand edit seen",
      () => c.routes.samples.find((s) => s.t >= editedAt && s.writer === TEST_MANAGER),
      10_000,
    );
    const putBack = await c
      .until(
        "Serin puts the weights back",
        () =>
          c.routes.samples
            .slice(c.routes.samples.indexOf(handEdit) + 1)
            .find((s) => s.writer === "serin" && s.canaryWeight >= at.weight)?.t,
        15_000,
      )
      .catch(() => undefined);
    const deletedAt = Date.now();
    k.run(["delete", "virtualservice", "catalog", "-n", c.ns, "--wait=false"]);
    const recreated = await c
      .until(
        "VirtualService recreated",
        () => c.routes.samples.find((s) => s.t > deletedAt && s.type === "ADDED")?.t,
        15_000,
      )
      .catch(() => undefined);
    const phase = await c.waitTerminal(180_000).catch(() => "none");
    const violations = await c.violations({ newImage: V2 });
    process.stdout.write(
      `${c.summary()}\n  hand edit put back ${putBack === undefined ? "never (15 s)" : `${((putBack - handEdit.t) / 1000).toFixed(1)}s`} later; recreated ${recreated === undefined ? "never (15 s)" : `${((recreated - deletedAt) / 1000).toFixed(1)}s`} after the delete\n`,
    );
    expect.soft(handEdit.canaryWeight).toBe(0);
    expect.soft(putBack, "hand edit put back by Serin within 15 s").toBeDefined();
    expect.soft(recreated, "VirtualService recreated within 15 s").toBeDefined();
    expect.soft(phase).toBe("Succeeded");
    // The hand edit itself was a drop in weight, but not Serin's: only Serin's writes count here.
    expect.soft(violations).toEqual([]);
  });

  it("two Canaries on one target: the second is Blocked naming the first, and nobody fights over replicas", async ({
    expect,
  }) => {
    const c = await open("two-canaries");
    await c.waitInitialized();
    const generation = () =>
      Number(k.run(["get", "deploy", "catalog", "-n", c.ns, "-o", "jsonpath={.metadata.generation}"]));
    const before = generation();
    // Same target, its own service name, so the target is the only thing the two share.
    const second = c.canaryManifest("catalog-second") as { spec: { service: Record<string, unknown> } };
    second.spec.service = { ...second.spec.service, name: "catalog-second", hosts: ["catalog-second"] };
    const createdAt = Date.now();
    c.kubectl(["apply", "-f", "-"], JSON.stringify(second));
    type Cond = { type: string; status: string; reason: string; message?: string };
    const readyOf = (name: string) =>
      k
        .json<{ status?: { conditions?: Cond[] } }>(["get", "canary", name, "-n", c.ns])
        .status?.conditions?.find((x) => x.type === "Ready");
    const blocked = await c
      .until(
        "catalog-second Blocked",
        () => {
          const r = readyOf("catalog-second");
          return r?.reason === "Blocked" ? r : undefined;
        },
        20_000,
      )
      .catch(() => readyOf("catalog-second"));
    // A replica fight shows within a few reconciles: give it two intervals, then count generations.
    const quietUntil = createdAt + 20_000;
    await c.until("two intervals pass", () => (Date.now() >= quietUntil ? true : undefined), 25_000, 500);
    const churn = generation() - before;
    // The first Canary still releases normally.
    c.startTraffic();
    c.push(V2);
    const phase = await c.waitTerminal(180_000).catch(() => "none");
    const violations = await c.violations({ newImage: V2 });
    const targetGenerations = c.deployments.samples("catalog").map((s) => s.generation);
    const secondPrimary = k.run(["get", "deploy", "-n", c.ns, "-o", "name"]);
    process.stdout.write(
      `${c.summary()}\n  second canary Ready=${blocked?.status} ${blocked?.reason}: ${blocked?.message}; target generation +${churn} while both existed idle; generations ${[...new Set(targetGenerations)].join(",")}; deployments: ${secondPrimary.replace(/\n/g, " ")}\n`,
    );
    expect.soft(blocked?.status).toBe("False");
    expect.soft(blocked?.reason).toBe("Blocked");
    expect.soft(blocked?.message ?? "").toContain("catalog-release");
    expect.soft(churn).toBe(0);
    expect.soft(phase).toBe("Succeeded");
    expect.soft(violations).toEqual([]);
    // set image, scale up, scale down: a handful of generations for the whole release, not a fight.
    expect.soft(Math.max(...targetGenerations) - before).toBeLessThanOrEqual(4);
  });
});
