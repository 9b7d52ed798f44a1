// Leader election on a real Lease: one leader at a time, and a standby takes over only after the
// leader stops renewing for a whole lease duration.
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { describe, expect, inject, it } from "vitest";
import { LeaderElector } from "../../src/kube/leader-election.js";
import { sleep } from "../env/processes.js";
import { Kubectl } from "../support/kube.js";

const k = new Kubectl(inject("kubeconfig"));

describe("leader election", () => {
  it("keeps one leader and fails over after the lease expires", async () => {
    const ns = k.createNamespace("lease");
    const config = new KubeConfig();
    config.loadFromFile(inject("kubeconfig"));
    const log = pino({ level: "silent" });
    const options = {
      namespace: ns,
      name: "serin-leader",
      leaseDurationSeconds: 3,
      renewDeadlineSeconds: 2,
      retryPeriodSeconds: 0.5,
    };
    const a = new LeaderElector(config, { ...options, identity: "a" }, log);
    const b = new LeaderElector(config, { ...options, identity: "b" }, log);
    let aLost = false;
    await a.acquire(() => {
      aLost = true;
    });
    let bLeads = false;
    const bAcquired = b
      .acquire(() => {})
      .then(() => {
        bLeads = true;
      });
    await sleep(4_000); // longer than a lease: a keeps renewing, so b must still wait
    expect(bLeads).toBe(false);
    expect(k.run(["get", "lease", "serin-leader", "-n", ns, "-o", "jsonpath={.spec.holderIdentity}"])).toBe(
      "a",
    );

    const stoppedAt = Date.now();
    a.stop();
    await bAcquired;
    const failoverMs = Date.now() - stoppedAt;
    expect(failoverMs).toBeGreaterThanOrEqual(2_500);
    expect(k.run(["get", "lease", "serin-leader", "-n", ns, "-o", "jsonpath={.spec.holderIdentity}"])).toBe(
      "b",
    );
    expect(aLost).toBe(false);
    b.stop();
    process.stdout.write(`leader failover after ${failoverMs} ms (lease 3 s)\n`);
  });
});
