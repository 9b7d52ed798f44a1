// JSON logs on stdout, one line per event. Logs are read by far more people than Secrets, so
// credentials are kept out three ways: known credential fields are censored by path, every string
// value and message goes through net/redact (URL userinfo, bearer/basic values, token=... params),
// and errors are serialized to their code and message only — an axios error's `config` carries the
// request's Authorization header and must never be written out.
import { isAxiosError } from "axios";
import { type Logger, pino } from "pino";
import { networkErrorDetail } from "../net/error-detail.js";
import { redact } from "../net/redact.js";

const CREDENTIAL_FIELDS = [
  "authorization",
  "Authorization",
  "proxy-authorization",
  "password",
  "token",
  "apiToken",
  "secret",
  "credentials",
];

/** Censored wherever they appear up to two levels deep, plus any headers' Authorization and error configs. */
export const REDACT_PATHS: readonly string[] = [
  ...CREDENTIAL_FIELDS.flatMap((f) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(f) ? f : `["${f}"]`;
    const dot = key.startsWith("[") ? "" : ".";
    return [key, `*${dot}${key}`, `*.*${dot}${key}`];
  }),
  "headers",
  "*.headers",
  "err.config",
  "error.config",
  "err.request",
  "error.request",
  "err.response",
  "error.response",
];

/** An error as a log field: type, code and redacted message (and stack), nothing else. */
export function serializeError(err: unknown): unknown {
  if (typeof err === "string") return redact(err);
  if (isAxiosError(err)) {
    return {
      type: "AxiosError",
      code: err.code,
      status: err.response?.status,
      message: networkErrorDetail(err),
    };
  }
  if (err instanceof Error) {
    return {
      type: err.name,
      message: redact(err.message),
      ...(err.stack ? { stack: redact(err.stack) } : {}),
    };
  }
  return err;
}

/** A copy of a log object with every string redacted; deep enough for Serin's log fields, cycle-safe. */
export function redactStrings(value: unknown, depth = 0, ancestors = new WeakSet<object>()): unknown {
  if (typeof value === "string") return redact(value);
  if (typeof value !== "object" || value === null || depth > 4) return value;
  if (value instanceof Error) return serializeError(value);
  // Only a value that contains itself is a cycle; the same object twice side by side is not.
  if (ancestors.has(value)) return "[Circular]";
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redactStrings(v, depth + 1, ancestors));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactStrings(v, depth + 1, ancestors);
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** JSON logs on stdout (or `destination`), one line per event; level from --log-level / LOG_LEVEL. */
export function createLogger(
  level = process.env.LOG_LEVEL ?? "info",
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { component: "serin" },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: [...REDACT_PATHS], censor: "***" },
    serializers: { err: serializeError, error: serializeError },
    formatters: { log: (object) => redactStrings(object) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        const redacted = args.map((a) => (typeof a === "string" ? redact(a) : a)) as Parameters<
          typeof method
        >;
        method.apply(this, redacted);
      },
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
