// Generators of bad input for Serin's kinds (issue 6): valid Canaries, MetricTemplates and AlertProviders
// taken from the shipped examples and Flagger's documentation, then mutated — fields deleted or replaced
// with wrong types, huge/negative/zero numbers, huge durations, bad names, RE2 and non-RE2 regexes,
// webhooks with no deadline or millions of retries, unknown fields. Shared by the property-based unit
// suite (test/unit/fuzz/) and the e2e bad-input test, always with a fixed seed so failures reproduce.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { load } from "js-yaml";
import { WEBHOOK_TYPES } from "../../src/api/canary.js";
import { loadFlaggerFixtures } from "../fixtures/flagger/load.js";

export type Obj = Record<string, unknown>;
export type PathKey = string | number;

const REPO = join(import.meta.dirname, "..", "..");

/** Largest delay Node's setTimeout honours; anything above fires after 1 ms (a hot loop). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Base {
  name: string;
  obj: Obj;
}

/** Valid Canaries: the shipped catalog example and every Flagger Canary fixture (serin.dev form). */
export function baseCanaries(): Base[] {
  const catalog = load(readFileSync(join(REPO, "examples", "catalog", "canary.yaml"), "utf8")) as Obj;
  return [
    { name: "examples/catalog/canary.yaml", obj: catalog },
    ...loadFlaggerFixtures(["Canary"]).map((f) => ({ name: f.file, obj: f.serin })),
  ];
}

export function baseMetricTemplates(): Base[] {
  return [
    ...loadFlaggerFixtures(["MetricTemplate"]).map((f) => ({ name: f.file, obj: f.serin })),
    {
      name: "inline error-rate template",
      obj: {
        apiVersion: "serin.dev/v1beta1",
        kind: "MetricTemplate",
        metadata: { name: "error-rate", namespace: "test" },
        spec: {
          provider: { type: "prometheus", address: "http://prometheus.istio-system:9090" },
          query: 'sum(rate(istio_requests_total{destination_workload="{{ target }}"}[{{ interval }}]))',
        },
      },
    },
  ];
}

