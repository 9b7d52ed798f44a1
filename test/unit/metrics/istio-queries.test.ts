// The built-in checks must send exactly Flagger's PromQL (/work/shared/README.md) for a plain name, so
// dashboards, recording rules and expectations carried over from Flagger keep matching.
import { describe, expect, it } from "vitest";
import { requestDurationQuery, requestSuccessRateQuery } from "../../../src/metrics/istio-queries.js";

const scope = { namespace: "test", target: "catalog", interval: "1m" };

describe("built-in Istio queries", () => {
  it("request-success-rate is Flagger's query, character for character", () => {
    expect(requestSuccessRateQuery(scope)).toBe(
      'sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"catalog",response_code!~"5.*"}[1m])) / sum(rate(istio_requests_total{reporter="destination",destination_workload_namespace="test",destination_workload=~"catalog"}[1m])) * 100',
    );
  });

  it("request-duration is Flagger's p99 query, character for character", () => {
    expect(requestDurationQuery({ namespace: "istioinaction", target: "catalog", interval: "30s" })).toBe(
      'histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter="destination",destination_workload_namespace="istioinaction",destination_workload=~"catalog"}[30s])) by (le))',
    );
  });

  it("substitutes namespace, target and interval everywhere they occur", () => {
    const q = requestSuccessRateQuery({ namespace: "shop", target: "cart-api", interval: "2m30s" });
    expect(q.match(/destination_workload_namespace="shop"/g)).toHaveLength(2);
    expect(q.match(/destination_workload=~"cart-api"/g)).toHaveLength(2);
    expect(q.match(/\[2m30s\]/g)).toHaveLength(2);
    expect(q).not.toMatch(/test|catalog|\[1m\]/);
  });

  it("escapes regex metacharacters of a dotted name so the anchored =~ matches only that workload", () => {
    const q = requestDurationQuery({ namespace: "test", target: "api.v2", interval: "1m" });
    // PromQL string "api\\.v2" is the regex api\.v2
    expect(q).toContain('destination_workload=~"api\\\\.v2"');
    const inPromQL = /destination_workload=~"((?:[^"\\]|\\.)*)"/.exec(q)?.[1] ?? "";
    const regex = new RegExp(`^(?:${inPromQL.replace(/\\\\/g, "\\")})$`);
    expect(regex.test("api.v2")).toBe(true);
    expect(regex.test("apiXv2")).toBe(false);
  });
});
