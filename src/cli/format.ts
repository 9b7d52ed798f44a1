// Small text helpers of the CLI: durations, the weight bar, tables, ANSI styles (only when asked). Pure.

/** Styles are ANSI escapes when `on` (stdout is a TTY), else nothing: piped output stays plain text. */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const wrap = (code: number) => (text: string) => `\x1b[${code}m${text}\x1b[0m`;
const plainText = (text: string) => text;

export function style(on: boolean): Style {
  return on
    ? { bold: wrap(1), dim: wrap(2), red: wrap(31), green: wrap(32), yellow: wrap(33) }
    : { bold: plainText, dim: plainText, red: plainText, green: plainText, yellow: plainText };
}

export const PLAIN: Style = style(false);

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The text without ANSI escapes. */
export const stripAnsi = (text: string): string => text.replace(ANSI, "");

/** Printed width of a string, ANSI escapes not counted. */
export const visibleLength = (text: string): number => stripAnsi(text).length;

/** "45s", "2m05s", "1h03m": a span of time as people read it. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d`;
}

/** A count with thousands separators. */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US");

/** A value with its unit and the precision its size allows: "99.20%", "24.7ms", "0.0031". */
export function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return "-";
  if (unit === "%") return `${value.toFixed(2)}%`;
  const abs = Math.abs(value);
  const text =
    abs === 0 || abs >= 100 ? String(Math.round(value)) : abs >= 1 ? value.toFixed(1) : value.toPrecision(2);
  return `${text}${unit}`;
}

/** "[######----] 30/50": the canary's weight as a bar toward maxWeight. */
export function weightBar(weight: number, maxWeight: number, width = 10): string {
  const max = maxWeight > 0 ? maxWeight : 100;
  const filled = Math.max(0, Math.min(width, Math.round((weight / max) * width)));
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${weight}/${max}`;
}

/** Columns padded to their widest cell (ANSI-aware), separated by three spaces; trailing blanks cut. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows)
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell));
    });
  return rows.map((row) =>
    row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - visibleLength(cell)),
      )
      .join("   ")
      .trimEnd(),
  );
}

/** The text cut to `max` characters with an ellipsis. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** "20:05:30" of an ISO time (UTC, as the API stores it). */
export function clock(iso: string | undefined): string {
  if (iso === undefined) return "-";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(11, 19);
}

/** "2026-11-27 20:05:30" of an ISO time. */
export function dateTime(iso: string | undefined): string {
  if (iso === undefined) return "-";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 19).replace("T", " ");
}

/** "catalog:v3" of "docker.io/istioinaction/catalog:v3@sha256:...". */
export function shortImage(image: string): string {
  const last = image.split("/").pop() ?? image;
  return last.split("@")[0] ?? last;
}