export function baseAlertProviders(): Base[] {
  return [
    ...loadFlaggerFixtures(["AlertProvider"]).map((f) => ({ name: f.file, obj: f.serin })),
    {
      name: "inline slack provider",
      obj: {
        apiVersion: "serin.dev/v1beta1",
        kind: "AlertProvider",
        metadata: { name: "chat", namespace: "test" },
        spec: { type: "slack", channel: "#releases", address: "https://hooks.slack.com/services/x" },
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Values

export const HUGE_DURATIONS = [
  "597h",
  "596h31m23s",
  "596h31m24s",
  "600h",
  "2562047h",
  "99999999999h",
  "9999999999999999999999s",
  "100000h",
  "24h",
  "2h",
  "1h",
] as const;
export const SMALL_DURATIONS = [
  "0s",
  "0",
  "0ms",
  "1ns",
  "1ms",
  "500ms",
  "1s",
  "5s",
  "9.999s",
  "10s",
] as const;
export const BAD_DURATIONS = [
  "-5s",
  "5",
  "",
  " 10s",
  "10S",
  "1e3s",
  "10 s",
  "1d",
  "1w",
  "10s10",
  "∞s",
] as const;

export const BAD_NAMES = [
  "a".repeat(60),
  "a".repeat(63),
  "a".repeat(64),
  "b".repeat(253),
  "c".repeat(300),
  "UPPER",
  "Catalog",
  "under_score",
  "dots.in.name",
  "-leading",
  "trailing-",
  "",
  "with space",
  "ünïcödé",
  "x/y",
  "..",
  "x".repeat(100_000),
] as const;

/** RE2 accepts these (JavaScript's RegExp may not: named groups (?P<...>), POSIX classes, \Q..\E). */
export const VALID_RE2 = [
  "^/api/.*$",
  "(?i)jason",
  "\\p{Greek}+",
  "[[:alpha:]]+",
  "(?P<user>[a-z]+)",
  "\\Qa.b\\E",
  "a{2,5}",
  "^(.*?;)?(type=insider)(;.*)?$",
  ".*Firefox.*",
  "",
  "(a+)+$",
  "(x|x|x|x|x)*y".repeat(200),
] as const;
/** RE2 rejects these. */
export const INVALID_RE2 = [
  "(?=x)",
  "(?!x)",
  "(?<=x)",
  "(?<!x)",
  "(a",
  "a)",
  "\\1",
  "(a)\\1",
  "[z-a]",
  "a{1001}",
  "*",
  "x**",
  "(?P<n>x",
  "\\",
  "\\8",
  "(".repeat(10_000),
  "a{1000}{1000}",
] as const;

export const HUGE_NUMBERS = [
  0,
  -1,
  -100,
  0.5,
  -0.0001,
  1.5,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  2 ** 63,
  1e12,
  1e21,
  1e308,
] as const;

const WRONG_TYPES: readonly unknown[] = ["x", "", "10", true, false, null, [], {}, [1, 2], { a: 1 }, 7];

const durationArb = fc.oneof(
  fc.constantFrom(...HUGE_DURATIONS),
  fc.constantFrom(...SMALL_DURATIONS),
  fc.constantFrom(...BAD_DURATIONS),
  fc
    .tuple(fc.integer({ min: 0, max: 10_000_000 }), fc.constantFrom("ns", "ms", "s", "m", "h"))
    .map(([n, u]) => `${n}${u}`),
);
const numberArb = fc.oneof(
  fc.constantFrom(...HUGE_NUMBERS),
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const nameArb = fc.oneof(
  fc.constantFrom(...BAD_NAMES),
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,80}$/),
  fc.constantFrom("catalog", "podinfo", "a"),
);
const regexArb = fc.oneof(fc.constantFrom(...VALID_RE2), fc.constantFrom(...INVALID_RE2));
const urlArb = fc.constantFrom(
  "http://flagger-loadtester.test/",
  "https://user:pass@example.com/hook?token=abc",
  "not a url",
  "ftp://example.com/",
  "http://",
  "//relative",
  "http://[::1]:99999/",
  "file:///etc/passwd",
  "",
);
const webhookTypeArb = fc.constantFrom(...WEBHOOK_TYPES, "nonsense");
const webhookArb = fc.record(
  {
    name: fc.oneof(fc.constantFrom("load-test", "gate", ""), nameArb),
    type: webhookTypeArb,
    url: urlArb,
    timeout: durationArb,
    retries: fc.oneof(fc.constantFrom(0, 1, 3, 1_000_000, 2 ** 31 - 1, -1, 1.5), fc.nat()),
    metadata: fc.constant({ cmd: "hey -z 1m http://x" }),
  },
  { requiredKeys: ["name", "url"] },
);
const anyValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...WRONG_TYPES),
  numberArb,
  durationArb,
  nameArb,
  regexArb,
);
const unknownKeyArb = fc.constantFrom(
  "stepweight",
  "Interval",
  "intervall",
  "foo",
  "x-extra",
  "__proto__x",
  "apiVersion",
  "status",
);

// ---------------------------------------------------------------------------------------------------
// Paths and mutations

/** Every path (objects and list items) inside `obj`, depth first. */
export function allPaths(obj: unknown, prefix: PathKey[] = []): PathKey[][] {
  const out: PathKey[][] = [];
  if (Array.isArray(obj)) {
    obj.forEach((v, i) => {
      out.push([...prefix, i], ...allPaths(v, [...prefix, i]));
    });
  } else if (typeof obj === "object" && obj !== null) {
    for (const [k, v] of Object.entries(obj)) out.push([...prefix, k], ...allPaths(v, [...prefix, k]));
  }
  return out;
}

/** Paths worth mutating even when the base does not have them (intermediate objects are created). */
const INTERESTING_CANARY_PATHS: ReadonlyArray<{ path: PathKey[]; kind: ValueKind }> = [
  { path: ["spec", "analysis", "interval"], kind: "duration" },
  { path: ["spec", "analysis", "threshold"], kind: "number" },
  { path: ["spec", "analysis", "iterations"], kind: "number" },
  { path: ["spec", "analysis", "maxWeight"], kind: "number" },
  { path: ["spec", "analysis", "stepWeight"], kind: "number" },
  { path: ["spec", "analysis", "stepWeights"], kind: "numberList" },
  { path: ["spec", "analysis", "stepWeightPromotion"], kind: "number" },
  { path: ["spec", "analysis", "mirrorWeight"], kind: "number" },
  { path: ["spec", "analysis", "primaryReadyThreshold"], kind: "number" },
  { path: ["spec", "analysis", "canaryReadyThreshold"], kind: "number" },
  { path: ["spec", "progressDeadlineSeconds"], kind: "number" },
  { path: ["spec", "analysis", "metrics", 0, "interval"], kind: "duration" },
  { path: ["spec", "analysis", "metrics", 0, "thresholdRange", "min"], kind: "number" },
  { path: ["spec", "analysis", "metrics", 0, "thresholdRange", "max"], kind: "number" },
  { path: ["spec", "analysis", "webhooks"], kind: "webhooks" },
  { path: ["spec", "analysis", "webhooks", 0, "timeout"], kind: "duration" },
  { path: ["spec", "analysis", "webhooks", 0, "retries"], kind: "number" },
  { path: ["spec", "targetRef", "name"], kind: "name" },
  { path: ["spec", "service", "name"], kind: "name" },
  { path: ["spec", "service", "port"], kind: "number" },
  { path: ["spec", "service", "timeout"], kind: "duration" },
  { path: ["spec", "service", "retries", "perTryTimeout"], kind: "duration" },
  { path: ["spec", "analysis", "match", 0, "headers", "x-user", "regex"], kind: "regex" },
  { path: ["spec", "service", "match", 0, "uri", "regex"], kind: "regex" },
  { path: ["spec", "analysis", "sessionAffinity", "cookieName"], kind: "name" },
  { path: ["spec", "analysis", "sessionAffinity", "maxAge"], kind: "number" },
  { path: ["spec", "metricsServer"], kind: "url" },
  { path: ["spec", "autoscalerRef", "name"], kind: "name" },
  { path: ["spec", "analysis", "metrics", 0, "templateRef", "name"], kind: "name" },
  { path: ["metadata", "name"], kind: "name" },
];

type ValueKind = "duration" | "number" | "numberList" | "name" | "regex" | "url" | "webhooks" | "any";

function valueFor(kind: ValueKind): fc.Arbitrary<unknown> {
  switch (kind) {
    case "duration":
      return durationArb;
    case "number":
      return numberArb;
    case "numberList":
      return fc.array(numberArb, { maxLength: 6 });
    case "name":
      return nameArb;
    case "regex":
      return regexArb;
    case "url":
      return urlArb;
    case "webhooks":
      return fc.array(webhookArb, { minLength: 1, maxLength: 3 });
    case "any":
      return anyValueArb;
  }
}

export type MutationSpec =
  | { op: "delete"; pathSeed: number }
  | { op: "set"; pathSeed: number; value: unknown }
  | { op: "setInteresting"; pathSeed: number; value: unknown }
  | { op: "unknownField"; pathSeed: number; key: string; value: unknown };

/** A mutation whose target path is picked (by seed) from the object it is applied to. */
export const mutationArb: fc.Arbitrary<MutationSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), pathSeed: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("set" as const), pathSeed: fc.nat(), value: anyValueArb }),
  },
  {
    weight: 6,
    arbitrary: fc.nat({ max: INTERESTING_CANARY_PATHS.length - 1 }).chain((i) =>
      fc.record({
        op: fc.constant("setInteresting" as const),
        pathSeed: fc.constant(i),
        value: fc.oneof(
          { weight: 4, arbitrary: valueFor(INTERESTING_CANARY_PATHS[i]?.kind ?? "any") },
          { weight: 1, arbitrary: anyValueArb },
        ),
      }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("unknownField" as const),
      pathSeed: fc.nat(),
      key: unknownKeyArb,
      value: anyValueArb,
    }),
  },
);

