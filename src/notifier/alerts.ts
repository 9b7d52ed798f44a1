// Sends a Canary's alerts (spec.analysis.alerts) through its AlertProviders. Alerts are courtesy
// notifications: a chat service that is down is logged, and never slows or fails a reconcile.
import axios from "axios";
import type { Logger } from "pino";
import { AlertProviderSchema } from "../api/alert-provider.js";
import type { CanaryAlert } from "../api/canary.js";
import { readSecrets } from "../controller/secret-reader.js";
import type { KubeClients } from "../kube/client.js";
import { describeError } from "../kube/client.js";
import { type Alert, alertAddress, alertPayload, type Severity, severityMatches } from "./payloads.js";

export interface AlertContext {
  clients: KubeClients;
  findProvider(namespace: string, name: string): unknown;
  log: Logger;
}

async function resolveAddress(
  ctx: AlertContext,
  namespace: string,
  secretName: string,
): Promise<string | undefined> {
  const secret = (await readSecrets(ctx.clients, namespace, [secretName])).get(secretName);
  const encoded = secret?.data?.address;
  return encoded ? Buffer.from(encoded, "base64").toString("utf8").trim() : undefined;
}

export async function sendAlerts(
  ctx: AlertContext,
  canaryNamespace: string,
  alerts: readonly CanaryAlert[],
  alert: Alert,
): Promise<void> {
  await Promise.all(
    alerts.map(async (subscription) => {
      const wanted: Severity =
        subscription.severity === "" || subscription.severity === undefined ? "info" : subscription.severity;
      if (!severityMatches(wanted, alert.severity)) return;
      const namespace = subscription.providerRef.namespace ?? canaryNamespace;
      const parsed = AlertProviderSchema.safeParse(
        ctx.findProvider(namespace, subscription.providerRef.name),
      );
      if (!parsed.success) {
        ctx.log.warn(
          { alert: subscription.name, provider: `${namespace}/${subscription.providerRef.name}` },
          "AlertProvider not found or invalid; alert not sent",
        );
        return;
      }
      const provider = parsed.data.spec;
      try {
        const address =
          provider.address ??
          (provider.secretRef ? await resolveAddress(ctx, namespace, provider.secretRef.name) : undefined);
        if (!address) {
          ctx.log.warn(
            { alert: subscription.name },
            "AlertProvider has no address (spec.address or secretRef key address)",
          );
          return;
        }
        const body = alertPayload(provider.type, alert, {
          channel: provider.channel,
          username: provider.username,
        });
        const res = await axios.post(alertAddress(provider.type, address), body, {
          timeout: 5_000,
          validateStatus: () => true,
        });
        if (res.status >= 300)
          ctx.log.warn({ alert: subscription.name, status: res.status }, "alert rejected by the provider");
      } catch (err) {
        ctx.log.warn({ alert: subscription.name, err: describeError(err) }, "alert could not be sent");
      }
    }),
  );
}
