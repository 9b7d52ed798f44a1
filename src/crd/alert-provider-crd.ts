// The AlertProvider CRD; printer column as in Flagger.
import { AlertProviderSpecSchema } from "../api/alert-provider.js";
import { ALERT_PROVIDER_KIND, ALERT_PROVIDER_PLURAL, ALERT_PROVIDER_SINGULAR } from "../api/constants.js";
import { StatusWithConditionsSchema } from "../api/metric-template.js";
import { buildCrd, type CustomResourceDefinition } from "./crd.js";

export function alertProviderCrd(): CustomResourceDefinition {
  return buildCrd({
    kind: ALERT_PROVIDER_KIND,
    plural: ALERT_PROVIDER_PLURAL,
    singular: ALERT_PROVIDER_SINGULAR,
    description: "AlertProvider is a chat destination (Slack, MS Teams, ...) for Canary alerts.",
    spec: AlertProviderSpecSchema,
    status: StatusWithConditionsSchema,
    printerColumns: [{ name: "Type", type: "string", jsonPath: ".spec.type" }],
  });
}
