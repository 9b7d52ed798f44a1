import { describe, expect, it } from "vitest";
import { parseDurationMs } from "./durations.js";
import { decideFault } from "./faults.js";
import { chance, seededRng } from "./rng.js";

function share(n: number, f: () => boolean): number {
  let k = 0;
  for (let i = 0; i < n; i++) if (f()) k++;
  return k;
}

describe("fault injection draws", () => {
  it("abort percentage: about that share aborted, with the configured status", () => {
    const rng = seededRng(11);
    const fault = { abort: { httpStatus: 500, percentage: { value: 30 } } };
    const statuses = new Set<number | undefined>();
    const n = 4000;
    const aborted = share(n, () => {
      const d = decideFault(fault, rng);
      statuses.add(d.abortStatus);
      return d.abortStatus !== undefined;
    });
    expect(Math.abs(aborted - n * 0.3)).toBeLessThan(4 * Math.sqrt(n * 0.3 * 0.7));
    expect(statuses).toEqual(new Set([500, undefined]));
  });

  it("delay percentage (and the deprecated integer percent): about that share delayed by fixedDelay", () => {
    const rng = seededRng(12);
    const n = 4000;
    for (const delay of [
      { fixedDelay: "7s", percentage: { value: 10 } },
      { fixedDelay: "7s", percent: 10 },
    ]) {
      const delayed = share(n, () => {
        const d = decideFault({ delay }, rng);
        if (d.delayMs !== undefined) expect(d.delayMs).toBe(7000);
        return d.delayMs !== undefined;
      });
      expect(Math.abs(delayed - n * 0.1)).toBeLessThan(4 * Math.sqrt(n * 0.1 * 0.9));
    }
  });

  it("0 %, 100 % and a missing percentage", () => {
    const rng = seededRng(13);
    for (let i = 0; i < 500; i++) {
      expect(
        decideFault({ abort: { httpStatus: 503, percentage: { value: 0 } } }, rng).abortStatus,
      ).toBeUndefined();
      expect(decideFault({ abort: { httpStatus: 503 } }, rng).abortStatus).toBeUndefined();
      expect(decideFault({ delay: { fixedDelay: "1s" } }, rng).delayMs).toBeUndefined();
      expect(decideFault({ abort: { httpStatus: 418, percentage: { value: 100 } } }, rng).abortStatus).toBe(
        418,
      );
      expect(decideFault({ abort: { httpStatus: 418, percentage: 100 } }, rng).abortStatus).toBe(418);
    }
    expect(decideFault(undefined, rng)).toEqual({ delayMs: undefined, abortStatus: undefined });
    expect(share(1000, () => chance(rng, 0))).toBe(0);
    expect(share(1000, () => chance(rng, 100))).toBe(1000);
  });

  it("durations in protobuf and Go forms", () => {
    expect(parseDurationMs("7s")).toBe(7000);
    expect(parseDurationMs("0.5s")).toBe(500);
    expect(parseDurationMs("100ms")).toBe(100);
    expect(parseDurationMs("1m30s")).toBe(90_000);
    expect(parseDurationMs("0")).toBe(0);
    expect(parseDurationMs("7")).toBeUndefined();
    expect(parseDurationMs("abc")).toBeUndefined();
  });
});
