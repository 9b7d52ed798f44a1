// The parts of Istio's networking.istio.io VirtualService and DestinationRule specs the simulator honours,
// as lenient zod schemas (unknown fields are dropped, not rejected, as a newer Istio would add some).
import { z } from "zod";

export const StringMatchSchema = z.object({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  regex: z.string().optional(),
});
export type StringMatch = z.infer<typeof StringMatchSchema>;

/** `{value: 50}` as Istio writes it; a bare number is accepted too (older examples). */
const PercentSchema = z.union([z.number(), z.object({ value: z.number().optional() })]);
export type Percent = z.infer<typeof PercentSchema>;

const StringMap = z.record(z.string(), z.string());
const MatchMap = z.record(z.string(), StringMatchSchema.nullable());

export const HttpMatchRequestSchema = z.object({
  name: z.string().optional(),
  uri: StringMatchSchema.optional(),
  scheme: StringMatchSchema.optional(),
  method: StringMatchSchema.optional(),
  authority: StringMatchSchema.optional(),
  headers: MatchMap.optional(),
  port: z.number().int().optional(),
  sourceLabels: StringMap.optional(),
  gateways: z.array(z.string()).optional(),
  queryParams: MatchMap.optional(),
  ignoreUriCase: z.boolean().optional(),
  withoutHeaders: MatchMap.optional(),
  sourceNamespace: z.string().optional(),
});
export type HttpMatchRequest = z.infer<typeof HttpMatchRequestSchema>;

export const DestinationSchema = z.object({
  host: z.string(),
  subset: z.string().optional(),
  port: z.object({ number: z.number().int().optional() }).optional(),
});
export type Destination = z.infer<typeof DestinationSchema>;

const HeaderOperationsSchema = z.object({
  set: StringMap.optional(),
  add: StringMap.optional(),
  remove: z.array(z.string()).optional(),
});
export type HeaderOperations = z.infer<typeof HeaderOperationsSchema>;

export const HeadersSchema = z.object({
  request: HeaderOperationsSchema.optional(),
  response: HeaderOperationsSchema.optional(),
});
export type Headers = z.infer<typeof HeadersSchema>;

export const HttpRouteDestinationSchema = z.object({
  destination: DestinationSchema,
  weight: z.number().int().optional(),
  headers: HeadersSchema.optional(),
});
export type HttpRouteDestination = z.infer<typeof HttpRouteDestinationSchema>;

export const HttpFaultSchema = z.object({
  delay: z
    .object({
      fixedDelay: z.string().optional(),
      percentage: PercentSchema.optional(),
      percent: z.number().optional(),
    })
    .optional(),
  abort: z
    .object({
      httpStatus: z.number().int().optional(),
      percentage: PercentSchema.optional(),
    })
    .optional(),
});
export type HttpFault = z.infer<typeof HttpFaultSchema>;

export const HttpRetrySchema = z.object({
  attempts: z.number().int().optional(),
  perTryTimeout: z.string().optional(),
  retryOn: z.string().optional(),
  retryIgnorePreviousHosts: z.boolean().optional(),
  backoff: z.string().optional(),
});
export type HttpRetry = z.infer<typeof HttpRetrySchema>;

export const HttpRouteSchema = z.object({
  name: z.string().optional(),
  match: z.array(HttpMatchRequestSchema).optional(),
  route: z.array(HttpRouteDestinationSchema).optional(),
  redirect: z
    .object({
      uri: z.string().optional(),
      authority: z.string().optional(),
      scheme: z.string().optional(),
      port: z.number().int().optional(),
      redirectCode: z.number().int().optional(),
    })
    .optional(),
  directResponse: z
    .object({
      status: z.number().int(),
      body: z.object({ string: z.string().optional(), bytes: z.string().optional() }).optional(),
    })
    .optional(),
  rewrite: z
    .object({
      uri: z.string().optional(),
      authority: z.string().optional(),
      uriRegexRewrite: z.object({ match: z.string(), rewrite: z.string() }).optional(),
    })
    .optional(),
  timeout: z.string().optional(),
  retries: HttpRetrySchema.optional(),
  fault: HttpFaultSchema.optional(),
  mirror: DestinationSchema.optional(),
  mirrorPercentage: PercentSchema.optional(),
  mirrorPercent: z.number().optional(),
  mirrors: z
    .array(z.object({ destination: DestinationSchema, percentage: PercentSchema.optional() }))
    .optional(),
  headers: HeadersSchema.optional(),
});
export type HttpRoute = z.infer<typeof HttpRouteSchema>;

export const VirtualServiceSpecSchema = z.object({
  hosts: z.array(z.string()).default([]),
  gateways: z.array(z.string()).optional(),
  http: z.array(HttpRouteSchema).default([]),
  exportTo: z.array(z.string()).optional(),
});
export type VirtualServiceSpec = z.infer<typeof VirtualServiceSpecSchema>;

const ConsistentHashSchema = z.object({
  httpHeaderName: z.string().optional(),
  httpCookie: z
    .object({ name: z.string(), path: z.string().optional(), ttl: z.string().optional() })
    .optional(),
  useSourceIp: z.boolean().optional(),
  httpQueryParameterName: z.string().optional(),
});
export type ConsistentHash = z.infer<typeof ConsistentHashSchema>;

const LoadBalancerSchema = z.object({
  simple: z.string().optional(),
  consistentHash: ConsistentHashSchema.optional(),
});
export type LoadBalancerSettings = z.infer<typeof LoadBalancerSchema>;

const ConnectionPoolSchema = z.object({
  tcp: z.object({ maxConnections: z.number().int().optional() }).optional(),
  http: z
    .object({
      http1MaxPendingRequests: z.number().int().optional(),
      http2MaxRequests: z.number().int().optional(),
      maxRequestsPerConnection: z.number().int().optional(),
    })
    .optional(),
});
export type ConnectionPoolSettings = z.infer<typeof ConnectionPoolSchema>;

const PolicyFields = {
  loadBalancer: LoadBalancerSchema.optional(),
  connectionPool: ConnectionPoolSchema.optional(),
  /** Parsed but not enforced (documented gap). */
  outlierDetection: z.record(z.string(), z.unknown()).optional(),
};

export const TrafficPolicySchema = z.object({
  ...PolicyFields,
  portLevelSettings: z
    .array(z.object({ port: z.object({ number: z.number().int().optional() }).optional(), ...PolicyFields }))
    .optional(),
});
export type TrafficPolicy = z.infer<typeof TrafficPolicySchema>;

export const DestinationRuleSpecSchema = z.object({
  host: z.string(),
  trafficPolicy: TrafficPolicySchema.optional(),
  subsets: z
    .array(
      z.object({
        name: z.string(),
        labels: StringMap.optional(),
        trafficPolicy: TrafficPolicySchema.optional(),
      }),
    )
    .default([]),
  exportTo: z.array(z.string()).optional(),
});
export type DestinationRuleSpec = z.infer<typeof DestinationRuleSpecSchema>;

/** Percentage in [0, 100] from `{value}` or a bare number; `undefined` when absent. */
export function percentValue(p: Percent | undefined): number | undefined {
  if (p === undefined) return undefined;
  if (typeof p === "number") return p;
  return p.value ?? 0;
}
