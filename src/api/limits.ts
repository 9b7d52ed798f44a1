// Upper bounds on the values a Canary may hold. Each one exists because a larger value harms Serin or
// the cluster, not because it is unusual:
// - Node's timers overflow at 2^31 ms (~24.8 days) and then fire after 1 ms: `interval: 597h` became a
//   reconcile loop, a webhook `timeout: 600h` timed out at once. Durations are capped well below that.
// - A worker is held for the whole of a webhook call with its retries; /healthz reports a worker stuck
//   in one reconcile for longer than 15 minutes, so one hook's worst case must stay well below that.
// - Counts that only make a run endless or a reconcile long (retries, iterations, threshold, list sizes).
// The caps sit far above what Flagger's documentation and real manifests use (intervals 10s-5m, metric
// windows 1m-5m, webhook timeouts 5s-3m, retries 0-3, thresholds 2-10, iterations 10).

/** Durations, as Go durations (the form users write); the validator parses them once. */
export const DURATION_LIMITS = {
  /** spec.analysis.interval: one step a day is the slowest release that still makes sense */
  analysisInterval: "24h",
  /** metrics[].interval: the Prometheus range window; a day of rate() is already a heavy query */
  metricInterval: "24h",
  /** webhooks[].timeout: a load test or helm test answers within minutes (Flagger's examples: 5s-3m) */
  webhookTimeout: "10m",
  /** webhooks[].timeout x (retries + 1): what one hook call may hold a worker for */
  webhookTotal: "10m",
  /** spec.service.timeout: the Istio route timeout; longer requests are streams, not requests */
  serviceTimeout: "24h",
} as const;

export const COUNT_LIMITS = {
  /** webhooks[].retries: each retry repeats the timeout; more than 10 only delays the answer */
  webhookRetries: 10,
  /** analysis.threshold: failed checks before rollback */
  threshold: 1000,
  /** analysis.iterations: checks of an A/B or blue/green run */
  iterations: 1000,
  /** progressDeadlineSeconds: one day (Kubernetes' own default is 600) */
  progressDeadlineSeconds: 86_400,
  /** sessionAffinity.maxAge in seconds: browsers cap cookie lifetimes at 400 days (RFC 6265bis) */
  cookieMaxAgeSeconds: 400 * 86_400,
  /** metrics, webhooks and alerts per Canary: each is queried or called on every step */
  listItems: 50,
} as const;
