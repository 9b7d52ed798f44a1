/** A source of uniform numbers in [0, 1); injectable so routing decisions can be replayed in tests. */
export type Rng = () => number;

/** Small seeded generator (mulberry32): deterministic, good enough for traffic splits. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** True with probability `percent`/100. */
export function chance(rng: Rng, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return rng() * 100 < percent;
}
