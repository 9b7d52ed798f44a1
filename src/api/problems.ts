// Turns zod issues into Problems a user can act on: the field path as written in YAML, what is wrong
// with the value found there, and one sentence saying how to fix it.
import { z } from "zod";
import { redact } from "../net/redact.js";
import { parseDuration } from "./duration.js";

export interface Problem {
  /** path as a user would write it, e.g. "spec.analysis.metrics[0].thresholdRange" */
  field: string;
  message: string;
  fix: string;
}

export type PathKey = PropertyKey;

/** ["spec","analysis","metrics",0,"name"] -> "spec.analysis.metrics[0].name" */
export function formatPath(path: readonly PathKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z0-9_-]+$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

/** The value at `path` inside `root`, or undefined. */
export function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** Short, YAML-ish rendering of a value for messages; credentials in it (a URL's user:pass) are masked. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  const text = redact(json);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Field names an object schema accepts at `path` (to suggest the intended spelling of an unknown field). */
function knownKeysAt(schema: z.ZodType, path: readonly PathKey[]): string[] {
  let cur: z.ZodType | undefined = schema;
  const step = (s: z.ZodType): z.ZodType => {
    let t = s;
    while (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap() as z.ZodType;
    return t;
  };
  for (const key of path) {
    if (cur === undefined) return [];
    const s = step(cur);
    if (s instanceof z.ZodObject) cur = (s.shape as Record<string, z.ZodType>)[String(key)];
    else if (s instanceof z.ZodArray) cur = s.element as z.ZodType;
    else if (s instanceof z.ZodRecord) cur = s.valueType as z.ZodType;
    else return [];
  }
  if (cur === undefined) return [];
  const s = step(cur);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

/** The known field a misspelt one most likely meant, if any is close. */
export function suggest(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

const TYPE_WORDS: Record<string, string> = {
  int: "a whole number",
  number: "a number",
  string: "a string",
  boolean: "true or false",
  array: "a list",
  object: "a mapping (key: value)",
  record: "a mapping (key: value)",
};

function typeWord(expected: string): string {
  return TYPE_WORDS[expected] ?? expected;
}

/** Translates one zod issue into a Problem. `root` is the parsed input (to quote the offending value). */
export function problemFromIssue(issue: z.core.$ZodIssue, root: unknown, schema: z.ZodType): Problem[] {
  const path = issue.path;
  const field = formatPath(path) || "the manifest";
  const value = valueAt(root, path);
  // The name a user would look for in their YAML: "stepWeight", or "stepWeights[2]" for a list item.
  const lastName = path.findLastIndex((k) => typeof k !== "number");
  const leaf = lastName < 0 ? "value" : formatPath(path.slice(lastName));
  switch (issue.code) {
    case "invalid_type": {
      if (path.length === 0) {
        return [
          {
            field,
            message: `${field} (${show(value)}) is not an object`,
            fix: "pass the parsed manifest (apiVersion, kind, metadata, spec)",
          },
        ];
      }
      if (value === undefined) {
        return [{ field, message: `${field} is required`, fix: `add ${leaf}: ${typeWord(issue.expected)}` }];
      }
      const fix =
        issue.expected === "int" && typeof value === "number"
          ? `use a whole number, e.g. ${leaf}: ${Math.round(value)}`
          : typeof value === "string" && (issue.expected === "int" || issue.expected === "number")
            ? `write the number without quotes, e.g. ${leaf}: ${Number.isNaN(Number(value)) ? 10 : Number(value)}`
            : `set ${leaf} to ${typeWord(issue.expected)}`;
      return [{ field, message: `${field} (${show(value)}) must be ${typeWord(issue.expected)}`, fix }];
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      if (issue.origin === "string" && issue.code === "too_small" && Number(bound) === 1) {
        return [{ field, message: `${field} must not be empty`, fix: `set ${leaf} to a non-empty value` }];
      }
      const cmp = issue.code === "too_small" ? (issue.inclusive ? ">=" : ">") : issue.inclusive ? "<=" : "<";
      const what =
        issue.origin === "array" ? "number of items" : issue.origin === "string" ? "length" : "value";
      return [
        {
          field,
          message: `${field} (${show(value)}) is out of range: the ${what} must be ${cmp} ${String(bound)}`,
          fix: `set ${leaf} ${cmp} ${String(bound)}`,
        },
      ];
    }
    case "invalid_format": {
      if (typeof value === "string" && issue.format === "regex") {
        let why = issue.message;
        try {
          parseDuration(value);
        } catch (e) {
          // Keep parseDuration's diagnosis, drop its examples: the fix below lists them.
          why = e instanceof Error ? (e.message.split(": use a Go duration")[0] ?? e.message) : why;
        }
        return [
          {
            field,
            message: `${field} (${show(value)}) is not a valid duration: ${why}`,
            fix: `set ${leaf} to a Go duration such as "30s", "1m" or "1m30s"`,
          },
        ];
      }
      return [
        {
          field,
          message: `${field} (${show(value)}): ${issue.message}`,
          fix: `correct the format of ${leaf}`,
        },
      ];
    }
    case "invalid_value": {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(", ");
      return [
        {
          field,
          message: `${field} (${show(value)}) is not one of the allowed values ${allowed}`,
          fix: `set ${leaf} to one of ${allowed}`,
        },
      ];
    }
    case "unrecognized_keys": {
      const known = knownKeysAt(schema, path);
      return issue.keys.map((key) => {
        const guess = suggest(key, known);
        const f = formatPath([...path, key]);
        return {
          field: f,
          message: `${f} is not a field of ${field || "the object"}`,
          fix: guess
            ? `rename it to ${guess} (field names are case-sensitive)`
            : `remove ${key}; see \`kubectl explain\` for the fields`,
        };
      });
    }
    case "invalid_union": {
      if (leaf === "targetPort") {
        return [
          {
            field,
            message: `${field} (${show(value)}) is neither a port number (1-65535) nor a port name`,
            fix: "set targetPort to the container port number (e.g. 8080) or its name (e.g. http)",
          },
        ];
      }
      return [
        {
          field,
          message: `${field} (${show(value)}) does not match any allowed form`,
          fix: `correct ${leaf}`,
        },
      ];
    }
    default:
      return [{ field, message: `${field}: ${issue.message}`, fix: `correct ${leaf}` }];
  }
}

/** All problems of a failed zod parse, in document order. */
export function problemsFromZod(error: z.ZodError, root: unknown, schema: z.ZodType): Problem[] {
  return error.issues.flatMap((issue) => problemFromIssue(issue, root, schema));
}

/** One line per problem, for Kubernetes events, status conditions and CLI output. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.message}: ${p.fix}`).join("\n");
}
