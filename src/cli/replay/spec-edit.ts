// `kubectl serin replay --set path=value`: edits of a Canary's spec for a replay, as dotted paths
// (`analysis.threshold=3`, `analysis.metrics[request-success-rate].thresholdRange.min=99.5`), the value
// read as a YAML scalar (or flow collection). The edited Canary goes through the same zod schema, the
// same cross-field rules and the same defaults as the controller's (src/api/validate.ts). Pure.
import yaml from "js-yaml";
import type { Canary } from "../../api/canary.js";
import type { EffectiveSpec } from "../../api/defaults.js";
import { type Problem, validateCanary } from "../../api/validate.js";

/** One `--set path=value`, parsed. */
export interface SpecEdit {
  /** as the user wrote it, for messages */
  text: string;
  /** the path inside the Canary's spec, e.g. ["analysis", "metrics", {name: "request-success-rate"}, "thresholdRange", "min"] */
  path: PathSegment[];
  /** undefined: remove the field (`path=null` or `path=~`) */
  value: unknown;
}

/** A field name, an array index, or an array item picked by its `name` (metrics, webhooks, alerts). */
export type PathSegment = string | number | { name: string };

/** A --set that cannot be applied: said with the --set it comes from (exit code 2). */
export class SpecEditError extends Error {
  override name = "SpecEditError";
}

