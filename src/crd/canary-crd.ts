// The Canary CRD, generated from the zod schema. Printer columns are Flagger's, so `kubectl get canary`
// looks the same after migrating (the -o wide columns are the priority 1 ones).
import { CanarySpecSchema, CanaryStatusSchema } from "../api/canary.js";
import { CANARY_KIND, CANARY_PLURAL, CANARY_SINGULAR } from "../api/constants.js";
import { buildCrd, type CustomResourceDefinition, type PrinterColumn } from "./crd.js";

export const CANARY_PRINTER_COLUMNS: PrinterColumn[] = [
  { name: "Status", type: "string", jsonPath: ".status.phase" },
  { name: "Weight", type: "string", jsonPath: ".status.canaryWeight" },
  { name: "Suspended", type: "boolean", jsonPath: ".spec.suspend", priority: 1 },
  { name: "FailedChecks", type: "string", jsonPath: ".status.failedChecks", priority: 1 },
  { name: "Interval", type: "string", jsonPath: ".spec.analysis.interval", priority: 1 },
  { name: "Mirror", type: "boolean", jsonPath: ".spec.analysis.mirror", priority: 1 },
  { name: "StepWeight", type: "string", jsonPath: ".spec.analysis.stepWeight", priority: 1 },
  { name: "StepWeights", type: "string", jsonPath: ".spec.analysis.stepWeights", priority: 1 },
  { name: "MaxWeight", type: "string", jsonPath: ".spec.analysis.maxWeight", priority: 1 },
  { name: "LastTransitionTime", type: "string", jsonPath: ".status.lastTransitionTime" },
  // Serin: what the revision under test served and how much of it failed (the harm count).
  { name: "Served", type: "integer", jsonPath: ".status.run.canary.requests", priority: 1 },
  { name: "Failed", type: "integer", jsonPath: ".status.run.canary.errors", priority: 1 },
];

export function canaryCrd(): CustomResourceDefinition {
  return buildCrd({
    kind: CANARY_KIND,
    plural: CANARY_PLURAL,
    singular: CANARY_SINGULAR,
    shortNames: [CANARY_SINGULAR],
    description:
      "Canary releases a Deployment progressively: traffic shifting, metric analysis, promotion or rollback.",
    spec: CanarySpecSchema,
    status: CanaryStatusSchema,
    printerColumns: CANARY_PRINTER_COLUMNS,
  });
}
