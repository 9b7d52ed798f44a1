import type { V1Secret } from "@kubernetes/client-node";
import { isNotFound, type KubeClients } from "../kube/client.js";

/** Secrets read on demand (GET, never list/watch), so Serin's RBAC and memory stay small. */
export type SecretSnapshot = ReadonlyMap<string, V1Secret | undefined>;

export async function readSecrets(
  clients: KubeClients,
  namespace: string,
  names: readonly string[],
): Promise<SecretSnapshot> {
  const out = new Map<string, V1Secret | undefined>();
  await Promise.all(
    [...new Set(names)].map(async (name) => {
      try {
        out.set(
          name,
          await clients.rest.send<V1Secret>("GET", { apiVersion: "v1", plural: "secrets", namespace, name }),
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
        out.set(name, undefined);
      }
    }),
  );
  return out;
}