function objectPaths(obj: unknown): PathKey[][] {
  return [[], ...allPaths(obj)].filter((p) => {
    const v = getAt(obj, p);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  });
}

export function getAt(obj: unknown, path: readonly PathKey[]): unknown {
  let cur = obj;
  for (const k of path) {
    if (typeof cur !== "object" || cur === null) return undefined;
    cur = (cur as Record<PathKey, unknown>)[k];
  }
  return cur;
}

/** Sets `value` at `path`, creating objects/lists on the way (a number key makes a list). */
export function setAt(obj: Obj, path: readonly PathKey[], value: unknown): void {
  let cur: Record<PathKey, unknown> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as PathKey;
    const nextKey = path[i + 1];
    let next = cur[k];
    if (typeof next !== "object" || next === null) {
      next = typeof nextKey === "number" ? [] : {};
      cur[k] = next;
    }
    if (Array.isArray(next) && typeof nextKey === "number") {
      while (next.length < nextKey) next.push({});
    }
    cur = next as Record<PathKey, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) cur[last] = value;
}

export function deleteAt(obj: Obj, path: readonly PathKey[]): void {
  const parent = getAt(obj, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last === undefined || typeof parent !== "object" || parent === null) return;
  if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
  else delete (parent as Record<PathKey, unknown>)[last];
}

export const showPath = (path: readonly PathKey[]): string =>
  path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");

const shortValue = (v: unknown): string => {
  const t = JSON.stringify(v);
  return t === undefined ? String(v) : t.length > 40 ? `${t.slice(0, 37)}...` : t;
};

