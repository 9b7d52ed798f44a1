// Istio-shaped pieces of the Canary spec (networking.istio.io). Typed for the fields Serin reads, but
// every object is "loose": fields Serin does not know (newer Istio, Flagger extras) are kept verbatim,
// and the CRD marks them x-kubernetes-preserve-unknown-fields so the apiserver does not prune them.
import { z } from "zod";

const stringMap = z.record(z.string(), z.string());

/** Istio StringMatch: exactly one of exact / prefix / regex (RE2, whole value); suffix is a Flagger extra. */
export const StringMatchSchema = z.looseObject({
  exact: z.string().optional(),
  prefix: z.string().optional(),
  suffix: z.string().optional(),
  regex: z.string().optional().describe("RE2 regular expression, must match the whole value"),
});

/** Istio HTTPMatchRequest: all conditions of one match must hold; a list of matches is OR-ed. */
export const HttpMatchSchema = z.looseObject({
  name: z.string().optional(),
  uri: StringMatchSchema.optional(),
  scheme: StringMatchSchema.optional(),
  method: StringMatchSchema.optional(),
  authority: StringMatchSchema.optional(),
  headers: z.record(z.string(), StringMatchSchema).optional(),
  withoutHeaders: z.record(z.string(), StringMatchSchema).optional(),
  queryParams: z.record(z.string(), StringMatchSchema).optional(),
  sourceLabels: stringMap.optional().describe("only applies when the mesh gateway is in service.gateways"),
  sourceNamespace: z.string().optional(),
  gateways: z.array(z.string()).optional(),
  port: z.int32().optional(),
  ignoreUriCase: z.boolean().optional(),
});

export const HttpRetrySchema = z.looseObject({
  attempts: z.int32().optional(),
  perTryTimeout: z.string().optional(),
  retryOn: z.string().optional(),
});

export const HttpRewriteSchema = z.looseObject({
  uri: z.string().optional(),
  authority: z.string().optional(),
  type: z.string().optional().describe("Gateway API rewrite type (Flagger extra)"),
});

const HeaderOperationsSchema = z.looseObject({
  set: stringMap.optional(),
  add: stringMap.optional(),
  remove: z.array(z.string()).optional(),
});

export const HeadersSchema = z.looseObject({
  request: HeaderOperationsSchema.optional(),
  response: HeaderOperationsSchema.optional(),
});

export const CorsPolicySchema = z.looseObject({
  allowOrigin: z.array(z.string()).optional().describe("deprecated by Istio: use allowOrigins"),
  allowOrigins: z.array(StringMatchSchema).optional(),
  allowMethods: z.array(z.string()).optional(),
  allowHeaders: z.array(z.string()).optional(),
  exposeHeaders: z.array(z.string()).optional(),
  maxAge: z.string().optional(),
  allowCredentials: z.boolean().optional(),
});

/** DestinationRule load balancer; consistentHash is what session affinity uses. */
const LoadBalancerSchema = z.looseObject({
  simple: z.string().optional().describe("ROUND_ROBIN, LEAST_REQUEST, RANDOM, PASSTHROUGH, ..."),
  consistentHash: z
    .looseObject({
      httpHeaderName: z.string().optional(),
      httpCookie: z
        .looseObject({ name: z.string().optional(), path: z.string().optional(), ttl: z.string().optional() })
        .optional(),
      useSourceIp: z.boolean().optional(),
      httpQueryParameterName: z.string().optional(),
      minimumRingSize: z.int().optional(),
    })
    .optional(),
  warmupDurationSecs: z.string().optional(),
});

/** DestinationRule trafficPolicy copied onto the primary and canary DestinationRules. */
export const TrafficPolicySchema = z.looseObject({
  loadBalancer: LoadBalancerSchema.optional(),
  connectionPool: z.looseObject({}).optional(),
  outlierDetection: z.looseObject({}).optional(),
  tls: z.looseObject({ mode: z.string().optional() }).optional(),
});

/** Gateway API ParentReference (Flagger's service.gatewayRefs, used by its gatewayapi provider). */
export const ParentReferenceSchema = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string(),
  namespace: z.string().optional(),
  sectionName: z.string().optional(),
  port: z.int32().optional(),
});

/** Gateway API HTTPRequestMirrorFilter (Flagger's service.mirror, gatewayapi provider only). */
export const MirrorFilterSchema = z.looseObject({
  backendRef: z.looseObject({
    group: z.string().optional(),
    kind: z.string().optional(),
    name: z.string(),
    namespace: z.string().optional(),
    port: z.int32().optional(),
  }),
});

export type StringMatch = z.infer<typeof StringMatchSchema>;
export type HttpMatch = z.infer<typeof HttpMatchSchema>;
export type HttpRetry = z.infer<typeof HttpRetrySchema>;
export type HttpRewrite = z.infer<typeof HttpRewriteSchema>;
export type Headers = z.infer<typeof HeadersSchema>;
export type CorsPolicy = z.infer<typeof CorsPolicySchema>;
export type TrafficPolicy = z.infer<typeof TrafficPolicySchema>;
