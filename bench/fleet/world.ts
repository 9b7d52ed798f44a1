// The test world's health during a bench window, to tell whether the world or the controller saturated:
// CPU seconds of each of its processes (from /proc), Prometheus' scrapes of the mesh (duration vs
// timeout, failed and missed scrapes), and the load generator's request latency (load.ts).
import { allPids, cmdline, descendants, procStat } from "./proc.js";

export interface Component {
  name: string;
  pids: number[];
}

/**
 * The world's processes by name: everything whose command line mentions the environment's folder
 * (etcd, kube-apiserver, controller-manager, scheduler, kwok, Prometheus, istiod), plus named roots
 * with their descendants (the mesh simulator with its backends and xDS bridge, the controllers, the
 * load generator).
 */
export function worldComponents(envDir: string, roots: Record<string, number | undefined>): Component[] {
  const out: Component[] = [];
  const taken = new Set<number>();
  for (const [name, pid] of Object.entries(roots)) {
    if (pid === undefined) continue;
    const pids = [pid, ...descendants(pid)];
    for (const p of pids) taken.add(p);
    out.push({ name, pids });
  }
  const byComm = new Map<string, number[]>();
  for (const pid of allPids()) {
    if (taken.has(pid) || pid === process.pid) continue;
    if (!cmdline(pid).includes(envDir)) continue;
    const comm = procStat(pid)?.comm ?? String(pid);
    byComm.set(comm, [...(byComm.get(comm) ?? []), pid]);
  }
  for (const [name, pids] of byComm) out.push({ name, pids });
  return out;
}

/** CPU seconds of each component now (a component's descendants are looked up again). */
export function cpuByComponent(components: Component[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of components) {
    const pids = new Set(c.pids);
    for (const p of c.pids) for (const d of descendants(p)) pids.add(d);
    let s = 0;
    for (const p of pids) s += procStat(p)?.cpuS ?? 0;
    out.set(c.name, s);
  }
  return out;
}

export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, v] of after) out.set(name, Math.max(0, v - (before.get(name) ?? 0)));
  return out;
}

async function promScalar(url: string, query: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, {
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as { data?: { result?: Array<{ value?: [number, string] }> } };
    const v = body.data?.result?.[0]?.value?.[1];
    return v === undefined ? undefined : Number(v);
  } catch {
    return undefined;
  }
}

export interface ScrapeHealth {
  intervalS: number;
  targets: number;
  /** slowest scrape of any mesh target over the window, seconds (timeout = interval) */
  maxDurationS: number | undefined;
  /** scrapes that failed (up == 0) over the window */
  failed: number | undefined;
  /** scrapes done / scrapes due over the window */
  done: number | undefined;
  due: number;
  samplesPerRound: number | undefined;
}

export async function scrapeHealth(
  prometheusUrl: string,
  windowS: number,
  intervalS: number,
  targets: number,
): Promise<ScrapeHealth> {
  const w = `${Math.max(1, Math.round(windowS))}s`;
  const job = 'job="mesh"';
  return {
    intervalS,
    targets,
    maxDurationS: await promScalar(
      prometheusUrl,
      `max(max_over_time(scrape_duration_seconds{${job}}[${w}]))`,
    ),
    failed: await promScalar(
      prometheusUrl,
      `sum(count_over_time(up{${job}}[${w}]) - sum_over_time(up{${job}}[${w}]))`,
    ),
    done: await promScalar(prometheusUrl, `sum(count_over_time(up{${job}}[${w}]))`),
    due: Math.floor(windowS / intervalS) * targets,
    samplesPerRound: await promScalar(prometheusUrl, `sum(scrape_samples_scraped{${job}})`),
  };
}
