import { describe, expect, it } from "vitest";
import { alertSeverity } from "../../../src/notifier/alert-policy.js";
import { alertAddress, alertPayload, severityMatches } from "../../../src/notifier/payloads.js";

const alert = {
  subject: "catalog-release.shop",
  message: "Rolling back catalog-release.shop: request-success-rate 80.73% < 99% (failed checks 5/5)",
  severity: "error" as const,
  fields: { Target: "Deployment/catalog" },
};

describe("alerts", () => {
  it("alerts on the start and end of a run, halts and rollbacks, not on every weight step", () => {
    expect(alertSeverity({ type: "Warning", reason: "RolledBack", message: "" })).toBe("error");
    expect(alertSeverity({ type: "Warning", reason: "Halted", message: "" })).toBe("warn");
    expect(alertSeverity({ type: "Normal", reason: "Synced", message: "New revision detected!" })).toBe(
      "info",
    );
    expect(alertSeverity({ type: "Normal", reason: "Succeeded", message: "" })).toBe("info");
    expect(
      alertSeverity({ type: "Normal", reason: "Progressing", message: "Advance ... weight 20" }),
    ).toBeUndefined();
  });

  it("filters by the subscription's severity: info gets everything, error only errors", () => {
    expect(severityMatches("info", "warn")).toBe(true);
    expect(severityMatches("warn", "info")).toBe(false);
    expect(severityMatches("warn", "error")).toBe(true);
    expect(severityMatches("error", "warn")).toBe(false);
  });

  it("speaks Slack's incoming-webhook format (also for Rocket.Chat and Discord's /slack endpoint)", () => {
    const body = alertPayload("slack", alert, { channel: "#releases", username: "serin" }) as {
      channel: string;
      attachments: Array<{ color: string; author_name: string; text: string; fields: unknown[] }>;
    };
    expect(body.channel).toBe("#releases");
    expect(body.attachments[0]).toMatchObject({
      author_name: "catalog-release.shop",
      text: alert.message,
      color: "#d63232",
    });
    expect(body.attachments[0]?.fields).toEqual([
      { title: "Target", value: "Deployment/catalog", short: true },
    ]);
    expect(alertAddress("discord", "https://discord.example/api/webhooks/1/x")).toBe(
      "https://discord.example/api/webhooks/1/x/slack",
    );
    expect(alertAddress("slack", "https://hooks.example/T/B/x")).toBe("https://hooks.example/T/B/x");
  });

  it("speaks Microsoft Teams' MessageCard and Google Chat's text formats", () => {
    expect(alertPayload("msteams", alert)).toMatchObject({
      "@type": "MessageCard",
      summary: "catalog-release.shop",
      sections: [
        { activitySubtitle: alert.message, facts: [{ name: "Target", value: "Deployment/catalog" }] },
      ],
    });
    expect((alertPayload("gchat", alert) as { text: string }).text).toContain(alert.message);
  });
});
