// The generated CRDs on a real kube-apiserver: Flagger manifests are accepted after changing only
// apiVersion and stored as written; structural schema errors name the field.
import { describe, expect, inject, it } from "vitest";
import { loadFlaggerFixtures } from "../fixtures/flagger/load.js";
import { Kubectl } from "../support/kube.js";

const k = new Kubectl(inject("kubeconfig"));

describe("Canary CRD on kube-apiserver", () => {
  const ns = k.createNamespace("api");
  const fixtures = loadFlaggerFixtures();

  it.each(fixtures.map((f) => [f.file, f] as const))(
    "accepts Flagger's %s with only apiVersion changed",
    (_file, fixture) => {
      const obj = { ...fixture.serin, metadata: { ...(fixture.serin.metadata as object), namespace: ns } };
      k.run(["create", "-f", "-"], JSON.stringify(obj));
      const plural =
        fixture.kind === "Canary"
          ? "canaries"
          : fixture.kind === "MetricTemplate"
            ? "metrictemplates"
            : "alertproviders";
      const name = (fixture.serin.metadata as { name: string }).name;
      const stored = k.json<{ spec: unknown }>(["get", `${plural}.serin.dev`, name, "-n", ns]);
      expect(stored.spec).toEqual(fixture.serin.spec);
      k.run(["delete", `${plural}.serin.dev`, name, "-n", ns]);
    },
  );

  function createError(analysis: Record<string, unknown>): string {
    const canary = {
      apiVersion: "serin.dev/v1beta1",
      kind: "Canary",
      metadata: { name: "bad", namespace: ns },
      spec: {
        targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "x" },
        service: { port: 80 },
        analysis,
      },
    };
    try {
      k.run(["create", "-f", "-"], JSON.stringify(canary));
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
    return "";
  }

  it("rejects a stepWeight above 100, naming the field", () => {
    expect(createError({ stepWeight: 150 })).toMatch(/spec\.analysis\.stepWeight.*100/);
  });

  it("rejects a misspelt field instead of silently dropping it", () => {
    expect(createError({ stepweight: 10 })).toContain('unknown field "spec.analysis.stepweight"');
  });

  it("shows Flagger's printer columns", () => {
    const fixture = fixtures.find((f) => f.kind === "Canary");
    k.run(
      ["create", "-f", "-"],
      JSON.stringify({ ...fixture?.serin, metadata: { name: "columns", namespace: ns } }),
    );
    const header = k.run(["get", "canaries", "-n", ns, "-o", "wide"]).split("\n")[0] ?? "";
    for (const column of [
      "STATUS",
      "WEIGHT",
      "FAILEDCHECKS",
      "INTERVAL",
      "MIRROR",
      "STEPWEIGHT",
      "STEPWEIGHTS",
      "MAXWEIGHT",
      "LASTTRANSITIONTIME",
    ]) {
      expect(header).toContain(column);
    }
  });
});
