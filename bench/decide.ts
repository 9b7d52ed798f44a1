// How much CPU the pure decision core costs per Canary tick, and what a run's state weighs.
// Prints figures; no thresholds (targets are read by people, not asserted in unit tests).
import { validateCanary } from "../src/api/validate.js";
import { decide } from "../src/core/decide.js";
import type { ObservedWorld } from "../src/core/world.js";

const canary = {
  apiVersion: "serin.dev/v1beta1",
  kind: "Canary",
  metadata: { name: "catalog-release", namespace: "shop" },
  spec: {
    targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "catalog" },
    service: { name: "catalog", port: 80, targetPort: 3000 },
    analysis: {
      interval: "45s",
      threshold: 5,
      maxWeight: 50,
      stepWeight: 10,
      metrics: [
        { name: "request-success-rate", thresholdRange: { min: 99 }, interval: "1m" },
        { name: "request-duration", thresholdRange: { max: 500 }, interval: "30s" },
      ],
    },
  },
};

const ready = { ready: true, message: "ok", deadlineExceeded: false };
const validation = validateCanary(canary);
if (!validation.ok) throw new Error("bench canary invalid");
const { spec } = validation;
const ref = { name: "catalog-release", namespace: "shop" };

function fullRun(): number {
  let status = {};
  let now = Date.parse("2026-01-01T00:00:00Z");
  let steps = 0;
  for (let i = 0; i < 40; i++) {
    const world: ObservedWorld = {
      now: new Date(now),
      target: { revision: i < 2 ? "v1" : "v2", trackedConfigs: {}, readiness: ready },
      primary: i === 0 ? undefined : { readiness: ready, revision: i < 8 ? "v1" : "v2" },
      analysis: [
        { name: "request-success-rate", value: 99.9, thresholdRange: { min: 99 }, unit: "%" },
        { name: "request-duration", value: 120, thresholdRange: { max: 500 }, unit: "ms" },
      ],
    };
    const d = decide(ref, spec, status, world);
    status = d.status;
    steps++;
    now += 46_000;
    if ((status as { phase?: string }).phase === "Succeeded") break;
  }
  return steps;
}

const warm = 2_000;
for (let i = 0; i < warm; i++) fullRun();
const runs = 20_000;
let decisions = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < runs; i++) decisions += fullRun();
const ns = Number(process.hrtime.bigint() - t0);
const validateRuns = 20_000;
const t1 = process.hrtime.bigint();
for (let i = 0; i < validateRuns; i++) validateCanary(canary);
const validateNs = Number(process.hrtime.bigint() - t1);

const perDecisionUs = ns / decisions / 1000;
console.log(
  `decide(): ${(decisions / (ns / 1e9)).toFixed(0)} decisions/s, ${perDecisionUs.toFixed(2)} µs each (${runs} full runs of ${decisions / runs} ticks)`,
);
console.log(`validateCanary(): ${(validateNs / validateRuns / 1000).toFixed(1)} µs each`);
console.log(
  `ratio: one validation costs ${(validateNs / validateRuns / (ns / decisions)).toFixed(1)} decisions`,
);
console.log(
  `1000 canaries ticking every 10s need ${(((1000 / 10) * (perDecisionUs + validateNs / validateRuns / 1000)) / 1e4).toFixed(3)}% of one core for validate+decide`,
);
