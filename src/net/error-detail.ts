import { isAxiosError } from "axios";

/** The short reason an HTTP call failed ("ECONNREFUSED", "ECONNABORTED"), for status conditions and logs. */
export function networkErrorDetail(err: unknown): string {
  if (isAxiosError(err)) return err.code ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
