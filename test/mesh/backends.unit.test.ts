// The simulated applications: many workload versions in one shared backend process, real sockets.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendManager, type BackendSpec, versionIdOf } from "./backends.js";
import { type Behaviour, behaviourKey } from "./behaviour.js";

function behaviour(over: Partial<Behaviour> = {}): Behaviour {
  return {
    version: "catalog:v1",
    image: "catalog:v1",
    errorRate: 0,
    errorStatus: 500,
    latencyMs: 0,
    latencyJitterMs: 0,
    slowFraction: 0,
    slowMs: 0,
    startupDelayMs: 0,
    bursts: [],
    incidents: [],
    ...over,
  };
}

function spec(namespace: string, workload: string, hash: string, over: Partial<Behaviour> = {}): BackendSpec {
  const b = behaviour(over);
  return { key: `${namespace}/${workload}/${hash}/${behaviourKey(b)}`, namespace, workload, behaviour: b };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  ms: number;
}

function get(port: number, path = "/"): Promise<Answer> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, headers: { "x-mesh-pod": "pod-1" }, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>,
            ms: performance.now() - start,
          }),
        );
      })
      .on("error", reject);
  });
}

/** Running (a zombie left to a PID 1 that does not reap counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("shared backend process", () => {
  const m = new BackendManager(() => {}, { mode: "shared", processes: 1 });
  beforeAll(() => m.whenReady(), 30_000);
  afterAll(() => m.stopAll());

  it("hosts many versions in one process, each on its own port, created in milliseconds", async () => {
    const specs = Array.from({ length: 40 }, (_, i) => spec(`ns-${i}`, "catalog", "h1"));
    const t0 = performance.now();
    const ports = await Promise.all(specs.map((s) => m.ensure(s)));
    const perVersionMs = (performance.now() - t0) / specs.length;
    expect(new Set(ports).size).toBe(40);
    expect(perVersionMs).toBeLessThan(50);
    const pids = new Set(m.list().map((b) => b.pid));
    expect(pids.size).toBe(1);
    expect(m.pids()).toEqual([...pids]);
    for (const s of specs) expect(m.portOf(s.key)).toBeDefined();
    // the same spec again: same backend
    expect(await m.ensure(specs[0] as BackendSpec)).toBe(ports[0]);
  });

  it("answers as before: JSON identity, x-sim-* headers, /status/<code>, /delay/<ms>", async () => {
    const port = await m.ensure(
      spec("shop", "catalog", "h2", { version: "catalog:v2", image: "reg/catalog:v2" }),
    );
    const a = await get(port, "/items?x=1");
    expect(a.status).toBe(200);
    expect(a.headers["x-sim-version"]).toBe("catalog:v2");
    expect(a.headers["x-sim-workload"]).toBe("catalog");
    expect(a.headers["x-sim-pod"]).toBe("pod-1");
    expect(a.body).toMatchObject({
      version: "catalog:v2",
      image: "reg/catalog:v2",
      workload: "catalog",
      namespace: "shop",
      pod: "pod-1",
      status: 200,
      method: "GET",
      path: "/items?x=1",
    });
    expect((await get(port, "/status/503")).status).toBe(503);
    expect((await get(port, "/delay/150")).ms).toBeGreaterThanOrEqual(140);
  });

  it("error rate and latency knobs apply per version", async () => {
    const bad = await m.ensure(spec("shop", "catalog", "bad", { errorRate: 1, errorStatus: 502 }));
    const slow = await m.ensure(spec("shop", "catalog", "slow", { latencyMs: 120 }));
    expect((await get(bad)).status).toBe(502);
    expect((await get(slow)).ms).toBeGreaterThanOrEqual(110);
  });

  it("counts what each version served (list() per backend, servedByVersion() across behaviour changes)", async () => {
    const s1 = spec("count", "catalog", "h1", { errorRate: 0 });
    const p1 = await m.ensure(s1);
    for (let i = 0; i < 3; i++) await get(p1);
    await get(p1, "/status/500");
    // the same version with another behaviour (e.g. an incident ConfigMap appeared): a new backend
    const s2 = spec("count", "catalog", "h1", { errorRate: 1 });
    expect(versionIdOf(s2)).toBe(versionIdOf(s1));
    const p2 = await m.ensure(s2);
    await get(p2);
    await until("stats", () => {
      const v = m.servedByVersion().find((s) => s.versionId === "count/catalog/h1");
      return v?.requests === 5;
    });
    expect(m.servedByVersion().find((s) => s.versionId === "count/catalog/h1")).toMatchObject({
      namespace: "count",
      workload: "catalog",
      version: "catalog:v1",
      requests: 5,
      errors: 2,
    });
    expect(m.list().find((b) => b.key === s1.key)).toMatchObject({ requests: 4, errors: 1 });
  });

  it("retain closes the versions that are gone and leaves the others serving", async () => {
    const keep = spec("ret", "catalog", "keep");
    const drop = spec("ret", "catalog", "drop");
    const [pk, pd] = await Promise.all([m.ensure(keep), m.ensure(drop)]);
    await m.retain(new Set([...m.list().map((b) => b.key)].filter((k) => k !== drop.key)));
    expect(m.portOf(drop.key)).toBeUndefined();
    await expect(get(pd as number)).rejects.toThrow();
    expect((await get(pk as number)).status).toBe(200);
  });

  it("cold start is opt-in: startupDelayMs holds the first requests, ensure() stays immediate", async () => {
    const t0 = performance.now();
    const port = await m.ensure(spec("cold", "catalog", "h1", { startupDelayMs: 400 }));
    expect(performance.now() - t0).toBeLessThan(100);
    const first = await get(port);
    expect(first.ms).toBeGreaterThanOrEqual(250);
    const later = await get(port);
    expect(later.ms).toBeLessThan(100);
    // without the knob, the first request is as fast as any
    const warm = await get(await m.ensure(spec("cold", "catalog", "h2")));
    expect(warm.ms).toBeLessThan(100);
  });
});

describe("backend processes", () => {
  it("per-version mode (the old layout) starts one process per version; stopAll ends them all", async () => {
    const m = new BackendManager(() => {}, { mode: "per-version" });
    const [a, b] = await Promise.all([m.ensure(spec("pv", "a", "1")), m.ensure(spec("pv", "b", "1"))]);
    expect((await get(a)).status).toBe(200);
    expect((await get(b)).status).toBe(200);
    const pids = m.pids();
    expect(pids.length).toBe(2);
    await m.stopAll();
    for (const pid of pids) expect(alive(pid)).toBe(false);
    await expect(m.ensure(spec("pv", "c", "1"))).rejects.toThrow(/stopped/);
  }, 30_000);

  it("a shared process whose simulator is SIGKILLed exits by itself", async () => {
    const script = [
      'import { BackendManager } from "./test/mesh/backends.ts";',
      "const m = new BackendManager();",
      "await m.whenReady();",
      'process.stdout.write(JSON.stringify({ pids: m.pids() }) + "\\n");',
      "setInterval(() => {}, 1000);",
    ].join("\n");
    const sim = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL("../..", import.meta.url),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = "";
      sim.stdout.on("data", (c: Buffer) => {
        buf += c.toString();
        if (buf.includes("\n")) resolve(buf.split("\n")[0] ?? "");
      });
      sim.once("exit", () => reject(new Error("simulator exited early")));
    });
    const { pids } = JSON.parse(line) as { pids: number[] };
    expect(pids.length).toBe(1);
    const child = pids[0] as number;
    expect(alive(child)).toBe(true);
    sim.kill("SIGKILL");
    await until("backend process gone", () => !alive(child), 10_000);
  }, 40_000);
});
