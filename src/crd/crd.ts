// Builds apiextensions.k8s.io/v1 CustomResourceDefinition objects (plain wire-format JSON) for Serin's kinds.
import type { z } from "zod";
import { GROUP, VERSION } from "../api/constants.js";
import { type SchemaNode, toStructuralSchema } from "./openapi.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  priority?: number;
  description?: string;
}

/** The wire shape of a CRD, as written to crds/*.yaml and sent to the apiserver. */
export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: "Namespaced" | "Cluster";
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: Record<string, never> };
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: SchemaNode };
    }>;
  };
}

export interface CrdDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
}

export function buildCrd(d: CrdDefinition): CustomResourceDefinition {
  const names: CustomResourceDefinition["spec"]["names"] = {
    kind: d.kind,
    listKind: `${d.kind}List`,
    plural: d.plural,
    singular: d.singular,
  };
  if (d.shortNames) names.shortNames = d.shortNames;
  // Like Flagger: `kubectl get all` lists these objects too.
  names.categories = ["all"];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${d.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names,
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: d.printerColumns,
          schema: {
            openAPIV3Schema: {
              description: d.description,
              type: "object",
              // The top level is closed; metadata is validated by the apiserver itself.
              properties: {
                apiVersion: { type: "string", description: "APIVersion of this object: serin.dev/v1beta1" },
                kind: { type: "string", description: `Kind of this object: ${d.kind}` },
                metadata: { type: "object" },
                spec: toStructuralSchema(d.spec),
                status: toStructuralSchema(d.status),
              },
              required: ["spec"],
            },
          },
        },
      ],
    },
  };
}
