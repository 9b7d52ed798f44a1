// Names Serin derives from a Canary are checked before anything is created: a name Kubernetes rejects
// would otherwise fail with 422 on every attempt and leave the Canary without a status.
import { describe, expect, it } from "vitest";
import {
  dns1035LabelProblem,
  dns1123SubdomainProblem,
  ianaServiceNameProblem,
  labelValueProblem,
  qualifiedNameProblem,
} from "../../../src/api/names.js";
import { suggestDns1035 } from "../../../src/api/validate-names.js";
import { problemsOf } from "./helpers.js";

describe("Kubernetes name rules", () => {
  it("DNS-1035 labels (Service names)", () => {
    expect(dns1035LabelProblem("catalog-primary")).toBeUndefined();
    expect(dns1035LabelProblem("Catalog_Bad")).toContain("lowercase");
    expect(dns1035LabelProblem("1catalog")).toContain("start with a letter");
    expect(dns1035LabelProblem("a".repeat(64))).toContain("64 characters");
  });

  it("DNS-1123 subdomains, label values, keys, port names", () => {
    expect(dns1123SubdomainProblem("my.app-1")).toBeUndefined();
    expect(dns1123SubdomainProblem("My_App")).toBeDefined();
    expect(labelValueProblem("")).toBeUndefined();
    expect(labelValueProblem("v1.2_rc")).toBeUndefined();
    expect(labelValueProblem("-x")).toBeDefined();
    expect(qualifiedNameProblem("app.kubernetes.io/name")).toBeUndefined();
    expect(qualifiedNameProblem("Bad_Prefix/name")).toContain("prefix");
    expect(qualifiedNameProblem("bad key")).toBeDefined();
    expect(ianaServiceNameProblem("http-web")).toBeUndefined();
    expect(ianaServiceNameProblem("8080")).toContain("letter");
    expect(ianaServiceNameProblem("a-very-long-port-name")).toContain("15");
  });

  it("suggests a valid name", () => {
    expect(suggestDns1035("Catalog_Bad")).toBe("catalog-bad");
    expect(suggestDns1035(`9${"a".repeat(80)}`, 55)).toBe("a".repeat(55));
  });
});

describe("derived names in validateCanary", () => {
  it("service.name Kubernetes rejects (sat at Initializing with 422s)", () => {
    const p = problemsOf((c) => {
      c.spec.service.name = "Catalog_Bad";
    });
    expect(p).toHaveLength(1);
    expect(p[0]?.field).toBe("spec.service.name");
    expect(p[0]?.message).toContain("not a valid Service name");
    expect(p[0]?.fix).toBe("rename it, e.g. catalog-bad");
  });

  it("a 60-character target without service.name: its -primary Service would be 68 characters", () => {
    const name = "a".repeat(60);
    const p = problemsOf((c) => {
      delete c.spec.service.name;
      (c.spec.targetRef as Record<string, unknown>).name = name;
    });
    expect(p).toHaveLength(1);
    expect(p[0]?.field).toBe("spec.targetRef.name");
    expect(p[0]?.message).toContain(`${name}-primary would have 68 characters`);
    expect(p[0]?.fix).toContain("set spec.service.name to a name of at most 55 characters");
  });

  it("a service.name of 56 characters is one too many", () => {
    expect(problemsOf((c) => (c.spec.service.name = "s".repeat(55)))).toEqual([]);
    expect(problemsOf((c) => (c.spec.service.name = "s".repeat(56))).map((p) => p.field)).toEqual([
      "spec.service.name",
    ]);
  });

  it("target and autoscaler names whose -primary copy would be too long", () => {
    const p = problemsOf((c) => {
      (c.spec.targetRef as Record<string, unknown>).name = "t".repeat(250);
      c.spec.autoscalerRef = {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        name: "Bad_HPA",
      };
    });
    expect(p.map((x) => x.field).sort()).toEqual(["spec.autoscalerRef.name", "spec.targetRef.name"]);
  });

  it("port names the Service would refuse", () => {
    const p = problemsOf((c) => {
      c.spec.service.portName = "HTTP";
      c.spec.service.targetPort = "a-very-long-port-name";
    });
    expect(p.map((x) => x.field).sort()).toEqual(["spec.service.portName", "spec.service.targetPort"]);
  });

  it("labels and annotations copied to the generated Services", () => {
    const p = problemsOf((c) => {
      c.spec.service.primary = { labels: { "bad key": "x", tier: "-bad-" }, annotations: { "/x": "y" } };
    });
    expect(p).toHaveLength(3);
    for (const x of p) expect(x.field.startsWith("spec.service.primary.")).toBe(true);
  });

  it("unmanagedMetadata keys: valid, and not also set by the spec", () => {
    const p = problemsOf((c) => {
      c.spec.service.apex = { labels: { team: "a" } };
      c.spec.service.unmanagedMetadata = { labels: ["team", "ok"], annotations: ["bad key"] };
    });
    expect(p.map((x) => x.field).sort()).toEqual([
      "spec.service.unmanagedMetadata.annotations[0]",
      "spec.service.unmanagedMetadata.labels[0]",
    ]);
  });
});
