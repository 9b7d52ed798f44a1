// Sends a Canary's alerts (spec.analysis.alerts) through its AlertProviders. Alerts are courtesy
// notifications: a chat service that is down is logged, and never slows or fails a reconcile. Each
// alert has a short fixed deadline (Secret read and POST together) and stops when the caller aborts.
// The provider address is a credential (Slack's and Discord's URLs embed their token), so only its
// scheme and host are ever logged.
import axios from "axios";
import type { Logger } from "pino";
import { AlertProviderSchema } from "../api/alert-provider.js";
import type { CanaryAlert } from "../api/canary.js";
import { readSecrets } from "../controller/secret-reader.js";
import type { KubeClients } from "../kube/client.js";
import { describeError } from "../kube/client.js";
import type { SecretReader } from "../metrics/secret-data.js";
import { decodeSecretData } from "../metrics/secret-data.js";
import { agentsFor } from "../net/agents.js";
import { startDeadline, untilAborted } from "../net/deadline.js";
import { ABORTED, networkErrorDetail } from "../net/error-detail.js";
import { proxyRoute } from "../net/proxy.js";
import { redact, urlOrigin } from "../net/redact.js";
import { type Alert, alertAddress, alertPayload, type Severity, severityMatches } from "./payloads.js";

/** The most one alert may take, Secret read included: a notification, not worth holding anything for. */
export const ALERT_DEADLINE_MS = 10_000;
/** Chat services answer with "ok" or a short JSON. */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface AlertContext {
  /** for reading `secretRef` Secrets when no readSecret is given */
  clients?: KubeClients;
  /** reads a Secret decoded; defaults to a GET through `clients` */
  readSecret?: SecretReader;
  findProvider(namespace: string, name: string): unknown;
  log: Logger;
}

export interface AlertSendOptions {
  /** stops every send of this call (shutdown); outcomes then say "aborted" */
  signal?: AbortSignal;
  /** the per-alert deadline; ALERT_DEADLINE_MS unless a caller (or a test) wants less */
  deadlineMs?: number;
}

/** What happened to one subscription's alert; `message` is safe to print (no address, no credentials). */
export interface AlertOutcome {
  alert: string;
  provider: string;
  sent: boolean;
  message: string;
}

async function readSecretData(
  ctx: AlertContext,
  namespace: string,
  name: string,
): Promise<Readonly<Record<string, string>> | undefined> {
  if (ctx.readSecret) return ctx.readSecret(namespace, name);
  if (!ctx.clients) throw new Error("no Kubernetes client to read the Secret with");
  const secret = (await readSecrets(ctx.clients, namespace, [name])).get(name);
  return secret ? decodeSecretData(secret) : undefined;
}

type Step<T> = { ok: true; value: T } | { ok: false; message: string };

async function resolveAddress(
  ctx: AlertContext,
  namespace: string,
  spec: { address?: string; secretRef?: { name: string } },
): Promise<Step<string>> {
  if (spec.address) return { ok: true, value: spec.address };
  if (!spec.secretRef)
    return { ok: false, message: "AlertProvider has no address (spec.address or secretRef)" };
  const where = `Secret ${spec.secretRef.name} (namespace ${namespace})`;
  let data: Readonly<Record<string, string>> | undefined;
  try {
    data = await readSecretData(ctx, namespace, spec.secretRef.name);
  } catch (err) {
    return { ok: false, message: `cannot read ${where}: ${redact(describeError(err))}` };
  }
  if (data === undefined) return { ok: false, message: `${where} not found` };
  const address = data.address?.trim();
  return address ? { ok: true, value: address } : { ok: false, message: `${where} has no key "address"` };
}

