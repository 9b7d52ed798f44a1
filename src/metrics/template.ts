// MetricTemplate queries use Flagger's Go-template variables: {{ namespace }}, {{ name }}, {{ target }},
// {{ service }}, {{ ingress }}, {{ interval }} and {{ variables.key }}. Only these forms exist in
// Flagger's docs, so a small exact renderer beats a template engine; anything else is an error.

export interface TemplateVariables {
  namespace: string;
  name: string;
  target: string;
  service: string;
  ingress: string;
  interval: string;
  variables: Record<string, string>;
}

export type Rendered = { ok: true; query: string } | { ok: false; error: string };

export function renderQuery(template: string, vars: TemplateVariables): Rendered {
  const unknown: string[] = [];
  const query = template.replace(/\{\{-?\s*\.?([A-Za-z_][\w.]*)\s*-?\}\}/g, (whole, path: string) => {
    if (path.startsWith("variables.")) {
      const key = path.slice("variables.".length);
      // own keys only: "constructor", "toString" or "__proto__" must not render Object.prototype members
      const value = Object.hasOwn(vars.variables, key) ? vars.variables[key] : undefined;
      if (typeof value !== "string") {
        unknown.push(whole);
        return whole;
      }
      return value;
    }
    const value = (vars as unknown as Record<string, unknown>)[path];
    if (typeof value !== "string") {
      unknown.push(whole);
      return whole;
    }
    return value;
  });
  if (unknown.length > 0) {
    return {
      ok: false,
      error: `template uses ${unknown.join(", ")}: known are namespace, name, target, service, ingress, interval and variables.<key> from templateVariables`,
    };
  }
  return { ok: true, query };
}
