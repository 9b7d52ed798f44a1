// Alert messages in each chat service's incoming-webhook format, as Flagger's notifier sends them.
import type { AlertProviderType } from "../api/alert-provider.js";

export type Severity = "info" | "warn" | "error";

export interface Alert {
  /** "catalog-release.shop" */
  subject: string;
  message: string;
  severity: Severity;
  /** extra facts shown with the message, e.g. the target and the phase */
  fields: Record<string, string>;
}

const COLOR: Record<Severity, string> = { info: "#2eb886", warn: "#ffae42", error: "#d63232" };

/** An alert of `severity` goes to a subscription of `wanted` severity: info gets all, warn gets warn+error. */
export function severityMatches(wanted: Severity, severity: Severity): boolean {
  const rank = { info: 0, warn: 1, error: 2 };
  return rank[severity] >= rank[wanted];
}

export function alertPayload(
  type: AlertProviderType,
  alert: Alert,
  opts: { channel?: string; username?: string } = {},
): Record<string, unknown> {
  const facts = Object.entries(alert.fields);
  switch (type) {
    case "slack":
    case "rocket":
    case "discord":
      return {
        ...(opts.channel ? { channel: opts.channel } : {}),
        username: opts.username ?? "serin",
        attachments: [
          {
            color: COLOR[alert.severity],
            author_name: alert.subject,
            text: alert.message,
            fields: facts.map(([title, value]) => ({ title, value, short: true })),
            mrkdwn_in: ["text"],
          },
        ],
      };
    case "msteams":
      return {
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        themeColor: COLOR[alert.severity].slice(1),
        summary: alert.subject,
        sections: [
          {
            activityTitle: alert.subject,
            activitySubtitle: alert.message,
            facts: facts.map(([name, value]) => ({ name, value })),
          },
        ],
      };
    case "gchat":
      return {
        text: `*${alert.subject}*\n${alert.message}${facts.map(([k, v]) => `\n${k}: ${v}`).join("")}`,
      };
  }
}

/** Discord takes Slack's format on its `/slack` endpoint (Flagger appends it the same way). */
export function alertAddress(type: AlertProviderType, address: string): string {
  return type === "discord" && !address.endsWith("/slack") ? `${address.replace(/\/+$/, "")}/slack` : address;
}
