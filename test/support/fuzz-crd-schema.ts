// A small validator for the structural openAPIV3Schema of Serin's CRDs (crds/*.yaml), good enough to
// predict what kube-apiserver accepts for the keywords our generator emits: type, properties, required,
// additionalProperties, items, enum, minimum/maximum, minLength/maxLength, minItems/maxItems, pattern
// (RE2, as the apiserver), int32/int64 formats, x-kubernetes-int-or-string and
// x-kubernetes-preserve-unknown-fields. Unknown fields are errors (kubectl's default field validation
// is Strict). CEL rules (x-kubernetes-validations) cannot be evaluated here and are reported as skipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { load } from "js-yaml";
import { RE2JS } from "re2js";

export type Schema = Record<string, unknown>;

const REPO = join(import.meta.dirname, "..", "..");

export function crdSchema(file: string): Schema {
  const crd = load(readFileSync(join(REPO, "crds", file), "utf8")) as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> };
  };
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  if (!schema) throw new Error(`crds/${file}: no openAPIV3Schema`);
  return schema;
}

const patterns = new Map<string, RE2JS>();
function re2(p: string): RE2JS {
  let r = patterns.get(p);
  if (!r) {
    r = RE2JS.compile(p);
    patterns.set(p, r);
  }
  return r;
}

export interface SchemaResult {
  errors: string[];
  /** CEL rules met on the way (not evaluated) */
  skippedRules: number;
}

const fmt = (path: string) => path || "<root>";

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

export function validateAgainstSchema(value: unknown, schema: Schema, path = ""): SchemaResult {
  const out: SchemaResult = { errors: [], skippedRules: 0 };
  walk(value, schema, path, out);
  return out;
}

function walk(v: unknown, s: Schema, path: string, out: SchemaResult): void {
  if (Array.isArray(s["x-kubernetes-validations"])) out.skippedRules += s["x-kubernetes-validations"].length;
  if (v === null) {
    if (s.nullable === true) return;
    // The apiserver drops nulls of fields it prunes; for declared fields null is a type error.
    out.errors.push(`${fmt(path)}: null`);
    return;
  }
  if (s["x-kubernetes-int-or-string"] === true) {
    const t = typeOf(v);
    if (t !== "integer" && t !== "string") out.errors.push(`${fmt(path)}: must be an integer or string`);
    return;
  }
  const type = s.type as string | undefined;
  const t = typeOf(v);
  if (type !== undefined) {
    const ok =
      type === t ||
      (type === "number" && t === "integer") ||
      // JSON numbers like 2.0 are integers to the apiserver
      (type === "integer" && t === "number" && Number.isInteger(v));
    if (!ok) {
      out.errors.push(`${fmt(path)}: expected ${type}, got ${t}`);
      return;
    }
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === v)) out.errors.push(`${fmt(path)}: not in enum`);
  if (typeof v === "number") {
    if (!Number.isFinite(v)) out.errors.push(`${fmt(path)}: not finite`);
    if (typeof s.minimum === "number" && (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum))
      out.errors.push(`${fmt(path)}: below minimum ${s.minimum}`);
    if (typeof s.maximum === "number" && (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum))
      out.errors.push(`${fmt(path)}: above maximum ${s.maximum}`);
    if (type === "integer" && s.format === "int32" && (v > 2 ** 31 - 1 || v < -(2 ** 31)))
      out.errors.push(`${fmt(path)}: out of int32`);
    if (type === "integer" && (v > 2 ** 63 - 1 || v < -(2 ** 63)))
      out.errors.push(`${fmt(path)}: out of int64`);
  }
  if (typeof v === "string") {
    const len = [...v].length;
    if (typeof s.minLength === "number" && len < s.minLength) out.errors.push(`${fmt(path)}: too short`);
    if (typeof s.maxLength === "number" && len > s.maxLength) out.errors.push(`${fmt(path)}: too long`);
    if (typeof s.pattern === "string" && !re2(s.pattern).matcher(v).find())
      out.errors.push(`${fmt(path)}: does not match ${s.pattern}`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems)
      out.errors.push(`${fmt(path)}: too few items`);
    if (typeof s.maxItems === "number" && v.length > s.maxItems)
      out.errors.push(`${fmt(path)}: too many items`);
    const items = s.items as Schema | undefined;
    if (items) for (const [i, x] of v.entries()) walk(x, items, `${path}[${i}]`, out);
    return;
  }
  if (typeof v === "object") {
    const obj = v as Record<string, unknown>;
    const props = s.properties as Record<string, Schema> | undefined;
    const additional = s.additionalProperties;
    for (const req of (s.required as string[] | undefined) ?? []) {
      if (obj[req] === undefined) out.errors.push(`${path ? `${path}.` : ""}${req}: required`);
    }
    if (typeof s.maxProperties === "number" && Object.keys(obj).length > s.maxProperties)
      out.errors.push(`${fmt(path)}: too many properties`);
    for (const [k, x] of Object.entries(obj)) {
      const at = path ? `${path}.${k}` : k;
      if (x === undefined) continue;
      // ObjectMeta is validated by the apiserver itself (names: see isDnsSubdomain); status is a subresource.
      if (path === "" && (k === "metadata" || k === "status")) continue;
      const sub = props?.[k];
      if (sub) walk(x, sub, at, out);
      else if (typeof additional === "object" && additional !== null) walk(x, additional as Schema, at, out);
      else if (additional === true || s["x-kubernetes-preserve-unknown-fields"] === true) continue;
      else if (path === "" && (k === "apiVersion" || k === "kind" || k === "metadata" || k === "status"))
        continue;
      else out.errors.push(`${at}: unknown field`);
    }
  }
}

/** Names the apiserver accepts for custom resources: DNS-1123 subdomains. */
export function isDnsSubdomain(name: unknown): boolean {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    name.length <= 253 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)
  );
}
