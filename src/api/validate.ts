// Validation of a Canary: structure from the zod schema, then the cross-field rules the CRD cannot
// express. Every problem names the field and says how to fix it. Where Serin is stricter than Flagger
// (Flagger silently clamps or ignores), the message says what Flagger would have done.

import { type AlertProvider, AlertProviderSchema } from "./alert-provider.js";
import { type Canary, type CanaryAnalysis, CanarySchema, type CanarySpec } from "./canary.js";
import {
  ALERT_PROVIDER_KIND,
  API_VERSION,
  CANARY_KIND,
  FLAGGER_API_VERSION,
  METRIC_TEMPLATE_KIND,
} from "./constants.js";
import { DEFAULTS, type EffectiveSpec, isBuiltinMetric, withDefaults } from "./defaults.js";
import { tryParseDuration } from "./duration.js";
import type { HttpMatch, StringMatch } from "./istio.js";
import { type MetricTemplate, MetricTemplateSchema } from "./metric-template.js";
import { type Problem, problemsFromZod, show } from "./problems.js";
import { isGatewayApi, providerProblems, routingProvider } from "./providers.js";
import { re2Problem } from "./re2.js";
import { gatewayApiProblems } from "./validate-gateway-api.js";
import { durationLimitProblems } from "./validate-limits.js";
import { nameProblems } from "./validate-names.js";
import { routeRefProblems } from "./validate-route-ref.js";
import { unsupportedCanaryProblems, unsupportedMetricTemplateProblems } from "./validate-unsupported.js";

export { formatProblems, type Problem } from "./problems.js";

export type CanaryValidation =
  | { ok: true; canary: Canary; spec: EffectiveSpec }
  | { ok: false; problems: Problem[] };

/** Validates anything (parsed YAML, an informer object) as a serin.dev/v1beta1 Canary. */
export function validateCanary(obj: unknown): CanaryValidation {
  const parsed = CanarySchema.safeParse(obj);
  const problems = kindProblems(obj, CANARY_KIND);
  if (!parsed.success)
    return { ok: false, problems: [...problems, ...problemsFromZod(parsed.error, obj, CanarySchema)] };
  problems.push(...canarySpecProblems(parsed.data.spec));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, canary: parsed.data, spec: withDefaults(parsed.data.spec) };
}

function kindProblems(obj: unknown, kind: string): Problem[] {
  const o = typeof obj === "object" && obj !== null ? (obj as Record<string, unknown>) : {};
  const out: Problem[] = [];
  if (o.apiVersion === FLAGGER_API_VERSION) {
    out.push({
      field: "apiVersion",
      message: `apiVersion (${FLAGGER_API_VERSION}) is Flagger's`,
      fix: `change it to ${API_VERSION}; the rest of a Flagger ${kind} works unchanged`,
    });
  } else if (typeof o.apiVersion === "string" && o.apiVersion !== API_VERSION) {
    out.push({
      field: "apiVersion",
      message: `apiVersion (${show(o.apiVersion)}) is not ${API_VERSION}`,
      fix: `set apiVersion: ${API_VERSION}`,
    });
  }
  if (typeof o.kind === "string" && o.kind !== kind) {
    out.push({ field: "kind", message: `kind (${show(o.kind)}) is not ${kind}`, fix: `set kind: ${kind}` });
  }
  return out;
}

