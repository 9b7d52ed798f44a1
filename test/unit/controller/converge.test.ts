// The converge step decides which writes the world needs for a recorded status; these tests pin the
// safety rules: a deleted primary comes back on the last promoted revision, never from the target's
// revision under test, and only a revision that passed analysis is copied to the primary.
import type { KubernetesObject, V1Deployment } from "@kubernetes/client-node";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { Canary, CanaryStatus } from "../../../src/api/canary.js";
import type { Applier } from "../../../src/controller/apply.js";
import { BlockedError } from "../../../src/controller/apply.js";
import { Converger } from "../../../src/controller/converge.js";
import type { Observation } from "../../../src/controller/observe.js";
import type { PrimaryRecords } from "../../../src/controller/primary-record.js";
import { catalogSpec, primary, READY, target } from "../core/sim.js";

const spec = catalogSpec();
const canary = { metadata: { name: "catalog", namespace: "test", uid: "u1" }, spec: {} } as unknown as Canary;
const deployment = (name: string): V1Deployment => ({ metadata: { name, namespace: "test" } });

class RecordingApplier {
  readonly calls: string[] = [];
  initialPrimary(): V1Deployment {
    return deployment("catalog-primary");
  }
  async createPrimary(): Promise<void> {
    this.calls.push("create-primary-from-target");
  }
  async createObject(obj: KubernetesObject): Promise<void> {
    this.calls.push(`create ${obj.metadata?.name} ${obj.metadata?.annotations?.revision}`);
  }
  promotedPrimary(): V1Deployment {
    return deployment("catalog-primary");
  }
  async promote(): Promise<void> {
    this.calls.push("promote");
  }
  async ensurePrimaryAutoscaler(): Promise<undefined> {
    return undefined;
  }
  async ensureRouting(
    _c: unknown,
    _s: unknown,
    _o: unknown,
    routing: { canaryWeight: number },
  ): Promise<string[]> {
    this.calls.push(`route ${routing.canaryWeight}`);
    return [];
  }
  async scaleCanary(_s: unknown, _o: unknown, scale: string): Promise<void> {
    this.calls.push(`scale ${scale}`);
  }
}

class MemoryRecords {
  readonly saved = new Map<string, V1Deployment>();
  async save(_c: Canary, revision: string, built: V1Deployment): Promise<void> {
    this.saved.set(revision, built);
  }
  async load(_c: Canary, revision: string, name: string): Promise<V1Deployment | undefined> {
    return this.saved.has(revision) ? { metadata: { name, annotations: { revision } } } : undefined;
  }
}

function setup(world: { target?: string; primary?: string | "missing" }) {
  const applier = new RecordingApplier();
  const records = new MemoryRecords();
  const converger = new Converger(
    applier as unknown as Applier,
    records as unknown as PrimaryRecords,
    pino({ level: "silent" }),
  );
  const obs: Observation = {
    world: {
      now: new Date(),
      target: world.target ? target(world.target, READY) : undefined,
      primary: world.primary === "missing" ? undefined : { ...primary(), revision: world.primary },
    },
    target: world.target ? deployment("catalog") : undefined,
    primary: world.primary === "missing" ? undefined : deployment("catalog-primary"),
    trackedConfigs: [],
    warnings: [],
  };
  return { applier, records, converger, obs };
}

const mid: CanaryStatus = {
  phase: "Progressing",
  canaryWeight: 30,
  lastAppliedSpec: "rev-2",
  lastPromotedSpec: "rev-1",
};

describe("Converger: the primary", () => {
  it("restores a deleted primary from the record of the last promoted revision, not from the target", async () => {
    const { applier, records, converger, obs } = setup({ target: "rev-2", primary: "missing" });
    records.saved.set("rev-1", deployment("catalog-primary"));
    await converger.converge(canary, spec, obs, mid);
    expect(applier.calls).toContain("create catalog-primary rev-1");
    expect(applier.calls).not.toContain("create-primary-from-target");
    expect(applier.calls).toContain("route 30"); // the run's routing is kept while it comes back
  });

  it("with no record, restores from the target only when the target still runs the promoted revision", async () => {
    const same = setup({ target: "rev-1", primary: "missing" });
    await same.converger.converge(canary, spec, same.obs, {
      ...mid,
      phase: "Succeeded",
      canaryWeight: 0,
      lastAppliedSpec: "rev-1",
    });
    expect(same.applier.calls).toContain("create-primary-from-target");
    expect(same.records.saved.has("rev-1")).toBe(true);

    const differs = setup({ target: "rev-2", primary: "missing" });
    await expect(differs.converger.converge(canary, spec, differs.obs, mid)).rejects.toThrow(BlockedError);
    await expect(differs.converger.converge(canary, spec, differs.obs, mid)).rejects.toThrow(
      /cannot be restored without promoting untested code/,
    );
    expect(differs.applier.calls).not.toContain("create-primary-from-target");
  });

  it("creates the primary from the target on initialization, recording it first", async () => {
    const { applier, records, converger, obs } = setup({ target: "rev-1", primary: "missing" });
    await converger.converge(canary, spec, obs, { phase: "Initializing" });
    expect(applier.calls).toContain("create-primary-from-target");
    expect(records.saved.has("rev-1")).toBe(true);
  });

  it("copies the template while Promoting only if the target still holds the tested revision", async () => {
    const promoting: CanaryStatus = { ...mid, phase: "Promoting" };
    const holds = setup({ target: "rev-2", primary: "rev-1" });
    await holds.converger.converge(canary, spec, holds.obs, promoting);
    expect(holds.applier.calls).toContain("promote");
    expect(holds.records.saved.has("rev-2")).toBe(true); // recorded before the primary is written

    const changed = setup({ target: "rev-3", primary: "rev-1" });
    await changed.converger.converge(canary, spec, changed.obs, promoting);
    expect(changed.applier.calls).not.toContain("promote");

    const done = setup({ target: "rev-2", primary: "rev-2" });
    await done.converger.converge(canary, spec, done.obs, promoting);
    expect(done.applier.calls).not.toContain("promote");
  });

  it("never copies anything outside Promoting", async () => {
    for (const phase of ["Progressing", "WaitingPromotion", "Succeeded", "Failed", "Initialized"] as const) {
      const s = setup({ target: "rev-2", primary: "rev-1" });
      await s.converger.converge(canary, spec, s.obs, { ...mid, phase });
      expect(s.applier.calls).not.toContain("promote");
    }
  });
});

describe("Converger: the second pass after recording a decision", () => {
  it("does only what changed: no repeated routing or scale writes against a cache that has not caught up", async () => {
    const { applier, converger, obs } = setup({ target: "rev-2", primary: "rev-1" });
    await converger.converge(canary, spec, obs, mid, mid);
    expect(applier.calls).toEqual([]);
    await converger.converge(canary, spec, obs, { ...mid, canaryWeight: 40 }, mid);
    expect(applier.calls).toEqual(["route 40"]);
  });
});
