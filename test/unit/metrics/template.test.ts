// MetricTemplate rendering with Flagger's variables; anything unknown is an error, never a silent blank.
import { describe, expect, it } from "vitest";
import { renderQuery, type TemplateVariables } from "../../../src/metrics/template.js";

const vars: TemplateVariables = {
  namespace: "test",
  name: "podinfo-canary-release",
  target: "podinfo",
  service: "podinfo-svc",
  ingress: "",
  interval: "1m",
  variables: { direction: "inbound", quantile: "0.95" },
};

/** Flagger docs, usage/metrics "Prometheus template example" (test/fixtures/flagger/metrictemplate-not-found-percentage.yaml). */
const NOT_FOUND = `100 - sum(
    rate(
        istio_requests_total{
          reporter="destination",
          destination_workload_namespace="{{ namespace }}",
          destination_workload="{{ target }}",
          response_code!="404"
        }[{{ interval }}]
    )
)
/
sum(
    rate(
        istio_requests_total{
          reporter="destination",
          destination_workload_namespace="{{ namespace }}",
          destination_workload="{{ target }}"
        }[{{ interval }}]
    )
) * 100`;

describe("renderQuery", () => {
  it("renders Flagger's documented template", () => {
    const r = renderQuery(NOT_FOUND, vars);
    expect(r).toEqual({
      ok: true,
      query: NOT_FOUND.replaceAll("{{ namespace }}", "test")
        .replaceAll("{{ target }}", "podinfo")
        .replaceAll("{{ interval }}", "1m"),
    });
    expect(r.ok && r.query).not.toContain("{{");
  });

  it("knows every Flagger variable: namespace, name, target, service, ingress, interval", () => {
    expect(
      renderQuery("{{namespace}}|{{ name }}|{{ target }}|{{ service }}|{{ ingress }}|{{ interval }}", vars),
    ).toEqual({
      ok: true,
      query: "test|podinfo-canary-release|podinfo|podinfo-svc||1m",
    });
  });

  it("substitutes templateVariables as {{ variables.key }}", () => {
    expect(
      renderQuery(
        'histogram_quantile({{ variables.quantile }}, x{direction="{{ variables.direction }}"})',
        vars,
      ),
    ).toEqual({ ok: true, query: 'histogram_quantile(0.95, x{direction="inbound"})' });
  });

  it("accepts Go-template spellings: a leading dot and whitespace trim markers", () => {
    expect(renderQuery("{{ .target }}/{{- namespace -}}/{{.variables.direction}}", vars)).toEqual({
      ok: true,
      query: "podinfo/test/inbound",
    });
  });

  it("leaves text without placeholders untouched", () => {
    expect(renderQuery('sum(rate(x{a="{b}"}[5m]))', vars)).toEqual({
      ok: true,
      query: 'sum(rate(x{a="{b}"}[5m]))',
    });
  });

  it("reports an unknown variable with the known ones", () => {
    const r = renderQuery('x{ns="{{ nmespace }}"}', vars);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.error).toBe(
      "template uses {{ nmespace }}: known are namespace, name, target, service, ingress, interval and variables.<key> from templateVariables",
    );
  });

  it("reports a templateVariables key the Canary does not set", () => {
    const r = renderQuery('x{d="{{ variables.dir }}"} + {{ variables.direction }}', vars);
    expect(r.ok).toBe(false);
    expect(r.ok ? "" : r.error).toMatch(/^template uses \{\{ variables\.dir \}\}:/);
  });

  it("reports every unknown placeholder at once", () => {
    const r = renderQuery("{{ a }} {{ variables.b }}", vars);
    expect(r.ok ? "" : r.error).toMatch(/^template uses \{\{ a \}\}, \{\{ variables\.b \}\}:/);
  });

  it("does not treat object internals as variables", () => {
    for (const t of [
      "{{ variables }}",
      "{{ constructor }}",
      "{{ toString }}",
      "{{ variables.constructor }}",
      "{{ variables.toString }}",
      "{{ variables.__proto__ }}",
    ]) {
      const r = renderQuery(`x{a="${t}"}`, vars);
      expect([t, r.ok]).toEqual([t, false]);
    }
  });
});
