// Credentials never leave Serin in a message: error strings end up in a Canary's conditions, its
// Events and the logs, all readable by far more people than the Secrets they came from. `redact` is
// applied to every string built from a URL, an HTTP error or a remote answer before it is returned.

const MASK = "***";

/** scheme://user:pass@host -> scheme://***@host. Greedy to the last "@" of the authority, so a raw "@" in a password is covered. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>@]*(?:@[^\s/?#"'<>@]*)*@/gi;

/** Header-style credentials: `Authorization: Bearer x`, `"authorization":"Basic x"`, `X-Api-Key=x`. */
const HEADER_VALUE =
  /\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|private-token)(["']?\s*[:=]\s*["']?)(?:(bearer|basic|digest|token|negotiate|apikey)\s+)?[^\s"',;}&]+/gi;

const SECRET_NAMES =
  "access_token|refresh_token|id_token|auth_token|private_token|token|api_key|apikey|api-key|password|passwd|pwd|client_secret|secret|signature|sig|key";

/** Query/form style: `?token=x`, `&password=x`, ` apikey='x'`. */
const ASSIGNED = new RegExp(
  `(^|[^A-Za-z0-9_-])(${SECRET_NAMES})(\\s*=\\s*)("[^"]*"|'[^']*'|[^&\\s#"',;]*)`,
  "gi",
);

/** YAML/prose style with an unquoted value, for names that cannot be ordinary words: `password: x`. */
const COLON_NAMES = "password|passwd|client_secret|api_key|apikey|access_token|refresh_token|private_token";
const COLON = new RegExp(`(^|[^A-Za-z0-9_-])(${COLON_NAMES})(\\s*:\\s*)(?!["'])[^\\s,;}&]+`, "gi");

/** JSON/YAML style with a quoted value: `"password": "x"`, `'token':'x'`. */
const QUOTED = new RegExp(`(["'])(${SECRET_NAMES})\\1(\\s*:\\s*)(["'])(?:\\\\.|(?!\\4).)*\\4`, "gi");

const BEARER = /\b(bearer)\s+([A-Za-z0-9\-._~+/]+=*)/gi;
const BASIC = /\b(basic)\s+([A-Za-z0-9+/]{4,}={0,2})/gi;

/** A bearer token looks like one (digits, dots, long): "Bearer token required" stays readable. */
function looksLikeToken(text: string): boolean {
  return /[0-9._~+/=-]/.test(text) || text.length >= 20;
}

/** A Basic credential is base64 of "user:password". */
function isBasicCredential(text: string): boolean {
  return Buffer.from(text, "base64").toString("utf8").includes(":");
}

/** The text with URL userinfo, Authorization values, bearer/basic credentials and secret parameters masked. */
export function redact(text: string): string {
  return text
    .replace(USERINFO, `$1${MASK}@`)
    .replace(HEADER_VALUE, (_whole, name: string, sep: string, scheme: string | undefined) =>
      scheme ? `${name}${sep}${scheme} ${MASK}` : `${name}${sep}${MASK}`,
    )
    .replace(
      QUOTED,
      (_whole, q: string, name: string, sep: string, vq: string) => `${q}${name}${q}${sep}${vq}${MASK}${vq}`,
    )
    .replace(ASSIGNED, (_whole, before: string, name: string, sep: string, value: string) => {
      const quote = value.startsWith('"') || value.startsWith("'") ? value[0] : "";
      return `${before}${name}${sep}${quote}${MASK}${quote}`;
    })
    .replace(COLON, (_whole, before: string, name: string, sep: string) => `${before}${name}${sep}${MASK}`)
    .replace(BEARER, (whole, scheme: string, token: string) =>
      token === MASK || !looksLikeToken(token) ? whole : `${scheme} ${MASK}`,
    )
    .replace(BASIC, (whole, scheme: string, token: string) =>
      isBasicCredential(token) ? `${scheme} ${MASK}` : whole,
    );
}

/**
 * Where a request went, safe to print: scheme, host and port only. For alert providers the path is
 * itself the secret (Slack's /services/T/B/XXXX, Discord's /webhooks/ID/TOKEN), so it is dropped too.
 */
export function urlOrigin(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return "(invalid URL)";
  }
}
