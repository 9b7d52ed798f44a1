// Kubernetes object metadata and object references shared by Serin's kinds.
import { z } from "zod";

/**
 * ObjectMeta as far as Serin reads it. Loose: the apiserver owns metadata (managedFields,
 * creationTimestamp, ...), and the CRD leaves its schema to the apiserver (type: object only).
 */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  deletionTimestamp: z.string().optional(),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
        blockOwnerDeletion: z.boolean().optional(),
      }),
    )
    .optional(),
});

/** A reference to an object in the Canary's namespace (Flagger's LocalObjectReference). */
export function localRef<const K extends readonly [string, ...string[]]>(kinds: K, what: string) {
  return z.strictObject({
    apiVersion: z.string().describe(`API version of the ${what}`),
    kind: z.enum(kinds).describe(`kind of the ${what}`),
    name: z.string().min(1).describe(`name of the ${what}`),
  });
}

/** A {name, namespace?} reference; namespace defaults to the referring object's namespace. */
export const NamespacedNameRefSchema = z.strictObject({
  name: z.string().min(1),
  namespace: z.string().optional().describe("defaults to the namespace of the Canary"),
});

export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;
export type NamespacedNameRef = z.infer<typeof NamespacedNameRefSchema>;
