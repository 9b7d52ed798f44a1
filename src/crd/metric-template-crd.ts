// The MetricTemplate CRD; printer column as in Flagger.
import { METRIC_TEMPLATE_KIND, METRIC_TEMPLATE_PLURAL, METRIC_TEMPLATE_SINGULAR } from "../api/constants.js";
import { MetricTemplateSpecSchema, StatusWithConditionsSchema } from "../api/metric-template.js";
import { buildCrd, type CustomResourceDefinition } from "./crd.js";

export function metricTemplateCrd(): CustomResourceDefinition {
  return buildCrd({
    kind: METRIC_TEMPLATE_KIND,
    plural: METRIC_TEMPLATE_PLURAL,
    singular: METRIC_TEMPLATE_SINGULAR,
    description: "MetricTemplate is a reusable metric query for Canary analysis.",
    spec: MetricTemplateSpecSchema,
    status: StatusWithConditionsSchema,
    printerColumns: [{ name: "Provider", type: "string", jsonPath: ".spec.provider.type" }],
  });
}
