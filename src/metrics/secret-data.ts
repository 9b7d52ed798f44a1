import type { V1Secret } from "@kubernetes/client-node";

/** A Secret's values as text: `data` is base64 on the wire; `stringData` (write-only) wins if present. */
export function decodeSecretData(secret: Pick<V1Secret, "data" | "stringData">): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(secret.data ?? {})) {
    out[key] = Buffer.from(value, "base64").toString("utf8");
  }
  for (const [key, value] of Object.entries(secret.stringData ?? {})) out[key] = value;
  return out;
}

/** Reads one Secret (decoded) by namespace and name; undefined when it does not exist. */
export type SecretReader = (
  namespace: string,
  name: string,
) => Promise<Readonly<Record<string, string>> | undefined>;