/** Applies one mutation to `obj` (in place); returns a label such as `set spec.analysis.interval="600h"`. */
export function applyMutation(obj: Obj, m: MutationSpec, interesting = true): string {
  // apiVersion/kind/metadata are kept out of random deletes and sets: they only test the apiserver.
  const candidates = allPaths(obj).filter((p) => p[0] === "spec");
  switch (m.op) {
    case "delete": {
      const path = candidates[m.pathSeed % Math.max(1, candidates.length)];
      if (!path) return "noop";
      deleteAt(obj, path);
      return `delete ${showPath(path)}`;
    }
    case "set": {
      const path = candidates[m.pathSeed % Math.max(1, candidates.length)];
      if (!path) return "noop";
      setAt(obj, path, structuredClone(m.value));
      return `set ${showPath(path)}=${shortValue(m.value)}`;
    }
    case "setInteresting": {
      if (!interesting) return "noop";
      const entry = INTERESTING_CANARY_PATHS[m.pathSeed % INTERESTING_CANARY_PATHS.length];
      if (!entry) return "noop";
      setAt(obj, entry.path, structuredClone(m.value));
      return `set ${showPath(entry.path)}=${shortValue(m.value)}`;
    }
    case "unknownField": {
      const parents = objectPaths(obj).filter((p) => p[0] === "spec");
      const parent = parents[m.pathSeed % Math.max(1, parents.length)] ?? ["spec"];
      setAt(obj, [...parent, m.key], structuredClone(m.value));
      return `add ${showPath([...parent, m.key])}=${shortValue(m.value)}`;
    }
  }
}

export interface Mutant {
  base: string;
  mutations: string[];
  obj: Obj;
}

function mutantArb(bases: Base[], interesting: boolean, maxMutations: number): fc.Arbitrary<Mutant> {
  return fc
    .record({
      base: fc.nat({ max: bases.length - 1 }),
      mutations: fc.array(mutationArb, { minLength: 1, maxLength: maxMutations }),
    })
    .map(({ base, mutations }) => {
      const b = bases[base] as Base;
      const obj = structuredClone(b.obj);
      const labels = mutations.map((m) => applyMutation(obj, m, interesting));
      return { base: b.name, mutations: labels, obj };
    });
}

/** A valid Canary with 1-3 random mutations. */
export function mutatedCanaryArb(maxMutations = 3): fc.Arbitrary<Mutant> {
  return mutantArb(baseCanaries(), true, maxMutations);
}
export function mutatedMetricTemplateArb(maxMutations = 3): fc.Arbitrary<Mutant> {
  return mutantArb(baseMetricTemplates(), false, maxMutations);
}
export function mutatedAlertProviderArb(maxMutations = 3): fc.Arbitrary<Mutant> {
  return mutantArb(baseAlertProviders(), false, maxMutations);
}

/**
 * Valid Canaries with in-range but extreme values: intervals from 10s to hundreds of hours, huge
 * thresholds and iterations, any step size, webhooks with any timeout and retry count. Most of these
 * pass Serin's structural validation, so they exercise what comes after it (the decision core).
 */
export function extremeCanaryArb(): fc.Arbitrary<Mutant> {
  const bases = baseCanaries();
  const edits = fc.record(
    {
      interval: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom("10s", "30s", "1m", "5m", "1h") },
        { weight: 2, arbitrary: fc.integer({ min: 10, max: 86_400 }).map((s) => `${s}s`) },
        { weight: 1, arbitrary: fc.constantFrom(...HUGE_DURATIONS) },
        { weight: 1, arbitrary: fc.integer({ min: 10, max: 4_000_000 }).map((s) => `${s}s`) },
      ),
      threshold: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 10 }) },
        { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 1_000_000_000) },
      ),
      iterations: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 20 }) },
        { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 1_000_000_000) },
      ),
      stepWeight: fc.integer({ min: 1, max: 100 }),
      maxWeight: fc.integer({ min: 1, max: 100 }),
      progressDeadlineSeconds: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 1, max: 600 }) },
        { weight: 1, arbitrary: fc.constant(2 ** 31 - 1) },
      ),
      metricInterval: fc.constantFrom("1m", "30s", "1s", "600h", "0s", "1ms"),
      webhookTimeout: fc.constantFrom("0s", "1ms", "1s", "10s", "30s", "5m", "1h", "600h", "596h31m24s"),
      webhookRetries: fc.constantFrom(0, 0, 1, 2, 3, 5, 1_000_000, 2 ** 31 - 1),
      webhookType: webhookTypeArb.filter((t) => t !== "nonsense"),
      stepWeightPromotion: fc.integer({ min: 1, max: 100 }),
      skipAnalysis: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  return fc.record({ base: fc.nat({ max: bases.length - 1 }), edits }).map(({ base, edits: e }) => {
    const b = bases[base] as Base;
    const obj = structuredClone(b.obj);
    const a = (getAt(obj, ["spec", "analysis"]) ?? {}) as Obj;
    const labels: string[] = [];
    const put = (path: PathKey[], v: unknown) => {
      setAt(obj, path, v);
      labels.push(`set ${showPath(path)}=${shortValue(v)}`);
    };
    if (e.interval !== undefined) put(["spec", "analysis", "interval"], e.interval);
    if (e.threshold !== undefined) put(["spec", "analysis", "threshold"], e.threshold);
    if (e.iterations !== undefined && a.iterations !== undefined)
      put(["spec", "analysis", "iterations"], e.iterations);
    if (e.stepWeight !== undefined && a.stepWeight !== undefined)
      put(["spec", "analysis", "stepWeight"], e.stepWeight);
    if (e.maxWeight !== undefined && a.stepWeight !== undefined)
      put(["spec", "analysis", "maxWeight"], Math.max(e.maxWeight, Number(getAt(a, ["stepWeight"]))));
    if (e.stepWeightPromotion !== undefined && a.stepWeight !== undefined)
      put(["spec", "analysis", "stepWeightPromotion"], e.stepWeightPromotion);
    if (e.progressDeadlineSeconds !== undefined)
      put(["spec", "progressDeadlineSeconds"], e.progressDeadlineSeconds);
    if (e.metricInterval !== undefined && Array.isArray(a.metrics) && a.metrics.length > 0)
      put(["spec", "analysis", "metrics", 0, "interval"], e.metricInterval);
    if (e.webhookTimeout !== undefined || e.webhookRetries !== undefined) {
      put(
        ["spec", "analysis", "webhooks"],
        [
          {
            name: "fuzz-hook",
            type: e.webhookType ?? "rollout",
            url: "http://127.0.0.1:9/hook",
            ...(e.webhookTimeout !== undefined ? { timeout: e.webhookTimeout } : {}),
            ...(e.webhookRetries !== undefined ? { retries: e.webhookRetries } : {}),
          },
        ],
      );
    }
    if (e.skipAnalysis !== undefined) put(["spec", "skipAnalysis"], e.skipAnalysis);
    return { base: b.name, mutations: labels, obj };
  });
}

