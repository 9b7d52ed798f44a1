// The reporter drains the decision log at least once: a record is marked sent only after its Events
// were taken by the API server and the mark itself was stored; alerts and hooks go out once per process.
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { CanaryStatus } from "../../../src/api/canary.js";
import type { ClusterCache } from "../../../src/controller/cluster-cache.js";
import { Reporter } from "../../../src/controller/reporter.js";
import { recordDecision } from "../../../src/core/decision-log.js";
import type { KubeClients } from "../../../src/kube/client.js";
import type { EventRecorder } from "../../../src/kube/events.js";
import { type ResourceRef, type RestOptions, resourcePath } from "../../../src/kube/rest.js";
import { catalogSpec } from "../core/sim.js";

const NOW = new Date("2026-12-01T12:00:00Z");
const canary = { metadata: { name: "catalog-release", namespace: "shop", uid: "0f3a9c1e-1111" } };

class FlakyEvents {
  readonly created = new Set<string>();
  failuresLeft = 0;
  async record(_o: unknown, _t: string, _r: string, _m: string, name?: string): Promise<boolean> {
    if (this.failuresLeft > 0) {
      this.failuresLeft -= 1;
      return false;
    }
    this.created.add(name ?? "");
    return true;
  }
}

function setup() {
  const events = new FlakyEvents();
  const patches: number[] = [];
  let patchFails = 0;
  const clients = {
    rest: {
      send: async (method: string, ref: ResourceRef, opts: RestOptions) => {
        if (method !== "PATCH" || ref.subresource !== "status" || ref.plural !== "canaries")
          throw new Error(`unexpected ${method} ${resourcePath(ref)}`);
        if (patchFails > 0) {
          patchFails -= 1;
          throw new Error("connect ECONNREFUSED");
        }
        patches.push((opts.body as { status: { reportedSeq: number } }).status.reportedSeq);
        return {};
      },
    },
  } as unknown as KubeClients;
  const reporter = new Reporter(
    clients,
    {} as ClusterCache,
    events as unknown as EventRecorder,
    pino({ level: "silent" }),
  );
  return { events, patches, reporter, failPatch: (n: number) => (patchFails = n) };
}

function logged(n: number): CanaryStatus {
  let status: CanaryStatus = { phase: "Progressing" };
  for (let i = 1; i <= n; i++) {
    status = recordDecision(
      status,
      {
        reason: `step ${i}`,
        events: [{ type: "Normal", reason: "Progressing", message: `m${i}` }],
        postRollout: false,
      },
      NOW,
    );
  }
  return status;
}

describe("Reporter.drain", () => {
  it("sends each record's Events and marks the log sent", async () => {
    const { events, patches, reporter } = setup();
    expect(await reporter.drain(canary, catalogSpec(), logged(2))).toBe(true);
    expect(events.created.size).toBe(2);
    expect(patches).toEqual([2]);
    expect(reporter.reportedUpTo(canary)).toBe(2);
  });

  it("an Event the API server did not take keeps its record unsent, and the next drain sends it", async () => {
    const { events, patches, reporter } = setup();
    events.failuresLeft = 1;
    expect(await reporter.drain(canary, catalogSpec(), logged(2))).toBe(false);
    expect(patches).toEqual([]); // nothing marked: record 1's Event is missing
    expect(await reporter.drain(canary, catalogSpec(), logged(2))).toBe(true);
    expect(events.created.size).toBe(2);
    expect(patches).toEqual([2]);
  });

  it("a mark that could not be stored is tried again", async () => {
    const { patches, reporter, failPatch } = setup();
    failPatch(1);
    expect(await reporter.drain(canary, catalogSpec(), logged(1))).toBe(false);
    expect(await reporter.drain(canary, catalogSpec(), logged(1))).toBe(true);
    expect(patches).toEqual([1]);
  });

  it("an aborted drain marks nothing", async () => {
    const { patches, reporter } = setup();
    const abort = new AbortController();
    abort.abort();
    expect(await reporter.drain(canary, catalogSpec(), logged(1), abort.signal)).toBe(false);
    expect(patches).toEqual([]);
  });
});
