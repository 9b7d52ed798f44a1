// AlertProvider (serin.dev/v1beta1): where Canary spec.analysis.alerts[] send notifications.
// Mirrors Flagger's AlertProvider field for field.
import { z } from "zod";
import { ObjectMetaSchema } from "./meta.js";
import { StatusWithConditionsSchema } from "./metric-template.js";

export const ALERT_PROVIDER_TYPES = ["slack", "msteams", "discord", "rocket", "gchat"] as const;

export const AlertProviderSpecSchema = z.strictObject({
  type: z.enum(ALERT_PROVIDER_TYPES),
  channel: z.string().optional().describe("channel to post to (slack, rocket)"),
  username: z.string().optional().describe("bot user name"),
  address: z.string().optional().describe("incoming-webhook URL; or put it in secretRef (key: address)"),
  proxy: z.string().optional().describe("HTTP/S proxy URL"),
  secretRef: z
    .strictObject({ name: z.string().min(1) })
    .optional()
    .describe("Secret with the webhook URL under the key address"),
});

export const AlertProviderSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: ObjectMetaSchema,
  spec: AlertProviderSpecSchema,
  status: StatusWithConditionsSchema.optional(),
});

export type AlertProvider = z.infer<typeof AlertProviderSchema>;
export type AlertProviderSpec = z.infer<typeof AlertProviderSpecSchema>;
export type AlertProviderType = AlertProviderSpec["type"];