/** Cross-field rules on a structurally valid spec. Exported for callers that already hold a parsed spec. */
export function canarySpecProblems(spec: CanarySpec): Problem[] {
  const out: Problem[] = [];
  const add = (field: string, message: string, fix: string) => out.push({ field, message, fix });

  out.push(...providerProblems(spec));
  if (isGatewayApi(routingProvider(spec))) out.push(...gatewayApiProblems(spec));
  const t = spec.targetRef;
  if (t.kind === "DaemonSet") {
    add(
      "spec.targetRef.kind",
      "spec.targetRef.kind DaemonSet is not supported yet: Serin releases Deployments only",
      "point targetRef at a Deployment (kind: Deployment, apiVersion: apps/v1)",
    );
  } else if (t.kind === "Service") {
    add(
      "spec.targetRef.kind",
      "spec.targetRef.kind Service is not supported: Serin releases Deployments only",
      "point targetRef at a Deployment (kind: Deployment, apiVersion: apps/v1)",
    );
  } else if (t.apiVersion !== "apps/v1") {
    add(
      "spec.targetRef.apiVersion",
      `spec.targetRef.apiVersion (${show(t.apiVersion)}) is not apps/v1`,
      "set targetRef.apiVersion: apps/v1 for a Deployment",
    );
  }
  const scaler = spec.autoscalerRef?.primaryScalerReplicas;
  if (
    scaler?.minReplicas !== undefined &&
    scaler.maxReplicas !== undefined &&
    scaler.minReplicas > scaler.maxReplicas
  ) {
    add(
      "spec.autoscalerRef.primaryScalerReplicas",
      `spec.autoscalerRef.primaryScalerReplicas.minReplicas (${scaler.minReplicas}) is larger than maxReplicas (${scaler.maxReplicas})`,
      "set minReplicas <= maxReplicas",
    );
  }

  if (spec.analysis && spec.canaryAnalysis) {
    add(
      "spec.canaryAnalysis",
      "spec.canaryAnalysis and spec.analysis are both set (canaryAnalysis is the deprecated name and would be ignored)",
      "move its settings into spec.analysis and delete spec.canaryAnalysis",
    );
  }
  out.push(...unsupportedCanaryProblems(spec));
  out.push(...nameProblems(spec));
  const analysis = spec.analysis ?? spec.canaryAnalysis;
  const at = spec.analysis ? "spec.analysis" : "spec.canaryAnalysis";
  out.push(...durationLimitProblems(spec, analysis, at));
  if (!analysis) {
    add(
      "spec.analysis",
      "spec.analysis is required",
      "add spec.analysis with interval, threshold and stepWeight (canary) or iterations (A/B testing, blue/green)",
    );
  } else {
    out.push(...analysisProblems(analysis, at, spec));
  }
  out.push(...matchListProblems(spec.service.match, "spec.service.match"));
  // A field the provider already refuses (gateways with gatewayapi, ...) is told once.
  const told = new Set(out.map((p) => p.field));
  out.push(...routeRefProblems(spec).filter((p) => !told.has(p.field)));
  return out;
}

/** The judge's settings: a look interval the controller can keep, and no setting the chosen judge ignores. */
function judgeProblems(a: CanaryAnalysis, at: string): Problem[] {
  const judge = a.judge;
  if (judge === undefined) return [];
  const out: Problem[] = [];
  const field = `${at}.judge`;
  if (judge.lookInterval !== undefined) {
    const ms = tryParseDuration(judge.lookInterval);
    const interval = tryParseDuration(a.interval ?? DEFAULTS.analysisInterval) ?? 60_000;
    if (ms !== undefined && (ms < 1_000 || ms > interval)) {
      out.push({
        field: `${field}.lookInterval`,
        message: `${field}.lookInterval (${judge.lookInterval}) must be from 1s to the analysis interval (${a.interval ?? DEFAULTS.analysisInterval})`,
        fix: "set lookInterval between 1s and the interval, or remove it (default: interval / 5, at most 5s)",
      });
    }
  }
  if (judge.mode === "threshold") {
    const unused = (["falseAlarmRate", "falsePromotionRate", "lookInterval", "minRequests"] as const).filter(
      (k) => judge[k] !== undefined,
    );
    if (unused.length > 0)
      out.push({
        field: `${field}.${unused[0]}`,
        message: `${field}.${unused.join(", ")} ${unused.length > 1 ? "are" : "is"} used by the sequential judge only, and mode is threshold`,
        fix: `set ${field}.mode: sequential, or remove ${unused.join(", ")}`,
      });
  }
  return out;
}