/** "a.b[0].c[request-success-rate]" -> ["a","b",0,"c",{name:"request-success-rate"}] */
function parsePath(text: string, whole: string): PathSegment[] {
  const out: PathSegment[] = [];
  let rest = text.replace(/^spec\./, "");
  const bad = (why: string) => new SpecEditError(`--set ${whole}: ${why}`);
  while (rest.length > 0) {
    const field = /^([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
    if (field === null) throw bad(`cannot read the path at "${rest}" (expected a field name)`);
    out.push(field[1] ?? "");
    rest = rest.slice(field[0].length);
    while (rest.startsWith("[")) {
      const end = rest.indexOf("]");
      if (end < 0) throw bad(`"[" without "]" in the path`);
      const key = rest.slice(1, end).trim();
      if (key === "") throw bad("empty [] in the path: give an index or a name, e.g. metrics[0]");
      out.push(/^\d+$/.test(key) ? Number(key) : { name: key.replace(/^["']|["']$/g, "") });
      rest = rest.slice(end + 1);
    }
    if (rest.startsWith(".")) {
      rest = rest.slice(1);
      if (rest === "") throw bad("the path ends with a dot");
    } else if (rest !== "") throw bad(`cannot read the path at "${rest}"`);
  }
  return out;
}

/** Parses one `--set path=value`: the value is YAML (`3`, `30s`, `true`, `[10, 20]`, `null`). */
export function parseSet(text: string): SpecEdit {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new SpecEditError(`--set ${text}: expected path=value, e.g. analysis.threshold=3`);
  const path = parsePath(text.slice(0, eq).trim(), text);
  const raw = text.slice(eq + 1);
  let value: unknown;
  try {
    value = raw.trim() === "" ? "" : yaml.load(raw, { schema: yaml.CORE_SCHEMA });
  } catch (err) {
    throw new SpecEditError(
      `--set ${text}: the value is not YAML: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
    );
  }
  return { text, path, value: value === null ? undefined : value };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

const clone = <T>(v: T): T => structuredClone(v);

function segmentText(s: PathSegment): string {
  return typeof s === "string" ? s : typeof s === "number" ? `[${s}]` : `[${s.name}]`;
}

/** Applies one edit to a spec object (mutates it), creating the objects and lists on its path. */
function applyEdit(spec: Record<string, unknown>, edit: SpecEdit): void {
  const bad = (why: string) => new SpecEditError(`--set ${edit.text}: ${why}`);
  // A spec written with Flagger's deprecated canaryAnalysis: analysis.* edits go there.
  const path = [...edit.path];
  if (path[0] === "analysis" && spec.analysis === undefined && spec.canaryAnalysis !== undefined)
    path[0] = "canaryAnalysis";
  if (path.length === 0) throw bad("the path is empty");
  const keyAt = (cur: unknown, i: number) =>
    keyIn(cur, path[i] as PathSegment, i > 0 ? pathText(path.slice(0, i)) : "spec", bad);
  let cur: unknown = spec;
  const last = path.length - 1;
  for (let i = 0; i < last; i++) {
    const container = cur as Record<string | number, unknown>;
    const key = keyAt(cur, i);
    if (container[key] === undefined) container[key] = typeof path[i + 1] === "string" ? {} : [];
    cur = container[key];
  }
  setOrRemove(cur as Container, keyAt(cur, last), edit.value);
}

/** An object or a list on an edit's path. */
type Container = Record<string, unknown> | unknown[];

/** The key `seg` names in `cur`: a field of an object, or the index of a list's item. */
function keyIn(
  cur: unknown,
  seg: PathSegment,
  where: string,
  bad: (why: string) => SpecEditError,
): string | number {
  if (typeof seg === "string") {
    if (!isRecord(cur)) throw bad(`${where} is not an object, it has no field "${seg}"`);
    return seg;
  }
  if (!Array.isArray(cur)) throw bad(`${where} is not a list, ${segmentText(seg)} cannot pick an item of it`);
  if (typeof seg === "number") {
    // The index just past the end appends an item.
    if (seg > cur.length) throw bad(`${where} has ${cur.length} items: ${segmentText(seg)} is past the end`);
    return seg;
  }
  const index = cur.findIndex((item) => isRecord(item) && item.name === seg.name);
  if (index >= 0) return index;
  const names = cur.flatMap((item) => (isRecord(item) && typeof item.name === "string" ? [item.name] : []));
  throw bad(
    `${where} has no item named "${seg.name}"${names.length > 0 ? ` (it has ${names.join(", ")})` : " (it is empty)"}`,
  );
}

/** Sets `key` of `c` to a copy of `value`; undefined removes it (a list's item, not just its value). */
function setOrRemove(c: Container, key: string | number, value: unknown): void {
  if (Array.isArray(c)) {
    if (value === undefined) c.splice(key as number, 1);
    else c[key as number] = clone(value);
    return;
  }
  if (value === undefined) delete c[key as string];
  else c[key as string] = clone(value);
}

/** What an edit changed, for the output: "analysis.threshold: 5 -> 3". */
export interface AppliedEdit {
  set: string;
  path: string;
  before: unknown;
  after: unknown;
}

function valueAt(spec: unknown, path: readonly PathSegment[]): unknown {
  let cur = spec;
  for (const seg of path) {
    if (typeof seg === "string") cur = isRecord(cur) ? cur[seg] : undefined;
    else if (!Array.isArray(cur)) return undefined;
    else if (typeof seg === "number") cur = cur[seg];
    else cur = cur.find((item) => isRecord(item) && item.name === seg.name);
  }
  return cur;
}

const pathText = (path: readonly PathSegment[]): string =>
  path.map((s, i) => (typeof s === "string" ? (i === 0 ? s : `.${s}`) : segmentText(s))).join("");

export type EditedCanary =
  | { ok: true; canary: Canary; spec: EffectiveSpec; edits: AppliedEdit[] }
  | { ok: false; error: string };

/** Applies the edits in order (mutates `spec`), saying what each changed. */
function applyAll(spec: Record<string, unknown>, edits: readonly SpecEdit[]): AppliedEdit[] {
  return edits.map((edit) => {
    const before = valueAt(spec, edit.path);
    applyEdit(spec, edit);
    return {
      set: edit.text,
      path: pathText(edit.path),
      before: before === undefined ? undefined : clone(before),
      after: valueAt(spec, edit.path),
    };
  });
}

/**
 * The Canary with the edits applied in order, validated as the controller validates it. A problem is
 * said with the --set whose path it is under (or all of them when it cannot be told).
 */
export function editCanary(canary: Canary, edits: readonly SpecEdit[]): EditedCanary {
  const spec = clone(canary.spec) as unknown as Record<string, unknown>;
  let applied: AppliedEdit[];
  try {
    applied = applyAll(spec, edits);
  } catch (err) {
    if (err instanceof SpecEditError) return { ok: false, error: err.message };
    throw err;
  }
  // Only what the schema validates: status and managed metadata stay out of it.
  const edited = {
    apiVersion: canary.apiVersion,
    kind: canary.kind,
    metadata: { name: canary.metadata.name, namespace: canary.metadata.namespace },
    spec,
  };
  const valid = validateCanary(edited);
  if (valid.ok)
    return { ok: true, canary: { ...canary, spec: valid.canary.spec }, spec: valid.spec, edits: applied };
  const lines = valid.problems.map((p) => problemLine(p, edits));
  return { ok: false, error: `the edited Canary is not valid:\n  ${lines.join("\n  ")}` };
}

/** A validation problem, said with the --set whose path it is under (all of them when it cannot be told). */
function problemLine(p: Problem, edits: readonly SpecEdit[]): string {
  const from = edits.filter((e) => p.field.startsWith(`spec.${pathText(e.path).split("[")[0]}`));
  const which =
    from.length > 0
      ? from.map((e) => `--set ${e.text}`).join(", ")
      : `--set ${edits.map((e) => e.text).join(" --set ")}`;
  const what = p.message.includes(p.field) ? p.message : `${p.field}: ${p.message}`;
  return `${which}: ${what}${p.fix ? `; ${p.fix}` : ""}`;
}

/** Did the edits change the weights the run walks (stepWeight, stepWeights, maxWeight, the strategy)? */
export function weightsChanged(before: EffectiveSpec, after: EffectiveSpec): boolean {
  const a = before.analysis;
  const b = after.analysis;
  return (
    a.strategy !== b.strategy ||
    a.mirror !== b.mirror ||
    a.canaryWeights.join(",") !== b.canaryWeights.join(",") ||
    a.iterations !== b.iterations
  );
}
