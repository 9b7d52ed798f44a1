// zod -> Kubernetes *structural* openAPIV3Schema. z.toJSONSchema gives OpenAPI 3.0 JSON Schema; the
// apiserver accepts only a structural subset of it (https://kubernetes.io/docs/tasks/extend-kubernetes/
// custom-resources/custom-resource-definitions/#specifying-a-structural-schema), so this pass rewrites
// what can be expressed differently and throws on what cannot, so a schema change never ships a CRD
// the apiserver would reject.
import { z } from "zod";
import { re2Problem } from "../api/re2.js";

/** A node of an openAPIV3Schema (JSONSchemaProps). */
export type SchemaNode = { [key: string]: unknown };

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const SAFE_MAX = Number.MAX_SAFE_INTEGER;

/** Keys the structural pass drops: meta-keys of the JSON Schema document and keys with no CRD meaning. */
const DROPPED = new Set(["$schema", "$id", "id", "title", "examples"]);

export class StructuralSchemaError extends Error {
  override name = "StructuralSchemaError";
}

const isNode = (v: unknown): v is SchemaNode => typeof v === "object" && v !== null && !Array.isArray(v);
const isEmptySchema = (v: unknown): boolean => isNode(v) && Object.keys(v).length === 0;

/** Converts a zod schema to a structural openAPIV3Schema node (inlined, no $ref). */
export function toStructuralSchema(schema: z.ZodType): SchemaNode {
  const json = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io: "input",
    unrepresentable: "throw",
  }) as SchemaNode;
  const defs = {
    ...(isNode(json.$defs) ? json.$defs : {}),
    ...(isNode(json.definitions) ? json.definitions : {}),
  };
  return structural(json, defs, "", []);
}

function resolveRef(ref: string, defs: SchemaNode, at: string, seen: readonly string[]): SchemaNode {
  const name = ref.replace(/^#\/(\$defs|definitions|components\/schemas)\//, "");
  if (seen.includes(name))
    throw new StructuralSchemaError(`${at || "<root>"}: recursive schema ${name} cannot be inlined in a CRD`);
  const target = defs[name];
  if (!isNode(target)) throw new StructuralSchemaError(`${at || "<root>"}: unresolved $ref ${ref}`);
  return target;
}

function structural(input: SchemaNode, defs: SchemaNode, at: string, seen: readonly string[]): SchemaNode {
  let node = input;
  if (typeof node.$ref === "string") {
    const { $ref, ...rest } = node;
    const name = String($ref);
    node = { ...resolveRef(name, defs, at, seen), ...rest };
    seen = [...seen, name.replace(/^.*\//, "")];
  }
  const out: SchemaNode = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key) || key === "$defs" || key === "definitions") continue;
    out[key] = value;
  }

  // int-or-string: zod writes union(int, string) as anyOf; Kubernetes wants the x- marker without a type.
  if (Array.isArray(out.anyOf) || Array.isArray(out.oneOf)) {
    const branches = (out.anyOf ?? out.oneOf) as unknown[];
    const types = branches.map((b) => (isNode(b) ? b.type : undefined)).sort();
    if (branches.length === 2 && types[0] === "integer" && types[1] === "string") {
      const { anyOf: _a, oneOf: _o, ...rest } = out;
      return { ...rest, "x-kubernetes-int-or-string": true };
    }
    throw new StructuralSchemaError(
      `${at || "<root>"}: anyOf/oneOf of ${types.join(", ")} is not structural; model it as one type`,
    );
  }
  if (Array.isArray(out.allOf))
    throw new StructuralSchemaError(`${at || "<root>"}: allOf is not supported here`);
  if ("const" in out) {
    out.enum = [out.const];
    delete out.const;
  }
  if ("uniqueItems" in out) delete out.uniqueItems; // not allowed in structural schemas; list-type: set would be the k8s way
  if (Array.isArray(out.items) || "prefixItems" in out) {
    throw new StructuralSchemaError(
      `${at || "<root>"}: tuples are not allowed in CRD schemas; use an array of one type`,
    );
  }

  // Anything-goes value (z.unknown / z.any): keep whatever the user wrote.
  if (Object.keys(out).filter((k) => k !== "description").length === 0) {
    return { ...out, "x-kubernetes-preserve-unknown-fields": true };
  }

  if (out.type === "integer") integerFormat(out);
  if (typeof out.pattern === "string") {
    const why = re2Problem(out.pattern);
    if (why) throw new StructuralSchemaError(`${at}: pattern ${out.pattern} is not RE2: ${why}`);
  }

  if (out.type === "object") {
    const props = isNode(out.properties) ? out.properties : undefined;
    const extra = out.additionalProperties;
    if (props) {
      const next: SchemaNode = {};
      for (const [name, child] of Object.entries(props)) {
        if (!isNode(child)) throw new StructuralSchemaError(`${at}.${name}: schema is not an object`);
        next[name] = structural(child, defs, `${at}.${name}`, seen);
      }
      if (Object.keys(next).length > 0) out.properties = next;
      else delete out.properties; // loose objects typed for no field: preserve-unknown-fields alone says it
    }
    if (extra === false) {
      delete out.additionalProperties; // closed objects are the default: the apiserver prunes unknown fields
    } else if (extra === true || isEmptySchema(extra)) {
      // loose object (passthrough) or map of anything: keep unknown fields instead of pruning them
      delete out.additionalProperties;
      out["x-kubernetes-preserve-unknown-fields"] = true;
    } else if (isNode(extra)) {
      if (props)
        throw new StructuralSchemaError(
          `${at}: properties and typed additionalProperties cannot be combined`,
        );
      out.additionalProperties = structural(extra, defs, `${at}.*`, seen);
    }
  }
  if (out.type === "array") {
    if (!isNode(out.items)) throw new StructuralSchemaError(`${at}: array without an item schema`);
    out.items = structural(out.items, defs, `${at}[]`, seen);
  }
  if (
    out.type === undefined &&
    !out["x-kubernetes-preserve-unknown-fields"] &&
    !out["x-kubernetes-int-or-string"]
  ) {
    throw new StructuralSchemaError(`${at || "<root>"}: schema has no type`);
  }
  return out;
}

