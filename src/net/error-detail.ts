import { isAxiosError } from "axios";
import { redact } from "./redact.js";

/** The word every aborted outbound call reports, so callers and tests can tell it from a failure. */
export const ABORTED = "aborted";

/**
 * The short reason an HTTP call failed ("ECONNREFUSED", "ECONNABORTED", "aborted"), for status
 * conditions and logs. Redacted: an error message may quote the URL it was sent to. Only the code or
 * message is read — never the axios error's config, which holds the request's Authorization header.
 */
export function networkErrorDetail(err: unknown): string {
  if (isAxiosError(err)) {
    if (err.code === "ERR_CANCELED") return ABORTED;
    return redact(err.code ?? err.message);
  }
  if (err instanceof Error) return err.name === "AbortError" ? ABORTED : redact(err.message);
  return redact(String(err));
}
