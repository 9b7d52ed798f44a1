// API requests counted by the API server itself: one APF FlowSchema per controller identity (its
// ServiceAccount), all pointing at one priority level with enough shares that nothing queues, and
// `apiserver_flowcontrol_dispatched_requests_total{flow_schema=...}` read from the API server's /metrics
// (the admin's client certificate may read it). Every request the identity makes — list, watch, get,
// create, update, patch, delete, status writes, events, leases, /version — is dispatched once through
// its FlowSchema, so the counter is the controller's whole API traffic, as the server saw it.
import { type KubeAdmin, parsePromText, sumSeries } from "./kube-admin.js";

export const PRIORITY_LEVEL = "fleet-bench-controllers";

export interface Identity {
  /** label for the report, e.g. "serin" */
  name: string;
  serviceAccount: { namespace: string; name: string };
}

export const flowSchemaName = (identity: Identity) => `fleet-bench-${identity.name}`;

/** Creates the priority level and one FlowSchema per identity (idempotent). */
export async function installFlowSchemas(kube: KubeAdmin, identities: Identity[]): Promise<void> {
  const base = "/apis/flowcontrol.apiserver.k8s.io/v1";
  await kube.must(
    "POST",
    `${base}/prioritylevelconfigurations`,
    {
      apiVersion: "flowcontrol.apiserver.k8s.io/v1",
      kind: "PriorityLevelConfiguration",
      metadata: { name: PRIORITY_LEVEL },
      spec: {
        type: "Limited",
        limited: {
          // The defaults add up to ~245 shares: this level gets ~80 % of the server's seats and lends
          // none, so the controllers under test are never queued behind the test world's own traffic.
          nominalConcurrencyShares: 1000,
          lendablePercent: 0,
          limitResponse: { type: "Queue", queuing: { queues: 64, handSize: 6, queueLengthLimit: 200 } },
        },
      },
    },
    undefined,
    true,
  );
  for (const identity of identities) {
    await kube.must(
      "POST",
      `${base}/flowschemas`,
      {
        apiVersion: "flowcontrol.apiserver.k8s.io/v1",
        kind: "FlowSchema",
        metadata: { name: flowSchemaName(identity) },
        spec: {
          priorityLevelConfiguration: { name: PRIORITY_LEVEL },
          // Before every default schema but `exempt` (1): the identity's requests land here and only here.
          matchingPrecedence: 50,
          distinguisherMethod: { type: "ByUser" },
          rules: [
            {
              subjects: [{ kind: "ServiceAccount", serviceAccount: identity.serviceAccount }],
              resourceRules: [
                {
                  verbs: ["*"],
                  apiGroups: ["*"],
                  resources: ["*"],
                  namespaces: ["*"],
                  clusterScope: true,
                },
              ],
              nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
            },
          ],
        },
      },
      undefined,
      true,
    );
  }
}

/** Dispatched requests per FlowSchema name, now (cumulative since the API server started). */
export async function dispatchedRequests(
  kube: KubeAdmin,
  identities: Identity[],
): Promise<Map<string, number>> {
  const res = await kube.must("GET", "/metrics");
  const metrics = parsePromText(res.body);
  const out = new Map<string, number>();
  for (const identity of identities) {
    out.set(
      identity.name,
      sumSeries(metrics, "apiserver_flowcontrol_dispatched_requests_total", [
        `flow_schema="${flowSchemaName(identity)}"`,
      ]),
    );
  }
  return out;
}

/** Requests that waited in a queue or were rejected (should stay 0: the level must not throttle). */
export async function throttled(
  kube: KubeAdmin,
): Promise<{ rejected: number; queuedSum: number; waits: number; nominalSeats: number }> {
  const metrics = parsePromText((await kube.must("GET", "/metrics")).body);
  return {
    waits: sumSeries(metrics, "apiserver_flowcontrol_request_wait_duration_seconds_count", [
      `priority_level="${PRIORITY_LEVEL}"`,
    ]),
    nominalSeats: sumSeries(metrics, "apiserver_flowcontrol_nominal_limit_seats", [
      `priority_level="${PRIORITY_LEVEL}"`,
    ]),
    rejected: sumSeries(metrics, "apiserver_flowcontrol_rejected_requests_total", [
      `priority_level="${PRIORITY_LEVEL}"`,
    ]),
    queuedSum: sumSeries(metrics, "apiserver_flowcontrol_request_wait_duration_seconds_sum", [
      `priority_level="${PRIORITY_LEVEL}"`,
    ]),
  };
}

/** The API server's own request latency so far (every client), by kind of request: seconds and count. */
export interface ApiLatency {
  writes: { count: number; sumS: number };
  reads: { count: number; sumS: number };
}

const WRITE_VERBS = ["POST", "PUT", "PATCH", "DELETE"];

/**
 * `apiserver_request_duration_seconds` (watches excluded: they last as long as the connection), summed
 * over resources: tells whether a slow controller waited on a slow API server.
 */
export async function apiLatency(kube: KubeAdmin): Promise<ApiLatency> {
  const metrics = parsePromText((await kube.must("GET", "/metrics")).body);
  const of = (verbs: string[]) => ({
    count: verbs.reduce(
      (n, v) => n + sumSeries(metrics, "apiserver_request_duration_seconds_count", [`verb="${v}"`]),
      0,
    ),
    sumS: verbs.reduce(
      (n, v) => n + sumSeries(metrics, "apiserver_request_duration_seconds_sum", [`verb="${v}"`]),
      0,
    ),
  });
  return { writes: of(WRITE_VERBS), reads: of(["GET"]) };
}

/** Mean latency in ms of the requests between two readings. */
export function meanLatencyMs(before: ApiLatency, after: ApiLatency): { writes: number; reads: number } {
  const mean = (a: { count: number; sumS: number }, b: { count: number; sumS: number }) =>
    b.count > a.count ? ((b.sumS - a.sumS) / (b.count - a.count)) * 1000 : Number.NaN;
  return { writes: mean(before.writes, after.writes), reads: mean(before.reads, after.reads) };
}
