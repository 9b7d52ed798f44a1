import type { CanaryEvent } from "../core/decision.js";
import type { Severity } from "./payloads.js";

/**
 * Which events become alerts, and how severe: the start and the end of a run, waits for approval,
 * halts and rollbacks. Every weight step would be noise in a chat channel, so those stay Events only.
 */
export function alertSeverity(event: CanaryEvent): Severity | undefined {
  if (event.reason === "RolledBack") return "error";
  if (event.type === "Warning") return "warn";
  if (event.reason === "Progressing" || event.reason === "Promoting") return undefined;
  return "info";
}
