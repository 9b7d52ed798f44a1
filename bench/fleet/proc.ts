// Process figures from /proc (Linux): CPU seconds (utime + stime, children excluded), resident memory
// (VmRSS) and its high-water mark (VmHWM), descendants, and a sampler that keeps the peak between reads.
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second (`getconf CLK_TCK`), 100 on every Linux this runs on. */
const TICKS_PER_S = 100;

export interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, seconds */
  cpuS: number;
  comm: string;
}

export function procStat(pid: number): ProcStat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may hold spaces: split after its closing one.
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const f = s.slice(close + 2).split(" ");
    return { ppid: Number(f[1]), cpuS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S, comm };
  } catch {
    return undefined;
  }
}

/** VmRSS and VmHWM in MB, undefined when the process is gone. */
export function memoryMb(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1] ?? Number.NaN);
    return { rss: kb("VmRSS") / 1024, hwm: kb("VmHWM") / 1024 };
  } catch {
    return undefined;
  }
}

/** VmRSS in MB as text ("n/a" when unknown), for progress lines. */
export function rssMb(pid: number): string {
  const m = memoryMb(pid);
  return m === undefined || !Number.isFinite(m.rss) ? "n/a (process gone)" : m.rss.toFixed(1);
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

export function allPids(): number[] {
  return readdirSync("/proc").flatMap((d) => (/^\d+$/.test(d) ? [Number(d)] : []));
}

/** Every live descendant of `root` (not `root` itself). */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const st = procStat(pid);
    if (st === undefined) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(pid);
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds of `pid` plus its live descendants (exited children's time is lost: sample often). */
export function treeCpuS(pid: number): number {
  return [pid, ...descendants(pid)].reduce((acc, p) => acc + (procStat(p)?.cpuS ?? 0), 0);
}

/**
 * Samples one process' RSS every `everyMs` (default 1 s): the peak of a window is the largest sample
 * (VmHWM is the kernel's peak since the process started, which covers a whole run only).
 */
export class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private windowPeak = 0;
  last = Number.NaN;

  constructor(
    readonly pid: number,
    everyMs = 1_000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): number {
    const m = memoryMb(this.pid);
    if (m !== undefined && Number.isFinite(m.rss)) {
      this.last = m.rss;
      this.windowPeak = Math.max(this.windowPeak, m.rss);
    }
    return this.last;
  }

  /** The largest sample since the previous call (or the start), and starts a new window. */
  takePeak(): number {
    this.sample();
    const peak = this.windowPeak;
    this.windowPeak = this.last;
    return peak;
  }

  /** The kernel's high-water mark (VmHWM), MB. */
  hwm(): number {
    return memoryMb(this.pid)?.hwm ?? Number.NaN;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Share of time runnable tasks waited for a CPU (PSI "some" avg10, %), if the kernel exposes it. */
export function cpuPressure(): number | undefined {
  try {
    const m = /some avg10=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
