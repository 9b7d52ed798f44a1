import { describe, expect, it } from "vitest";
import { formatProblems, type Problem, validateCanary } from "../../../src/api/validate.js";
import { catalogCanary } from "./helpers.js";

type Canary = ReturnType<typeof catalogCanary>;

/** Validates a variant of the catalog canary and returns its problems (fails if it validates). */
function problemsOf(edit: (c: Canary) => void): Problem[] {
  const c = catalogCanary();
  edit(c);
  const r = validateCanary(c);
  if (r.ok) return expect.fail("expected validation problems");
  for (const p of r.problems) {
    // Every problem names its field in the message and says what to do.
    expect(p.message).toContain(p.field.split(".").slice(0, 2).join("."));
    expect(p.fix.length).toBeGreaterThan(5);
  }
  return r.problems;
}

/** The single problem of a variant. */
function problemOf(edit: (c: Canary) => void): Problem {
  const problems = problemsOf(edit);
  expect(problems, formatProblems(problems)).toHaveLength(1);
  return problems[0] as Problem;
}

describe("validateCanary", () => {
  it("accepts the reference scenario and returns the effective spec", () => {
    const r = validateCanary(catalogCanary());
    if (!r.ok) return expect.fail(formatProblems(r.problems));
    expect(r.canary.spec.analysis?.interval).toBe("45s");
    expect(r.spec.analysis.intervalMs).toBe(45_000);
    expect(r.spec.analysis.strategy).toBe("canary");
  });

  it("rejects what is not an object", () => {
    const r = validateCanary("hello");
    expect(r.ok).toBe(false);
  });

  describe("structure (from the schema)", () => {
    it("missing required field", () => {
      const p = problemOf((c) => {
        delete c.spec.service.port;
      });
      expect(p.field).toBe("spec.service.port");
      expect(p.message).toBe("spec.service.port is required");
      expect(p.fix).toContain("add port");
    });

    it("quoted number", () => {
      const p = problemOf((c) => {
        c.spec.progressDeadlineSeconds = "60";
      });
      expect(p.field).toBe("spec.progressDeadlineSeconds");
      expect(p.fix).toContain("without quotes");
    });

    it("fractional weight", () => {
      const p = problemOf((c) => {
        c.spec.analysis.stepWeight = 2.5;
      });
      expect(p.field).toBe("spec.analysis.stepWeight");
      expect(p.fix).toContain("whole number");
    });

    it("misspelt field gets a suggestion", () => {
      const p = problemOf((c) => {
        c.spec.analysis.stepweight = 10;
        delete c.spec.analysis.stepWeight;
      });
      expect(p.field).toBe("spec.analysis.stepweight");
      expect(p.fix).toBe("rename it to stepWeight (field names are case-sensitive)");
    });

    it("bad duration names the field and shows examples", () => {
      const p = problemOf((c) => {
        c.spec.analysis.interval = "45";
      });
      expect(p.field).toBe("spec.analysis.interval");
      expect(p.message).toContain('did you mean "45s"');
      expect(p.fix).toContain('"30s"');
    });

    it("maxWeight outside 1..100", () => {
      const p = problemOf((c) => {
        c.spec.analysis.maxWeight = 150;
      });
      expect(p.field).toBe("spec.analysis.maxWeight");
      expect(p.fix).toBe("set maxWeight <= 100");
    });

    it("threshold below 1", () => {
      const p = problemOf((c) => {
        c.spec.analysis.threshold = 0;
      });
      expect(p.field).toBe("spec.analysis.threshold");
      expect(p.fix).toBe("set threshold >= 1");
    });

    it("iterations below 1", () => {
      const p = problemsOf((c) => {
        c.spec.analysis.iterations = 0;
        delete c.spec.analysis.stepWeight;
      });
      expect(p.map((x) => x.field)).toContain("spec.analysis.iterations");
    });

    it("service.port out of range", () => {
      const p = problemOf((c) => {
        c.spec.service.port = 70000;
      });
      expect(p.field).toBe("spec.service.port");
      expect(p.fix).toBe("set port <= 65535");
    });

    it("targetPort neither number nor name", () => {
      const p = problemOf((c) => {
        c.spec.service.targetPort = true;
      });
      expect(p.field).toBe("spec.service.targetPort");
      expect(p.fix).toContain("container port number");
    });

    it("unknown webhook type lists the allowed ones", () => {
      const p = problemOf((c) => {
        c.spec.analysis.webhooks = [{ name: "a", type: "pre", url: "http://x/" }];
      });
      expect(p.field).toBe("spec.analysis.webhooks[0].type");
      expect(p.fix).toContain('"pre-rollout"');
    });
  });

  describe("cross-field rules", () => {
    it("Flagger apiVersion", () => {
      const p = problemOf((c) => {
        c.apiVersion = "flagger.app/v1beta1";
      });
      expect(p.field).toBe("apiVersion");
      expect(p.fix).toContain("change it to serin.dev/v1beta1");
    });

    it("interval below Flagger's 10s minimum", () => {
      const p = problemOf((c) => {
        c.spec.analysis.interval = "5s";
      });
      expect(p.field).toBe("spec.analysis.interval");
      expect(p.message).toContain("10s minimum");
      expect(p.fix).toBe("set interval: 10s or longer");
    });

    it("stepWeight larger than maxWeight", () => {
      const p = problemOf((c) => {
        c.spec.analysis.stepWeight = 60;
      });
      expect(p).toStrictEqual({
        field: "spec.analysis.stepWeight",
        message: "spec.analysis.stepWeight (60) is larger than spec.analysis.maxWeight (50)",
        fix: "set stepWeight <= maxWeight",
      });
      expect(formatProblems([p])).toBe(
        "spec.analysis.stepWeight (60) is larger than spec.analysis.maxWeight (50): set stepWeight <= maxWeight",
      );
    });

    it("stepWeights must increase strictly", () => {
      const p = problemOf((c) => {
        delete c.spec.analysis.stepWeight;
        delete c.spec.analysis.maxWeight;
        c.spec.analysis.stepWeights = [5, 20, 20, 50];
      });
      expect(p.field).toBe("spec.analysis.stepWeights[2]");
      expect(p.fix).toContain("strictly increasing");
    });

    it("stepWeights each within 1..100", () => {
      const p = problemOf((c) => {
        delete c.spec.analysis.stepWeight;
        delete c.spec.analysis.maxWeight;
        c.spec.analysis.stepWeights = [10, 50, 120];
      });
      expect(p.field).toBe("spec.analysis.stepWeights[2]");
      expect(p.fix).toBe("set stepWeights[2] <= 100");
    });

    it("stepWeight and stepWeights together", () => {
      const p = problemOf((c) => {
        c.spec.analysis.stepWeights = [10, 20, 50];
      });
      expect(p.field).toBe("spec.analysis.stepWeights");
      expect(p.fix).toContain("remove stepWeights or stepWeight");
    });

    it("maxWeight that stepWeights ignores", () => {
      const p = problemOf((c) => {
        delete c.spec.analysis.stepWeight;
        c.spec.analysis.stepWeights = [10, 20, 80];
      });
      expect(p.field).toBe("spec.analysis.maxWeight");
      expect(p.fix).toContain("remove maxWeight");
    });

    it("iterations with stepWeight", () => {
      const p = problemOf((c) => {
        c.spec.analysis.iterations = 10;
      });
      expect(p.field).toBe("spec.analysis.stepWeight");
      expect(p.message).toContain("iterations");
    });

    it("no strategy at all", () => {
      const p = problemOf((c) => {
        delete c.spec.analysis.stepWeight;
      });
      expect(p.field).toBe("spec.analysis");
      expect(p.fix).toContain("stepWeight");
      expect(p.fix).toContain("iterations");
    });

    it("analysis missing", () => {
      const p = problemOf((c) => {
        delete (c.spec as Record<string, unknown>).analysis;
      });
      expect(p.field).toBe("spec.analysis");
    });

    it("deprecated canaryAnalysis works alone but not next to analysis", () => {
      const c = catalogCanary();
      (c.spec as Record<string, unknown>).canaryAnalysis = c.spec.analysis;
      delete (c.spec as Record<string, unknown>).analysis;
      const r = validateCanary(c);
      expect(r.ok).toBe(true);
      const p = problemOf((x) => {
        (x.spec as Record<string, unknown>).canaryAnalysis = structuredClone(x.spec.analysis);
      });
      expect(p.field).toBe("spec.canaryAnalysis");
    });

    it("built-in metric without thresholdRange", () => {
      const p = problemOf((c) => {
        c.spec.analysis.metrics = [{ name: "request-success-rate", interval: "1m" }];
      });
      expect(p.field).toBe("spec.analysis.metrics[0].thresholdRange");
      expect(p.fix).toBe("add thresholdRange: {min: 99}");
    });

    it("custom metric without templateRef or query", () => {
      const p = problemOf((c) => {
        c.spec.analysis.metrics = [{ name: "error-rate", thresholdRange: { max: 1 } }];
      });
      expect(p.field).toBe("spec.analysis.metrics[0].templateRef");
      expect(p.fix).toContain("templateRef: {name:");
    });

    it("custom metric with both templateRef and query", () => {
      const p = problemOf((c) => {
        c.spec.analysis.metrics = [
          { name: "e", templateRef: { name: "t" }, query: "up", thresholdRange: { max: 1 } },
        ];
      });
      expect(p.field).toBe("spec.analysis.metrics[0]");
    });

    it("inline query (deprecated but supported) is accepted", () => {
      const c = catalogCanary();
      c.spec.analysis.metrics = [{ name: "e", query: "sum(up)", thresholdRange: { max: 1 } }];
      expect(validateCanary(c).ok).toBe(true);
    });

    it("thresholdRange without min or max", () => {
      const p = problemOf((c) => {
        c.spec.analysis.metrics = [{ name: "request-duration", thresholdRange: {} }];
      });
      expect(p.field).toBe("spec.analysis.metrics[0].thresholdRange");
      expect(p.message).toContain("neither min nor max");
    });

    it("thresholdRange min above max", () => {
      const p = problemOf((c) => {
        c.spec.analysis.metrics = [
          { name: "t", templateRef: { name: "x" }, thresholdRange: { min: 10, max: 5 } },
        ];
      });
      expect(p.field).toBe("spec.analysis.metrics[0].thresholdRange");
      expect(p.fix).toBe("set min <= max");
    });

    it("success rate beyond 100%", () => {
      const p = problemOf((c) => {
        c.spec.analysis.metrics = [{ name: "request-success-rate", thresholdRange: { min: 990 } }];
      });
      expect(p.field).toBe("spec.analysis.metrics[0].thresholdRange.min");
    });

    it("webhook url that does not parse", () => {
      const p = problemOf((c) => {
        c.spec.analysis.webhooks = [{ name: "load", url: "flagger-loadtester.test" }];
      });
      expect(p.field).toBe("spec.analysis.webhooks[0].url");
      expect(p.fix).toContain("http://");
    });

    it("duplicate webhook names", () => {
      const p = problemOf((c) => {
        c.spec.analysis.webhooks = [
          { name: "load", url: "http://a/" },
          { name: "load", url: "http://b/" },
        ];
      });
      expect(p.field).toBe("spec.analysis.webhooks[1].name");
    });

    it("DaemonSet target is not supported yet", () => {
      const p = problemOf((c) => {
        (c.spec.targetRef as Record<string, unknown>).kind = "DaemonSet";
      });
      expect(p.field).toBe("spec.targetRef.kind");
      expect(p.message).toContain("not supported yet");
      expect(p.fix).toContain("Deployment");
    });

    it("Deployment target needs apps/v1", () => {
      const p = problemOf((c) => {
        (c.spec.targetRef as Record<string, unknown>).apiVersion = "extensions/v1beta1";
      });
      expect(p.field).toBe("spec.targetRef.apiVersion");
    });

    it("other providers than Istio", () => {
      const p = problemOf((c) => {
        c.spec.provider = "linkerd";
      });
      expect(p.field).toBe("spec.provider");
      expect(p.fix).toContain("istio");
    });

    it("mirror with A/B testing", () => {
      const p = problemOf((c) => {
        delete c.spec.analysis.stepWeight;
        delete c.spec.analysis.maxWeight;
        c.spec.analysis.iterations = 10;
        c.spec.analysis.mirror = true;
      });
      expect(p.field).toBe("spec.analysis.mirror");
      expect(p.fix).toContain("remove mirror");
    });

    it("mirror is fine for blue/green and as a canary pre-stage", () => {
      const bg = catalogCanary();
      delete bg.spec.analysis.stepWeight;
      delete bg.spec.analysis.maxWeight;
      delete bg.spec.analysis.match;
      Object.assign(bg.spec.analysis, { iterations: 10, mirror: true, mirrorWeight: 50 });
      expect(validateCanary(bg).ok).toBe(true);
      const canary = catalogCanary();
      canary.spec.analysis.mirror = true;
      expect(validateCanary(canary).ok).toBe(true);
    });

    it("mirrorWeight without mirror", () => {
      const p = problemOf((c) => {
        c.spec.analysis.mirrorWeight = 50;
      });
      expect(p.field).toBe("spec.analysis.mirrorWeight");
      expect(p.fix).toContain("mirror: true");
    });

    it("sessionAffinity with iterations", () => {
      const p = problemOf((c) => {
        delete c.spec.analysis.stepWeight;
        delete c.spec.analysis.maxWeight;
        delete c.spec.analysis.match;
        c.spec.analysis.iterations = 5;
        c.spec.analysis.sessionAffinity = { cookieName: "canary" };
      });
      expect(p.field).toBe("spec.analysis.sessionAffinity");
    });

    it("sourceLabels match without the mesh gateway", () => {
      const p = problemOf((c) => {
        c.spec.service.gateways = ["istio-system/public-gateway"];
      });
      expect(p.field).toBe("spec.analysis.match[0].sourceLabels");
      expect(p.fix).toContain('"mesh"');
    });

    it("StringMatch with two kinds of match", () => {
      const p = problemOf((c) => {
        c.spec.analysis.match = [{ headers: { "x-canary": { exact: "insider", regex: ".*" } } }];
      });
      expect(p.field).toBe("spec.analysis.match[0].headers.x-canary");
      expect(p.fix).toContain("exactly one");
    });

    it("regex that RE2 cannot run", () => {
      const p = problemOf((c) => {
        c.spec.service.match = [{ uri: { regex: "^/(?!admin).*" } }];
      });
      expect(p.field).toBe("spec.service.match[0].uri.regex");
      expect(p.message).toContain("lookaround");
    });

    it("reports every problem at once", () => {
      const problems = problemsOf((c) => {
        c.spec.analysis.stepWeight = 60;
        c.spec.analysis.interval = "1s";
        c.spec.analysis.webhooks = [{ name: "w", url: "nope" }];
      });
      expect(problems.map((p) => p.field).sort()).toEqual([
        "spec.analysis.interval",
        "spec.analysis.stepWeight",
        "spec.analysis.webhooks[0].url",
      ]);
    });
  });
});

describe("problem texts", () => {
  it("the whole manifest of the wrong type", () => {
    const r = validateCanary("hello");
    if (r.ok) return expect.fail("validated a string");
    expect(r.problems).toStrictEqual([
      {
        field: "the manifest",
        message: 'the manifest ("hello") is not an object',
        fix: "pass the parsed manifest (apiVersion, kind, metadata, spec)",
      },
    ]);
  });
});
