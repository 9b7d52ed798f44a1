// Fault matrix (issue 6), part 1: Serin SIGKILLed at every phase of a rollout, the moment the phase
// appears, then started again. The rollout must end right (Succeeded for the healthy v2), Serin's
// VirtualService weights must never go backwards, the primary must never run v2 before the run reached
// promotion, and the webapp must not be left sending requests nowhere. One namespace and one Serin
// (--namespace) per case; the cases run side by side.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, inject, it } from "vitest";
import { image } from "../support/catalog.js";
import { type FaultCase, FaultCases, V1, V2 } from "../support/faults.js";
import { Kubectl } from "../support/kube.js";

const k = new Kubectl(inject("kubeconfig"));
const cases = new FaultCases(k);

// confirm-promotion gate for the WaitingPromotion case: closed until the test opens it.
let gate: Server;
let gateUrl = "";
let gateOpen = false;
const gateCalls: number[] = [];
beforeAll(async () => {
  gate = createServer((req, res) => {
    gateCalls.push(Date.now());
    req.resume();
    req.on("end", () => res.writeHead(gateOpen ? 200 : 403).end(gateOpen ? "go" : "hold"));
  });
  await new Promise<void>((r) => gate.listen(0, "127.0.0.1", r));
  gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
});
afterAll(() => {
  gate.closeAllConnections();
  gate.close();
});

interface KillCase {
  name: string;
  /** the status at which Serin dies */
  when: (phase: string, weight: number) => boolean;
  /** arm the kill before the Canary exists (Initializing happens at creation) */
  early?: boolean;
  gated?: boolean;
}

const KILLS: KillCase[] = [
  { name: "initializing", when: (p) => p === "Initializing", early: true },
  { name: "progressing", when: (p, w) => p === "Progressing" && w >= 10 },
  { name: "waitpromo", when: (p) => p === "WaitingPromotion", gated: true },
  { name: "promoting", when: (p) => p === "Promoting" },
  { name: "finalising", when: (p) => p === "Finalising" },
];

describe.concurrent("fault matrix: Serin SIGKILLed at every phase", () => {
  for (const kc of KILLS) {
    it(`kill at ${kc.name}: restarted Serin finishes the rollout, weights never backwards`, async ({
      expect,
    }) => {
      let kill: Promise<Awaited<ReturnType<FaultCase["killWhen"]>>> | undefined;
      const c = await cases.open({
        name: `kill-${kc.name}`,
        spec: kc.gated
          ? {
              analysis: {
                webhooks: [{ name: "release-manager", type: "confirm-promotion", url: `${gateUrl}/approve` }],
              },
            }
          : undefined,
        beforeCanary: (x) => {
          if (kc.early) kill = x.killWhen(kc.when, 60_000);
        },
      });
      if (kc.early) {
        const killed = await kill;
        await c.startSerins(1);
        await c.waitInitialized();
        c.startTraffic();
        c.push(V2);
        const phase = await c.waitTerminal(180_000);
        const violations = await c.violations({ newImage: V2 });
        process.stdout.write(`${c.summary()}\n  killed at ${killed?.phase} w=${killed?.weight}\n`);
        expect.soft(phase).toBe("Succeeded");
        expect.soft(violations).toEqual([]);
        expect.soft(image(k, c.ns, "catalog-primary")).toBe(V2);
        return;
      }
      await c.waitInitialized();
      c.startTraffic();
      kill = c.killWhen(kc.when, 180_000);
      const pushedAt = c.push(V2);
      const killed = await kill;
      // What the dead Serin left: the phase it had reached by the time the status settled.
      const restartedAt = Date.now();
      await c.startSerins(1);
      if (kc.gated) {
        // The restarted Serin asks the gate again (and hears "hold"): nothing was promoted meanwhile.
        await c.until(
          "the restarted Serin asks the gate",
          () => (gateCalls.some((t) => t > restartedAt) ? true : undefined),
          60_000,
        );
        expect.soft(c.canary.phases().at(-1)).toBe("WaitingPromotion");
        expect.soft(image(k, c.ns, "catalog-primary")).toBe(V1);
        gateOpen = true;
      }
      const phase = await c.waitTerminal(180_000);
      const violations = await c.violations({ newImage: V2 });
      process.stdout.write(
        `${c.summary()}\n  killed at ${killed.phase} w=${killed.weight} ${((killed.t - pushedAt) / 1000).toFixed(1)}s after the push; terminal ${((Date.now() - restartedAt) / 1000).toFixed(1)}s after restart\n`,
      );
      expect.soft(phase).toBe("Succeeded");
      expect.soft(violations).toEqual([]);
      expect.soft(image(k, c.ns, "catalog-primary")).toBe(V2);
      const final = c.routes.samples[c.routes.samples.length - 1];
      expect.soft(final?.canaryWeight).toBe(0);
    });
  }
});
