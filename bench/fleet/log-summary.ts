// Counts of a pino (JSON lines) log's warnings and errors, grouped by message.
import { existsSync, readFileSync } from "node:fs";

export interface LogSummary {
  lines: number;
  warnings: number;
  errors: number;
  conflicts: number;
  top: string[];
}

export function summarizeLog(path: string): LogSummary {
  const summary: LogSummary = { lines: 0, warnings: 0, errors: 0, conflicts: 0, top: [] };
  if (!existsSync(path)) return summary;
  const byMessage = new Map<string, { count: number; sample: string }>();
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    summary.lines++;
    let entry: { level?: unknown; msg?: unknown; err?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // not pino (e.g. a Node warning): counted in lines only
    }
    const level = typeof entry.level === "number" ? entry.level : 0;
    const msg = typeof entry.msg === "string" ? entry.msg : "";
    if (msg.startsWith("conflict")) summary.conflicts++;
    if (level < 40) continue;
    if (level >= 50) summary.errors++;
    else summary.warnings++;
    const seen = byMessage.get(msg) ?? { count: 0, sample: JSON.stringify(entry.err ?? "").slice(0, 240) };
    seen.count++;
    byMessage.set(msg, seen);
  }
  summary.top = [...byMessage.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, 6)
    .map(([msg, { count, sample }]) => `${count}x "${msg}" e.g. ${sample}`);
  return summary;
}
