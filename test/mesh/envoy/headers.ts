// Envoy's header mutations (HeaderValueOption + headers_to_remove), applied per level in Envoy's order:
// weighted cluster, route, virtual host, route configuration; within a level, removals then additions.
import type { HeaderMutationsJson, HeaderValueOptionJson } from "./xds-json.js";

export type Headers = Record<string, string | string[]>;

export interface HeaderOps {
  remove: string[];
  add: Array<{ key: string; value: string; action: NonNullable<HeaderValueOptionJson["append_action"]> }>;
}

export const NO_OPS: HeaderOps = { remove: [], add: [] };

function compileOptions(list: HeaderValueOptionJson[] | undefined): HeaderOps["add"] {
  const out: HeaderOps["add"] = [];
  for (const o of list ?? []) {
    const key = o.header?.key?.toLowerCase();
    if (!key) continue;
    const raw = o.header?.raw_value;
    const value = o.header?.value ?? (raw ? Buffer.from(raw, "base64").toString("utf8") : "");
    if (value === "" && o.keep_empty_value !== true) continue;
    const action =
      o.append_action ??
      (o.append === undefined || o.append ? "APPEND_IF_EXISTS_OR_ADD" : "OVERWRITE_IF_EXISTS_OR_ADD");
    out.push({ key, value, action });
  }
  return out;
}

export function requestOps(m: HeaderMutationsJson | undefined): HeaderOps {
  if (!m) return NO_OPS;
  return {
    remove: (m.request_headers_to_remove ?? []).map((k) => k.toLowerCase()),
    add: compileOptions(m.request_headers_to_add),
  };
}

export function responseOps(m: HeaderMutationsJson | undefined): HeaderOps {
  if (!m) return NO_OPS;
  return {
    remove: (m.response_headers_to_remove ?? []).map((k) => k.toLowerCase()),
    add: compileOptions(m.response_headers_to_add),
  };
}

/** Apply one level in place. Pseudo-headers and `host` are never touched (Envoy refuses them). */
export function applyOps(headers: Headers, ops: HeaderOps): void {
  for (const k of ops.remove) {
    if (k.startsWith(":") || k === "host") continue;
    delete headers[k];
  }
  for (const { key, value, action } of ops.add) {
    if (key.startsWith(":") || key === "host") continue;
    const prev = headers[key];
    switch (action) {
      case "APPEND_IF_EXISTS_OR_ADD":
        if (prev === undefined) headers[key] = value;
        else if (Array.isArray(prev)) headers[key] = [...prev, value];
        else headers[key] = key === "set-cookie" ? [prev, value] : `${prev},${value}`;
        break;
      case "ADD_IF_ABSENT":
        if (prev === undefined) headers[key] = value;
        break;
      case "OVERWRITE_IF_EXISTS_OR_ADD":
        headers[key] = value;
        break;
      case "OVERWRITE_IF_EXISTS":
        if (prev !== undefined) headers[key] = value;
        break;
    }
  }
}

/** Levels from most to least specific (weighted cluster, route, vhost, route config). */
export function applyLevels(headers: Headers, levels: readonly HeaderOps[]): void {
  for (const l of levels) applyOps(headers, l);
}
