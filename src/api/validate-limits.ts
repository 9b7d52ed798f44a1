// The upper bounds of limits.ts applied to a parsed spec: durations are strings the CRD can only check
// for shape, so their maximum is checked here, with the field, the value and the largest allowed one.
import type { CanaryAnalysis, CanarySpec } from "./canary.js";
import { DEFAULTS } from "./defaults.js";
import { formatDuration, tryParseDuration } from "./duration.js";
import { DURATION_LIMITS } from "./limits.js";
import { type Problem, show } from "./problems.js";

const ms = (text: string): number => tryParseDuration(text) ?? Number.POSITIVE_INFINITY;

/**
 * A problem when `text` (already shaped like a Go duration) is unreadable, longer than `max`, or zero
 * where zero means "never" (`positive`: a 0s webhook timeout is no timeout at all, a 0s metric window
 * is not a PromQL range).
 */
function durationCap(
  field: string,
  text: string | undefined,
  max: string,
  positive = false,
): Problem | undefined {
  if (text === undefined) return undefined;
  const leaf = field.slice(field.lastIndexOf(".") + 1);
  const value = tryParseDuration(text);
  if (value === undefined) {
    return {
      field,
      message: `${field} (${show(text)}) is too large to be a duration`,
      fix: `set ${leaf} to ${max} or less`,
    };
  }
  if (positive && value === 0) {
    return {
      field,
      message: `${field} (${show(text)}) must be longer than 0s`,
      fix: `set ${leaf} to a positive duration such as "30s"`,
    };
  }
  if (value <= ms(max)) return undefined;
  return {
    field,
    message: `${field} (${show(text)}) is longer than the ${max} maximum`,
    fix: `set ${leaf} to ${max} or less`,
  };
}

/** Every duration of the analysis and the service against its cap. */
export function durationLimitProblems(
  spec: CanarySpec,
  a: CanaryAnalysis | undefined,
  at: string,
): Problem[] {
  const out: Array<Problem | undefined> = [];
  out.push(durationCap("spec.service.timeout", spec.service.timeout, DURATION_LIMITS.serviceTimeout));
  if (a === undefined) return out.filter((p): p is Problem => p !== undefined);
  out.push(durationCap(`${at}.interval`, a.interval, DURATION_LIMITS.analysisInterval));
  (a.metrics ?? []).forEach((m, i) => {
    out.push(durationCap(`${at}.metrics[${i}].interval`, m.interval, DURATION_LIMITS.metricInterval, true));
  });
  (a.webhooks ?? []).forEach((w, i) => {
    const f = `${at}.webhooks[${i}]`;
    const capped = durationCap(`${f}.timeout`, w.timeout, DURATION_LIMITS.webhookTimeout, true);
    out.push(capped);
    if (capped !== undefined) return;
    // One hook call holds a worker for its timeout on every attempt (plus short backoffs between).
    const attempts = (w.retries ?? 0) + 1;
    const timeout = w.timeout ?? DEFAULTS.webhookTimeout;
    const total = ms(timeout) * attempts;
    if (attempts > 1 && total > ms(DURATION_LIMITS.webhookTotal)) {
      out.push({
        field: `${f}.retries`,
        message: `${f}.retries (${w.retries}) with timeout ${timeout} lets one call of ${w.name} take ${formatDuration(total)} (${attempts} attempts), more than the ${DURATION_LIMITS.webhookTotal} allowed`,
        fix: `lower retries or timeout so that timeout x (retries + 1) <= ${DURATION_LIMITS.webhookTotal}`,
      });
    }
  });
  return out.filter((p): p is Problem => p !== undefined);
}