// ---------------------------------------------------------------------------------------------------
// Mutations the issue says must be rejected, each with the field(s) the rejection must name.

export interface KnownBad {
  /** short label, unique */
  label: string;
  /** the rejection must name one of these field paths (a prefix match: a more precise path is fine) */
  fields: string[];
  /** the apiserver's CRD schema is expected to refuse it (structural) rather than Serin */
  schema?: boolean;
  apply(obj: Obj): void;
}

const A = ["spec", "analysis"];
const hook = (extra: Obj): Obj[] => [
  { name: "load-test", type: "rollout", url: "http://flagger-loadtester.test/", ...extra },
];

export const KNOWN_BAD_CANARY: readonly KnownBad[] = [
  // Durations a timer cannot hold, or that make no sense.
  {
    label: "interval 600h",
    fields: ["spec.analysis.interval"],
    apply: (o) => setAt(o, [...A, "interval"], "600h"),
  },
  {
    label: "interval 597h",
    fields: ["spec.analysis.interval"],
    apply: (o) => setAt(o, [...A, "interval"], "597h"),
  },
  {
    label: "interval 99999999999h",
    fields: ["spec.analysis.interval"],
    apply: (o) => setAt(o, [...A, "interval"], "99999999999h"),
  },
  {
    label: "interval 0s",
    fields: ["spec.analysis.interval"],
    apply: (o) => setAt(o, [...A, "interval"], "0s"),
  },
  {
    label: "interval 5s",
    fields: ["spec.analysis.interval"],
    apply: (o) => setAt(o, [...A, "interval"], "5s"),
  },
  {
    label: "interval -5s",
    fields: ["spec.analysis.interval"],
    schema: true,
    apply: (o) => setAt(o, [...A, "interval"], "-5s"),
  },
  {
    label: "metric interval 600h",
    fields: ["spec.analysis.metrics[0].interval"],
    apply: (o) =>
      setAt(
        o,
        [...A, "metrics"],
        [{ name: "request-success-rate", interval: "600h", thresholdRange: { min: 99 } }],
      ),
  },
  {
    label: "metric interval 0s",
    fields: ["spec.analysis.metrics[0].interval"],
    apply: (o) =>
      setAt(
        o,
        [...A, "metrics"],
        [{ name: "request-success-rate", interval: "0s", thresholdRange: { min: 99 } }],
      ),
  },
  // Webhooks without a usable deadline, or retrying forever.
  {
    label: "webhook timeout 0s",
    fields: ["spec.analysis.webhooks[0].timeout"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ timeout: "0s" })),
  },
  {
    label: "webhook timeout 600h",
    fields: ["spec.analysis.webhooks[0].timeout"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ timeout: "600h" })),
  },
  {
    label: "webhook timeout 100000h",
    fields: ["spec.analysis.webhooks[0].timeout"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ timeout: "100000h" })),
  },
  {
    label: "webhook retries 1000000",
    fields: ["spec.analysis.webhooks[0].retries"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ retries: 1_000_000 })),
  },
  {
    label: "webhook retries 2^31-1",
    fields: ["spec.analysis.webhooks[0].retries"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ retries: 2 ** 31 - 1 })),
  },
  {
    label: "webhook retries -1",
    fields: ["spec.analysis.webhooks[0].retries"],
    schema: true,
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ retries: -1 })),
  },
  {
    label: "webhook url not a URL",
    fields: ["spec.analysis.webhooks[0].url"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ url: "not a url" })),
  },
  {
    label: "webhook url ftp",
    fields: ["spec.analysis.webhooks[0].url"],
    apply: (o) => setAt(o, [...A, "webhooks"], hook({ url: "ftp://example.com/x" })),
  },
  {
    label: "webhook names repeat",
    fields: ["spec.analysis.webhooks[1].name"],
    apply: (o) => setAt(o, [...A, "webhooks"], [...hook({}), ...hook({})]),
  },
  // Numbers out of range.
  {
    label: "threshold 0",
    fields: ["spec.analysis.threshold"],
    schema: true,
    apply: (o) => setAt(o, [...A, "threshold"], 0),
  },
  {
    label: "threshold -3",
    fields: ["spec.analysis.threshold"],
    schema: true,
    apply: (o) => setAt(o, [...A, "threshold"], -3),
  },
  {
    label: "threshold as string",
    fields: ["spec.analysis.threshold"],
    schema: true,
    apply: (o) => setAt(o, [...A, "threshold"], "5"),
  },
  {
    label: "stepWeight 0",
    fields: ["spec.analysis.stepWeight"],
    schema: true,
    apply: (o) => setCanaryStep(o, 0),
  },
  {
    label: "stepWeight 101",
    fields: ["spec.analysis.stepWeight"],
    schema: true,
    apply: (o) => setCanaryStep(o, 101),
  },
  {
    label: "stepWeight 1e9",
    fields: ["spec.analysis.stepWeight"],
    schema: true,
    apply: (o) => setCanaryStep(o, 1e9),
  },
  {
    label: "stepWeight 2.5",
    fields: ["spec.analysis.stepWeight"],
    schema: true,
    apply: (o) => setCanaryStep(o, 2.5),
  },
  {
    label: "stepWeight > maxWeight",
    fields: ["spec.analysis.stepWeight"],
    apply: (o) => {
      setCanaryStep(o, 60);
      setAt(o, [...A, "maxWeight"], 50);
    },
  },
  {
    label: "stepWeights decreasing",
    fields: ["spec.analysis.stepWeights[1]"],
    apply: (o) => {
      clearStrategy(o);
      setAt(o, [...A, "stepWeights"], [50, 10]);
    },
  },
  {
    label: "iterations 0",
    fields: ["spec.analysis.iterations"],
    schema: true,
    apply: (o) => {
      clearStrategy(o);
      setAt(o, [...A, "iterations"], 0);
    },
  },
  {
    label: "iterations and stepWeight",
    fields: ["spec.analysis.stepWeight", "spec.analysis.iterations"],
    apply: (o) => {
      clearStrategy(o);
      setAt(o, [...A, "iterations"], 5);
      setAt(o, [...A, "stepWeight"], 10);
    },
  },
  { label: "no strategy", fields: ["spec.analysis"], apply: (o) => clearStrategy(o) },
  { label: "no analysis", fields: ["spec.analysis"], apply: (o) => deleteAt(o, A) },
  {
    label: "progressDeadlineSeconds 0",
    fields: ["spec.progressDeadlineSeconds"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "progressDeadlineSeconds"], 0),
  },
  {
    label: "progressDeadlineSeconds 2^40",
    fields: ["spec.progressDeadlineSeconds"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "progressDeadlineSeconds"], 2 ** 40),
  },
  {
    label: "service port 0",
    fields: ["spec.service.port"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "service", "port"], 0),
  },
  {
    label: "service port 70000",
    fields: ["spec.service.port"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "service", "port"], 70_000),
  },
  {
    label: "thresholdRange min > max",
    fields: ["spec.analysis.metrics[0].thresholdRange"],
    apply: (o) =>
      setAt(o, [...A, "metrics"], [{ name: "request-duration", thresholdRange: { min: 500, max: 100 } }]),
  },
  {
    label: "unknown metric without templateRef",
    fields: ["spec.analysis.metrics[0]"],
    apply: (o) => setAt(o, [...A, "metrics"], [{ name: "error-rate", thresholdRange: { max: 1 } }]),
  },
  {
    label: "mirrorWeight without mirror",
    fields: ["spec.analysis.mirrorWeight"],
    apply: (o) => {
      setAt(o, [...A, "mirror"], false);
      setAt(o, [...A, "mirrorWeight"], 50);
    },
  },
  // Names that cannot become Kubernetes objects (<name>-primary Services are DNS-1035 labels, <= 63).
  {
    label: "targetRef.name 64 chars",
    fields: ["spec.targetRef.name", "spec.service.name"],
    apply: (o) => setTarget(o, "a".repeat(64)),
  },
  {
    label: "targetRef.name 60 chars",
    fields: ["spec.targetRef.name", "spec.service.name"],
    apply: (o) => setTarget(o, "a".repeat(60)),
  },
  {
    label: "targetRef.name uppercase",
    fields: ["spec.targetRef.name", "spec.service.name"],
    apply: (o) => setTarget(o, "Catalog"),
  },
  {
    label: "targetRef.name underscore",
    fields: ["spec.targetRef.name", "spec.service.name"],
    apply: (o) => setTarget(o, "cat_alog"),
  },
  {
    label: "service.name 60 chars",
    fields: ["spec.service.name"],
    apply: (o) => setAt(o, ["spec", "service", "name"], "s".repeat(60)),
  },
  {
    label: "service.name dots",
    fields: ["spec.service.name"],
    apply: (o) => setAt(o, ["spec", "service", "name"], "cata.log"),
  },
  // Regexes Envoy (RE2) would reject.
  {
    label: "match regex lookahead",
    fields: ["spec.analysis.match[0].headers.x-user.regex"],
    apply: (o) => setMatchRegex(o, "(?=x)jason"),
  },
  {
    label: "match regex unbalanced",
    fields: ["spec.analysis.match[0].headers.x-user.regex"],
    apply: (o) => setMatchRegex(o, "(a"),
  },
  {
    label: "match regex backreference",
    fields: ["spec.analysis.match[0].headers.x-user.regex"],
    apply: (o) => setMatchRegex(o, "(a)\\1"),
  },
  {
    label: "match regex repeat 1001",
    fields: ["spec.analysis.match[0].headers.x-user.regex"],
    apply: (o) => setMatchRegex(o, "a{1001}"),
  },
  {
    label: "service.match uri regex lookbehind",
    fields: ["spec.service.match[0].uri.regex"],
    apply: (o) => setAt(o, ["spec", "service", "match"], [{ uri: { regex: "(?<=/api)/v1" } }]),
  },
  // Fields Serin accepted but ignored (Flagger features of other routers/providers).
  {
    label: "provider linkerd",
    fields: ["spec.provider"],
    apply: (o) => setAt(o, ["spec", "provider"], "linkerd"),
  },
  {
    label: "targetRef DaemonSet",
    fields: ["spec.targetRef.kind"],
    apply: (o) => setAt(o, ["spec", "targetRef", "kind"], "DaemonSet"),
  },
  {
    label: "ingressRef (ignored with Istio)",
    fields: ["spec.ingressRef"],
    apply: (o) =>
      setAt(o, ["spec", "ingressRef"], { apiVersion: "networking.k8s.io/v1", kind: "Ingress", name: "x" }),
  },
  {
    label: "upstreamRef (ignored with Istio)",
    fields: ["spec.upstreamRef"],
    apply: (o) =>
      setAt(o, ["spec", "upstreamRef"], { apiVersion: "gloo.solo.io/v1", kind: "Upstream", name: "x" }),
  },
  {
    label: "service.gatewayRefs (Gateway API only) with provider istio",
    fields: ["spec.service.gatewayRefs"],
    apply: (o) => {
      setAt(o, ["spec", "provider"], "istio");
      setAt(o, ["spec", "service", "gatewayRefs"], [{ name: "gw", namespace: "istio-system" }]);
    },
  },
  {
    label: "service.backendTimeout (Gateway API only) with provider istio",
    fields: ["spec.service.backendTimeout"],
    apply: (o) => {
      setAt(o, ["spec", "provider"], "istio");
      setAt(o, ["spec", "service", "backendTimeout"], "30s");
    },
  },
  {
    label: "service.retries with provider gatewayapi:v1 (an HTTPRoute has none)",
    fields: ["spec.service.retries"],
    apply: (o) => {
      setAt(o, ["spec", "provider"], "gatewayapi:v1");
      setAt(o, ["spec", "service", "retries"], { attempts: 3 });
    },
  },
  {
    label: "provider gatewayapi without a version",
    fields: ["spec.provider"],
    apply: (o) => setAt(o, ["spec", "provider"], "gatewayapi"),
  },
  {
    label: "service.backends (App Mesh only)",
    fields: ["spec.service.backends"],
    apply: (o) => setAt(o, ["spec", "service", "backends"], ["backend.test"]),
  },
  {
    label: "autoscalerRef.primaryScalerQueries (KEDA only)",
    fields: ["spec.autoscalerRef.primaryScalerQueries"],
    apply: (o) =>
      setAt(o, ["spec", "autoscalerRef"], {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        name: "x",
        primaryScalerQueries: { q: "sum(up)" },
      }),
  },
  {
    label: "service.meshName (App Mesh only)",
    fields: ["spec.service.meshName"],
    apply: (o) => setAt(o, ["spec", "service", "meshName"], "global"),
  },
  {
    label: "autoscalerRef ScaledObject (KEDA)",
    fields: ["spec.autoscalerRef"],
    apply: (o) =>
      setAt(o, ["spec", "autoscalerRef"], {
        apiVersion: "keda.sh/v1alpha1",
        kind: "ScaledObject",
        name: "x",
      }),
  },
  // Structure: unknown fields and wrong types (the CRD refuses these at apply time).
  {
    label: "unknown field stepweight",
    fields: ["spec.analysis.stepweight"],
    schema: true,
    apply: (o) => setAt(o, [...A, "stepweight"], 10),
  },
  {
    label: "unknown field spec.foo",
    fields: ["spec.foo"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "foo"], { bar: 1 }),
  },
  {
    label: "interval as number",
    fields: ["spec.analysis.interval"],
    schema: true,
    apply: (o) => setAt(o, [...A, "interval"], 60),
  },
  {
    label: "webhooks not a list",
    fields: ["spec.analysis.webhooks"],
    schema: true,
    apply: (o) => setAt(o, [...A, "webhooks"], { name: "x" }),
  },
  {
    label: "service missing",
    fields: ["spec.service"],
    schema: true,
    apply: (o) => deleteAt(o, ["spec", "service"]),
  },
];