async function post(
  type: Parameters<typeof alertPayload>[0],
  address: string,
  body: unknown,
  proxy: string | undefined,
  signal: AbortSignal,
): Promise<Step<number>> {
  const url = alertAddress(type, address);
  const route = proxy ? proxyRoute(proxy, url, {}, signal) : undefined;
  if (route && !route.ok) return { ok: false, message: route.error };
  try {
    const res = await axios.post(url, body, {
      signal,
      timeout: 0,
      validateStatus: () => true,
      maxContentLength: MAX_ANSWER_BYTES,
      ...agentsFor(false),
      ...(route?.ok
        ? { proxy: route.proxy, ...(route.httpsAgent ? { httpsAgent: route.httpsAgent } : {}) }
        : {}),
    });
    return res.status >= 300
      ? { ok: false, message: `rejected by ${urlOrigin(url)}: HTTP ${res.status}` }
      : { ok: true, value: res.status };
  } catch (err) {
    return { ok: false, message: `could not reach ${urlOrigin(url)}: ${networkErrorDetail(err)}` };
  } finally {
    if (route?.ok) route.httpsAgent?.destroy();
  }
}

async function sendOne(
  ctx: AlertContext,
  canaryNamespace: string,
  subscription: CanaryAlert,
  alert: Alert,
  options: AlertSendOptions,
): Promise<AlertOutcome | undefined> {
  const wanted: Severity =
    subscription.severity === "" || subscription.severity === undefined ? "info" : subscription.severity;
  if (!severityMatches(wanted, alert.severity)) return undefined;
  const namespace = subscription.providerRef.namespace ?? canaryNamespace;
  const provider = `${namespace}/${subscription.providerRef.name}`;
  const outcome = (sent: boolean, message: string): AlertOutcome => ({
    alert: subscription.name,
    provider,
    sent,
    message,
  });
  const parsed = AlertProviderSchema.safeParse(ctx.findProvider(namespace, subscription.providerRef.name));
  if (!parsed.success) return outcome(false, "AlertProvider not found or invalid; alert not sent");
  const spec = parsed.data.spec;
  const deadlineMs = options.deadlineMs ?? ALERT_DEADLINE_MS;
  const deadline = startDeadline(deadlineMs, options.signal);
  const stopped = () => outcome(false, deadline.expired() ? `not sent within ${deadlineMs} ms` : ABORTED);
  try {
    // The Secret read cannot be cancelled, but the alert stops waiting for it at the deadline.
    const address = await untilAborted(
      resolveAddress(ctx, namespace, spec),
      deadline.signal,
      () => undefined,
    );
    if (address === undefined) return stopped();
    if (!address.ok) return outcome(false, address.message);
    const body = alertPayload(spec.type, alert, { channel: spec.channel, username: spec.username });
    const sent = await post(spec.type, address.value, body, spec.proxy, deadline.signal);
    if (deadline.signal.aborted && !sent.ok) return stopped();
    return sent.ok ? outcome(true, `HTTP ${sent.value}`) : outcome(false, sent.message);
  } catch (err) {
    return outcome(false, redact(describeError(err)));
  } finally {
    deadline.dispose();
  }
}

/** Sends `alert` to every subscription whose severity wants it; never rejects. Failures are logged. */
export async function sendAlerts(
  ctx: AlertContext,
  canaryNamespace: string,
  alerts: readonly CanaryAlert[],
  alert: Alert,
  options: AlertSendOptions = {},
): Promise<AlertOutcome[]> {
  const outcomes = await Promise.all(
    alerts.map((subscription) =>
      sendOne(ctx, canaryNamespace, subscription, alert, options).catch(
        (err: unknown): AlertOutcome => ({
          alert: subscription.name,
          provider: subscription.providerRef.name,
          sent: false,
          message: redact(describeError(err)),
        }),
      ),
    ),
  );
  const done = outcomes.filter((o): o is AlertOutcome => o !== undefined);
  for (const o of done) {
    if (!o.sent) ctx.log.warn({ alert: o.alert, provider: o.provider, reason: o.message }, "alert not sent");
  }
  return done;
}