/** zod writes integer ranges as min/max (±2^53-1 for z.int()); Kubernetes wants a format and real bounds only. */
function integerFormat(node: SchemaNode): void {
  const min = typeof node.minimum === "number" ? node.minimum : undefined;
  const max = typeof node.maximum === "number" ? node.maximum : undefined;
  const fitsInt32 = min !== undefined && max !== undefined && min >= INT32_MIN && max <= INT32_MAX;
  node.format = fitsInt32 ? "int32" : "int64";
  if (min === -SAFE_MAX || min === INT32_MIN) delete node.minimum;
  if (max === SAFE_MAX || max === INT32_MAX) delete node.maximum;
}

/** Walks a schema and returns every structural-rule violation (used by tests and the generator). */
export function structuralViolations(node: unknown, at = ""): string[] {
  if (!isNode(node)) return [`${at || "<root>"}: not a schema object`];
  const out: string[] = [];
  for (const bad of [
    "$ref",
    "$defs",
    "definitions",
    "anyOf",
    "oneOf",
    "allOf",
    "uniqueItems",
    "prefixItems",
    "const",
  ]) {
    if (bad in node) out.push(`${at || "<root>"}: has ${bad}`);
  }
  const open =
    node["x-kubernetes-preserve-unknown-fields"] === true || node["x-kubernetes-int-or-string"] === true;
  if (typeof node.type !== "string" && !open) out.push(`${at || "<root>"}: no type`);
  if (isNode(node.properties) && "additionalProperties" in node) {
    out.push(`${at || "<root>"}: properties and additionalProperties together`);
  }
  if (node.type === "integer" && node.format !== "int32" && node.format !== "int64") {
    out.push(`${at || "<root>"}: integer without int32/int64 format`);
  }
  if (typeof node.pattern === "string" && re2Problem(node.pattern)) out.push(`${at}: pattern is not RE2`);
  if (isNode(node.properties)) {
    for (const [k, v] of Object.entries(node.properties)) out.push(...structuralViolations(v, `${at}.${k}`));
  }
  if (isNode(node.additionalProperties))
    out.push(...structuralViolations(node.additionalProperties, `${at}.*`));
  if (node.items !== undefined) out.push(...structuralViolations(node.items, `${at}[]`));
  return out;
}