function clearStrategy(o: Obj): void {
  for (const k of [
    "iterations",
    "stepWeight",
    "stepWeights",
    "maxWeight",
    "match",
    "mirror",
    "mirrorWeight",
    "sessionAffinity",
  ])
    deleteAt(o, [...A, k]);
}
function setCanaryStep(o: Obj, w: unknown): void {
  clearStrategy(o);
  setAt(o, [...A, "stepWeight"], w);
  setAt(o, [...A, "maxWeight"], 50);
}
function setTarget(o: Obj, name: string): void {
  setAt(o, ["spec", "targetRef", "name"], name);
  deleteAt(o, ["spec", "service", "name"]);
}
function setMatchRegex(o: Obj, re: string): void {
  clearStrategy(o);
  setAt(o, [...A, "iterations"], 5);
  setAt(o, [...A, "match"], [{ headers: { "x-user": { regex: re } } }]);
  setAt(o, ["spec", "service", "gateways"], ["mesh"]);
}

/** MetricTemplates / AlertProviders the issue says must be rejected. */
export const KNOWN_BAD_METRIC_TEMPLATE: readonly KnownBad[] = [
  {
    label: "provider datadog",
    fields: ["spec.provider.type"],
    apply: (o) => setAt(o, ["spec", "provider", "type"], "datadog"),
  },
  {
    label: "address not a URL",
    fields: ["spec.provider.address"],
    apply: (o) => setAt(o, ["spec", "provider", "address"], "prometheus:9090"),
  },
  {
    label: "empty query",
    fields: ["spec.query"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "query"], ""),
  },
  {
    label: "region (cloudwatch only)",
    fields: ["spec.provider.region"],
    apply: (o) => setAt(o, ["spec", "provider", "region"], "eu-west-1"),
  },
  {
    label: "unknown provider field",
    fields: ["spec.provider.adress"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "provider", "adress"], "http://x"),
  },
];
export const KNOWN_BAD_ALERT_PROVIDER: readonly KnownBad[] = [
  {
    label: "type pagerduty",
    fields: ["spec.type"],
    schema: true,
    apply: (o) => setAt(o, ["spec", "type"], "pagerduty"),
  },
  {
    label: "proxy not a URL",
    fields: ["spec.proxy"],
    apply: (o) => setAt(o, ["spec", "proxy"], "proxy:3128 with spaces"),
  },
  {
    label: "address not a URL",
    fields: ["spec.address"],
    apply: (o) => setAt(o, ["spec", "address"], "hooks.slack.com/x"),
  },
  {
    label: "neither address nor secretRef",
    fields: ["spec.address", "spec.secretRef"],
    apply: (o) => {
      deleteAt(o, ["spec", "address"]);
      deleteAt(o, ["spec", "secretRef"]);
    },
  },
];

/** Deterministic sample of an arbitrary (fast-check's generator with a fixed seed). */
export function sampleSeeded<T>(arb: fc.Arbitrary<T>, seed: number, n: number): T[] {
  return fc.sample(arb, { seed, numRuns: n });
}
