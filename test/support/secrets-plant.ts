// Planted credentials for the credential e2e test: random values that cannot occur by chance, and a
// search that says where (which haystack, with some context) any of them turned up.
import { randomBytes } from "node:crypto";

export interface Planted {
  /** what it stands for, e.g. "MetricTemplate address password" */
  what: string;
  value: string;
}

export function plant(what: string, prefix = "planted"): Planted {
  return { what, value: `${prefix}-${randomBytes(9).toString("hex")}` };
}

export interface Finding {
  haystack: string;
  what: string;
  context: string;
}

/** Every occurrence of every planted value in every haystack (also URL-encoded and base64 forms). */
export function findPlanted(planted: readonly Planted[], haystacks: Record<string, string>): Finding[] {
  const out: Finding[] = [];
  for (const p of planted) {
    const forms = new Set([p.value, encodeURIComponent(p.value), Buffer.from(p.value).toString("base64")]);
    for (const [name, text] of Object.entries(haystacks)) {
      for (const form of forms) {
        let at = text.indexOf(form);
        while (at >= 0) {
          out.push({
            haystack: name,
            what: p.what,
            context: text.slice(Math.max(0, at - 120), at + form.length + 40).replace(/\s+/g, " "),
          });
          at = text.indexOf(form, at + form.length);
          if (out.length > 200) return out;
        }
      }
    }
  }
  return out;
}

/** "Basic <base64(user:pass)>" as a client would send it. */
export function basicAuth(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
}
