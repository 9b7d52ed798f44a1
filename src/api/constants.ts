// Names of Serin's API: group, version, kinds, and the annotations/finalizer the controller owns.

export const GROUP = "serin.dev";
export const VERSION = "v1beta1";
export const API_VERSION = `${GROUP}/${VERSION}`;
/** What a Flagger manifest says instead of API_VERSION; validation points users at the one-line change. */
export const FLAGGER_API_VERSION = "flagger.app/v1beta1";

export const CANARY_KIND = "Canary";
export const CANARY_PLURAL = "canaries";
export const CANARY_SINGULAR = "canary";
export const METRIC_TEMPLATE_KIND = "MetricTemplate";
export const METRIC_TEMPLATE_PLURAL = "metrictemplates";
export const METRIC_TEMPLATE_SINGULAR = "metrictemplate";
export const ALERT_PROVIDER_KIND = "AlertProvider";
export const ALERT_PROVIDER_PLURAL = "alertproviders";
export const ALERT_PROVIDER_SINGULAR = "alertprovider";

/** Finalizer the controller puts on a Canary so it can revert routing (revertOnDeletion) before deletion. */
export const FINALIZER = "serin.dev/finalizer";

/** Annotations the controller reads or writes. Values mirror Flagger's where Flagger has an equivalent. */
export const ANNOTATIONS = {
  /** On a ConfigMap/Secret or the target: "disabled" opts out of config tracking (Flagger: flagger.app/config-tracking). */
  configTracking: "serin.dev/config-tracking",
  /** On a Canary: a runtime control request, consumed and removed by the controller (docs/control.md). */
  action: "serin.dev/action",
  /** On a Canary: the request's id (any string); without it the id is derived (core/control.ts). */
  actionId: "serin.dev/action-id",
  /** On a Canary: why, for status.control and the Event. */
  actionReason: "serin.dev/action-reason",
  /** On a Canary: who asked, as the client knows it (informational: the audit log has the real user). */
  actionBy: "serin.dev/action-by",
} as const;

/** Flagger's equivalents, honoured too so migrated objects keep their opt-outs. */
export const FLAGGER_ANNOTATIONS = {
  configTracking: "flagger.app/config-tracking",
} as const;