function analysisProblems(a: CanaryAnalysis, at: string, spec: CanarySpec): Problem[] {
  const out: Problem[] = [];
  const add = (field: string, message: string, fix: string) => out.push({ field, message, fix });

  if (a.interval !== undefined) {
    const ms = tryParseDuration(a.interval);
    const min = tryParseDuration(DEFAULTS.minAnalysisInterval) ?? 10_000;
    if (ms !== undefined && ms < min) {
      add(
        `${at}.interval`,
        `${at}.interval (${a.interval}) is shorter than the ${DEFAULTS.minAnalysisInterval} minimum (Flagger silently uses ${DEFAULTS.minAnalysisInterval})`,
        `set interval: ${DEFAULTS.minAnalysisInterval} or longer`,
      );
    }
  }

  out.push(...judgeProblems(a, at));

  // Strategy: Flagger's CRD requires exactly one of iterations / stepWeight / stepWeights (oneOf).
  const hasSteps = (a.stepWeights?.length ?? 0) > 0;
  const chosen = [
    a.iterations !== undefined && "iterations",
    a.stepWeight !== undefined && "stepWeight",
    hasSteps && "stepWeights",
  ].filter((x): x is string => typeof x === "string");
  if (chosen.length === 0) {
    add(
      at,
      `${at} has no release strategy`,
      "set stepWeight (e.g. 10) or stepWeights for a canary release, or iterations (e.g. 10) for blue/green; add match to iterations for A/B testing",
    );
  } else if (chosen.length > 1) {
    add(
      `${at}.${chosen[1]}`,
      `${at}.${chosen[0]} and ${at}.${chosen[1]} are both set, but a release uses one of iterations (A/B testing, blue/green), stepWeight or stepWeights (canary)`,
      `remove ${chosen[1]} or ${chosen[0]}`,
    );
  }

  if (a.stepWeight !== undefined && a.maxWeight !== undefined && a.stepWeight > a.maxWeight) {
    add(
      `${at}.stepWeight`,
      `${at}.stepWeight (${a.stepWeight}) is larger than ${at}.maxWeight (${a.maxWeight})`,
      "set stepWeight <= maxWeight",
    );
  }
  if (a.stepWeights && hasSteps) {
    a.stepWeights.forEach((w, i) => {
      const prev = a.stepWeights?.[i - 1];
      if (prev !== undefined && w <= prev) {
        add(
          `${at}.stepWeights[${i}]`,
          `${at}.stepWeights[${i}] (${w}) is not larger than the step before it (${prev})`,
          "list the weights in strictly increasing order, e.g. [1, 5, 10, 25, 50]",
        );
      }
    });
    const last = a.stepWeights[a.stepWeights.length - 1];
    if (
      a.maxWeight !== undefined &&
      last !== undefined &&
      a.maxWeight !== last &&
      a.stepWeight === undefined
    ) {
      add(
        `${at}.maxWeight`,
        `${at}.maxWeight (${a.maxWeight}) is ignored with stepWeights: the last step (${last}) is the maximum weight`,
        `remove maxWeight, or end stepWeights at ${a.maxWeight}`,
      );
    }
  }
  const abTesting = a.iterations !== undefined && (a.match?.length ?? 0) > 0;
  if (a.mirror && abTesting) {
    add(
      `${at}.mirror`,
      `${at}.mirror works with blue/green (iterations) or as the first step of a canary release (stepWeight), not with A/B testing (match + iterations)`,
      "remove mirror, or remove match to run blue/green with mirroring",
    );
  }
  if (a.mirrorWeight !== undefined && a.mirrorWeight > 0 && !a.mirror) {
    add(
      `${at}.mirrorWeight`,
      `${at}.mirrorWeight (${a.mirrorWeight}) is set but ${at}.mirror is not true`,
      "set mirror: true, or remove mirrorWeight",
    );
  }
  if (a.sessionAffinity) {
    if (a.iterations !== undefined) {
      add(
        `${at}.sessionAffinity`,
        `${at}.sessionAffinity only applies to canary releases (stepWeight/stepWeights), not to iterations`,
        "remove sessionAffinity, or use stepWeight instead of iterations",
      );
    }
    if (a.sessionAffinity.primaryCookieName === a.sessionAffinity.cookieName) {
      add(
        `${at}.sessionAffinity.primaryCookieName`,
        `${at}.sessionAffinity.primaryCookieName equals cookieName (${a.sessionAffinity.cookieName})`,
        "give the primary cookie a different name",
      );
    }
  }

  const gateways = spec.service.gateways;
  (a.match ?? []).forEach((m, i) => {
    if (m.sourceLabels && gateways && gateways.length > 0 && !gateways.includes("mesh")) {
      add(
        `${at}.match[${i}].sourceLabels`,
        `${at}.match[${i}].sourceLabels only works for traffic inside the mesh, but spec.service.gateways (${show(gateways)}) has no "mesh"`,
        'add "mesh" to spec.service.gateways, or match on headers instead',
      );
    }
  });
  out.push(...matchListProblems(a.match, `${at}.match`));

  (a.metrics ?? []).forEach((m, i) => {
    const f = `${at}.metrics[${i}]`;
    const label = `${f} (${m.name})`;
    if (m.templateRef && m.query) {
      add(
        f,
        `${label} has both templateRef and query`,
        "keep templateRef and delete query (inline queries are deprecated)",
      );
    }
    if (!isBuiltinMetric(m.name) && !m.templateRef && !m.query) {
      add(
        `${f}.templateRef`,
        `${label} is not a built-in metric (request-success-rate, request-duration) and has no templateRef`,
        "add templateRef: {name: <MetricTemplate>} (or fix the metric name)",
      );
    }
    const r = m.thresholdRange;
    if (r === undefined && m.threshold === undefined) {
      const example =
        m.name === "request-success-rate"
          ? "{min: 99}"
          : m.name === "request-duration"
            ? "{max: 500}"
            : "{max: <value>}";
      add(`${f}.thresholdRange`, `${label} has no thresholdRange`, `add thresholdRange: ${example}`);
    }
    if (r && r.min === undefined && r.max === undefined) {
      add(
        `${f}.thresholdRange`,
        `${f}.thresholdRange has neither min nor max`,
        "set thresholdRange.min, thresholdRange.max or both",
      );
    }
    if (r?.min !== undefined && r.max !== undefined && r.min > r.max) {
      add(
        `${f}.thresholdRange`,
        `${f}.thresholdRange.min (${r.min}) is larger than max (${r.max}), so no value can pass`,
        "set min <= max",
      );
    }
    if (
      m.name === "request-success-rate" &&
      !m.templateRef &&
      !m.query &&
      r?.min !== undefined &&
      (r.min < 0 || r.min > 100)
    ) {
      add(
        `${f}.thresholdRange.min`,
        `${f}.thresholdRange.min (${r.min}) is not a percentage`,
        "set a success rate between 0 and 100, e.g. min: 99",
      );
    }
  });

  (a.webhooks ?? []).forEach((w, i) => {
    const f = `${at}.webhooks[${i}].url`;
    let url: URL | undefined;
    try {
      url = new URL(w.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) {
      add(
        f,
        `${f} (${show(w.url)}) is not an absolute http(s) URL`,
        "use a full URL such as http://flagger-loadtester.test/",
      );
    }
  });
  const names = new Map<string, number>();
  (a.webhooks ?? []).forEach((w, i) => {
    const first = names.get(w.name);
    if (first !== undefined) {
      add(
        `${at}.webhooks[${i}].name`,
        `${at}.webhooks[${i}].name (${w.name}) repeats webhooks[${first}].name`,
        "give each webhook a unique name (names key its results and events)",
      );
    } else names.set(w.name, i);
  });
  return out;
}

const STRING_MATCH_KEYS = ["exact", "prefix", "suffix", "regex"] as const;

function stringMatchProblems(sm: StringMatch, field: string): Problem[] {
  const set = STRING_MATCH_KEYS.filter((k) => sm[k] !== undefined);
  const out: Problem[] = [];
  // An empty match ({}) is allowed: for headers and query parameters Istio reads it as "is present".
  if (sm.suffix !== undefined) {
    // Flagger's types carry suffix for other routers; Istio's StringMatch has none and would drop it.
    out.push({
      field: `${field}.suffix`,
      message: `${field}.suffix is not supported: Istio matches exact, prefix or regex only`,
      fix: `use regex: ".*${sm.suffix.replace(/[\\^$.|?*+()[\]{}]/g, "\\$&")}"`,
    });
  } else if (set.length > 1) {
    out.push({
      field,
      message: `${field} sets ${set.join(" and ")}, but Istio takes one`,
      fix: "keep exactly one of exact, prefix or regex",
    });
  }
  if (sm.regex !== undefined) {
    const why = re2Problem(sm.regex);
    if (why)
      out.push({
        field: `${field}.regex`,
        message: `${field}.regex (${show(sm.regex)}) is not a valid RE2 expression: ${why}`,
        fix: "rewrite it without lookaround or backreferences (Envoy uses RE2)",
      });
  }
  return out;
}

function matchListProblems(matches: readonly HttpMatch[] | undefined, at: string): Problem[] {
  const out: Problem[] = [];
  (matches ?? []).forEach((m, i) => {
    for (const key of ["uri", "scheme", "method", "authority"] as const) {
      const sm = m[key];
      if (sm) out.push(...stringMatchProblems(sm, `${at}[${i}].${key}`));
    }
    for (const key of ["headers", "withoutHeaders", "queryParams"] as const) {
      for (const [name, sm] of Object.entries(m[key] ?? {})) {
        out.push(...stringMatchProblems(sm, `${at}[${i}].${key}.${name}`));
      }
    }
  });
  return out;
}

export type MetricTemplateValidation =
  | { ok: true; template: MetricTemplate }
  | { ok: false; problems: Problem[] };

export function validateMetricTemplate(obj: unknown): MetricTemplateValidation {
  const parsed = MetricTemplateSchema.safeParse(obj);
  const problems = kindProblems(obj, METRIC_TEMPLATE_KIND);
  if (!parsed.success)
    return {
      ok: false,
      problems: [...problems, ...problemsFromZod(parsed.error, obj, MetricTemplateSchema)],
    };
  const p = parsed.data.spec.provider;
  if (p.type !== "prometheus") {
    problems.push({
      field: "spec.provider.type",
      message: `spec.provider.type (${p.type}) is not supported: Serin queries Prometheus only`,
      fix: "set provider.type: prometheus",
    });
  }
  problems.push(...unsupportedMetricTemplateProblems(parsed.data.spec));
  if (p.address !== undefined && !isHttpUrl(p.address)) {
    problems.push({
      field: "spec.provider.address",
      message: `spec.provider.address (${show(p.address)}) is not an absolute http(s) URL`,
      fix: "use a URL such as http://prometheus.istio-system:9090",
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, template: parsed.data };
}

export type AlertProviderValidation =
  | { ok: true; provider: AlertProvider }
  | { ok: false; problems: Problem[] };

export function validateAlertProvider(obj: unknown): AlertProviderValidation {
  const parsed = AlertProviderSchema.safeParse(obj);
  const problems = kindProblems(obj, ALERT_PROVIDER_KIND);
  if (!parsed.success)
    return { ok: false, problems: [...problems, ...problemsFromZod(parsed.error, obj, AlertProviderSchema)] };
  const s = parsed.data.spec;
  if (s.address === undefined && s.secretRef === undefined) {
    problems.push({
      field: "spec.address",
      message: "spec has neither address nor secretRef",
      fix: "set spec.address to the webhook URL, or spec.secretRef to a Secret holding it under the key address",
    });
  }
  if (s.address !== undefined && !isHttpUrl(s.address)) {
    problems.push({
      field: "spec.address",
      message: `spec.address (${show(s.address)}) is not an absolute http(s) URL`,
      fix: "use the full incoming-webhook URL",
    });
  }
  if (s.proxy !== undefined && !isHttpUrl(s.proxy)) {
    problems.push({
      field: "spec.proxy",
      message: `spec.proxy (${show(s.proxy)}) is not an absolute http(s) URL`,
      fix: "use the proxy's URL, e.g. http://proxy.example:3128",
    });
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, provider: parsed.data };
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}
