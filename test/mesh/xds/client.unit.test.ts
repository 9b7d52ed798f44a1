// XdsClient against a fake bridge speaking the bridge's stdin/stdout protocol (no istiod needed).
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fakeIp, identityKey, type SidecarIdentity, XdsClient } from "./client.js";

// The fake: for each added node, a cluster and a route naming the node's labels, then `synced`.
// Namespace "never" never syncs; namespace "burst" gets 5 route updates 1 ms apart after syncing;
// namespace "crash" makes the first instance (no marker file yet) exit; the next instance reports the
// node without the "old" cluster.
const FAKE = `#!/usr/bin/env node
import { createInterface } from "node:readline";
import { existsSync, writeFileSync } from "node:fs";
const marker = process.env.FAKE_MARKER;
const second = existsSync(marker);
const out = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const rl = createInterface({ input: process.stdin });
rl.on("line", (text) => {
  const m = JSON.parse(text);
  if (m.op !== "add") return;
  if (m.namespace === "never") return;
  if (m.namespace === "crash" && !second) {
    writeFileSync(marker, "1");
    out({ id: m.id, type: "cluster", name: "old", resource: { name: "old" } });
    out({ id: m.id, synced: true });
    setTimeout(() => process.exit(3), 50);
    return;
  }
  out({ id: m.id, type: "cluster", name: "outbound|80||a.ns.svc.cluster.local", resource: { name: "a", ip: m.ip } });
  out({ id: m.id, type: "route", name: "80", resource: { name: "80", labels: m.labels, pod: m.podName, v: 0 } });
  out({ id: m.id, synced: true });
  if (m.namespace === "burst") {
    let v = 0;
    const t = setInterval(() => {
      v++;
      out({ id: m.id, type: "route", name: "80", resource: { name: "80", v } });
      if (v === 5) clearInterval(t);
    }, 1);
  }
});
`;

let dir: string;
let bridgePath: string;
let client: XdsClient | undefined;
const logs: string[] = [];

const id = (namespace: string, labels: Record<string, string> = { app: "webapp" }): SidecarIdentity => ({
  namespace,
  labels,
  workload: "webapp",
  serviceAccount: "default",
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "xds-client-test-"));
  bridgePath = join(dir, "fake-bridge.mjs");
  writeFileSync(bridgePath, FAKE);
  chmodSync(bridgePath, 0o755);
  process.env.FAKE_MARKER = join(dir, "crashed");
  logs.length = 0;
});

afterEach(async () => {
  await client?.stop();
  client = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const start = () =>
  XdsClient.start({ xdsAddress: "127.0.0.1:1", bridgePath, log: (m) => logs.push(m), coalesceMs: 15 });

describe("XdsClient", () => {
  it("keys identities by namespace, sorted labels, workload and service account", () => {
    const a = identityKey(id("ns", { app: "webapp", version: "v1" }));
    expect(identityKey(id("ns", { version: "v1", app: "webapp" }))).toBe(a);
    expect(identityKey(id("ns", { app: "webapp" }))).not.toBe(a);
    expect(identityKey({ ...id("ns"), serviceAccount: "other" })).not.toBe(identityKey(id("ns")));
  });

  it("allocates fake IPs in 10.255.0.0/16 without .0 or .255 hosts", () => {
    expect(fakeIp(1)).toBe("10.255.0.1");
    expect(fakeIp(254)).toBe("10.255.0.254");
    expect(fakeIp(255)).toBe("10.255.1.1");
    expect(() => fakeIp(254 * 256 + 1)).toThrow();
  });

  it("resolves a sidecar once synced; the same identity gives the same sidecar", async () => {
    client = await start();
    const s = await client.sidecar(id("ns", { app: "webapp", version: "v1" }));
    expect(s.nodeId).toBe("sidecar~10.255.0.1~webapp-sim-1.ns~ns.svc.cluster.local");
    expect(s.proxyId).toBe("webapp-sim-1.ns");
    const c = s.config();
    expect([...c.clusters.keys()]).toEqual(["outbound|80||a.ns.svc.cluster.local"]);
    expect(c.routes.get("80")).toMatchObject({ labels: { app: "webapp", version: "v1" } });
    expect(await client.sidecar(id("ns", { version: "v1", app: "webapp" }))).toBe(s);
    const other = await client.sidecar(id("ns", { app: "frontend" }));
    expect(other).not.toBe(s);
    expect(other.config().clusters.get("outbound|80||a.ns.svc.cluster.local")).toMatchObject({
      ip: "10.255.0.2",
    });
  });

  it("coalesces a burst of updates into few immutable snapshots", async () => {
    client = await start();
    const s = await client.sidecar(id("burst"));
    const first = s.config();
    let calls = 0;
    const done = new Promise<void>((resolve) => {
      s.onChange(() => {
        calls++;
        if ((s.config().routes.get("80") as { v: number }).v === 5) resolve();
      });
    });
    await done;
    expect(calls).toBeLessThanOrEqual(3);
    expect(s.config().version).toBeGreaterThan(first.version);
    // The earlier snapshot did not change under the reader.
    expect(first.routes.get("80")).toMatchObject({ v: 0 });
  });

  it("rejects when istiod never completes the sidecar's configuration", async () => {
    client = await start();
    await expect(client.sidecar(id("never"), 300)).rejects.toThrow(/not synced.*after 300 ms/);
  });

  it("restarts a crashed bridge, re-adds its sidecars and drops what the new one does not report", async () => {
    client = await start();
    const s = await client.sidecar(id("crash"));
    expect([...s.config().clusters.keys()]).toEqual(["old"]);
    const changed = new Promise<void>((resolve) => s.onChange(resolve));
    await changed;
    expect(existsSync(join(dir, "crashed"))).toBe(true);
    expect(client.bridgeRestarts).toBe(1);
    expect([...s.config().clusters.keys()]).toEqual(["outbound|80||a.ns.svc.cluster.local"]);
    // Same node identity after the restart.
    expect(s.config().routes.get("80")).toMatchObject({ pod: "webapp-sim-1" });
    expect(logs.some((l) => l.includes("bridge exited (code 3"))).toBe(true);
  });
});
