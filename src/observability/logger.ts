import { type Logger, pino } from "pino";

/** JSON logs on stdout, one line per event; level from --log-level / LOG_LEVEL. */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { component: "serin" }, timestamp: pino.stdTimeFunctions.isoTime });
}
