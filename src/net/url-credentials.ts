// Prometheus URLs often carry basic-auth credentials (http://user:pass@prometheus:9090). They are
// taken out of the URL once, sent as an Authorization header, and the URL kept without them, so no
// error message, log line or cache key built from the address can contain them.

export interface SplitAddress {
  /** the address without userinfo; unchanged when it is not a parsable URL */
  address: string;
  /** "Basic ..." from the userinfo, when there was one */
  authorization?: string;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

export function splitUserinfo(address: string): SplitAddress {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return { address };
  }
  if (url.username === "" && url.password === "") return { address };
  const username = decodeUserinfo(url.username);
  const password = decodeUserinfo(url.password);
  url.username = "";
  url.password = "";
  let stripped = url.toString();
  // URL adds "/" to a bare origin; keep the address looking as the user wrote it.
  if (!address.endsWith("/") && url.pathname === "/" && stripped.endsWith("/"))
    stripped = stripped.slice(0, -1);
  return { address: stripped, authorization: basicAuthorization(username, password) };
}

/** Userinfo is percent-encoded in a URL ("p%40ss" is "p@ss"); a malformed escape is taken as written. */
export function decodeUserinfo(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
