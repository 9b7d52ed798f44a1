// The primary Deployment <target>-primary: a copy of the target that serves production traffic
// while the target itself becomes the canary (Flagger's createPrimaryDeployment and Promote).
// The selector label value gets a "-primary" suffix everywhere it identifies pods, so the primary
// and canary ReplicaSets never select each other's pods and the Services can tell them apart.
import type { V1Deployment, V1LabelSelector, V1PodSpec, V1PodTemplateSpec } from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { includeByPrefix, managedAnnotations, ownerReferenceFor } from "../router/ownership.js";
import { primaryLabelValue, type SelectorLabel, selectTargetLabel } from "../router/services.js";
import { applyPrimaryConfigs } from "./config-refs.js";
import { WorkloadError } from "./errors.js";
import { computeRevision } from "./pod-template-hash.js";

/** On the primary's pod template: the revision it runs; changes force a rollout (Flagger: random flagger-id). */
export const PRIMARY_REVISION_ANNOTATION = "serin.dev/revision";
/** Flagger's per-promotion pod annotation; dropped so a migrated template does not carry a stale one. */
const FLAGGER_ID_ANNOTATION = "flagger-id";
const DEPLOYMENT_REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
/** Annotations that describe the target object itself and must never be copied to the primary. */
const TARGET_ONLY_ANNOTATIONS = [
  "kubectl.kubernetes.io/last-applied-configuration", // kubectl apply would diff the primary against the target's manifest
  DEPLOYMENT_REVISION_ANNOTATION, // the target's rollout counter, owned by the Deployment controller
];

export { WorkloadError } from "./errors.js";

export interface PrimaryDeploymentOptions {
  /** The target's selector label; computed with selectTargetLabel(selectorLabels) when absent. */
  selector?: SelectorLabel;
  /** Candidate selector labels in order (Flagger's -selector-labels). */
  selectorLabels?: readonly string[];
  /** Label/annotation prefixes copied from the target's metadata (Flagger's -include-label-prefix; default none). */
  includeLabelPrefix?: readonly string[];
  /** status.trackedConfigs: tracked config key -> checksum; those references move to "-primary" copies. */
  trackedConfigs?: Readonly<Record<string, string>>;
}

export function primaryName(target: Pick<V1Deployment, "metadata">): string {
  return `${target.metadata?.name ?? ""}-primary`;
}

function resolveSelector(target: V1Deployment, opts: PrimaryDeploymentOptions): SelectorLabel {
  if (opts.selector !== undefined) return opts.selector;
  const picked = selectTargetLabel(target.spec?.selector.matchLabels, opts.selectorLabels);
  if ("error" in picked) throw new WorkloadError(`Deployment ${target.metadata?.name}: ${picked.error}`);
  return picked;
}

/** Copy of `labels` with the selector label set to the primary value (Flagger's makePrimaryLabels). */
function primaryLabels(labels: Readonly<Record<string, string>> | undefined, selector: SelectorLabel) {
  return { ...labels, [selector.label]: primaryLabelValue(selector.value) };
}

function primaryAnnotations(target: V1Deployment, opts: PrimaryDeploymentOptions): Record<string, string> {
  const copied = includeByPrefix(target.metadata?.annotations, opts.includeLabelPrefix ?? []);
  for (const key of TARGET_ONLY_ANNOTATIONS) delete copied[key];
  return managedAnnotations(copied);
}

/** Rewrites label selectors that point at the target's pods so they point at the primary's. */
function retargetSelector(selector: V1LabelSelector | undefined, label: SelectorLabel): void {
  if (selector === undefined) return;
  const primaryValue = primaryLabelValue(label.value);
  if (selector.matchLabels?.[label.label] === label.value) selector.matchLabels[label.label] = primaryValue;
  for (const expr of selector.matchExpressions ?? []) {
    if (expr.key !== label.label || expr.values === undefined) continue;
    expr.values = expr.values.map((v) => (v === label.value ? primaryValue : v));
  }
}

/**
 * The primary's pod spec: tracked configs renamed to their copies, and topology spread constraints
 * and pod anti-affinity terms that select the target's pods made to select the primary's instead
 * (otherwise primary pods would spread against canary pods, not against each other).
 */
function primaryPodSpec(spec: V1PodSpec, selector: SelectorLabel, tracked: Readonly<Record<string, string>>) {
  const out = applyPrimaryConfigs(spec, tracked);
  for (const tsc of out.topologySpreadConstraints ?? []) retargetSelector(tsc.labelSelector, selector);
  const anti = out.affinity?.podAntiAffinity;
  for (const term of anti?.requiredDuringSchedulingIgnoredDuringExecution ?? []) {
    retargetSelector(term.labelSelector, selector);
  }
  for (const weighted of anti?.preferredDuringSchedulingIgnoredDuringExecution ?? []) {
    retargetSelector(weighted.podAffinityTerm.labelSelector, selector);
  }
  return out;
}

/** The primary's pod template for the target's current template (used on create and on promotion). */
export function primaryTemplate(
  target: V1Deployment,
  selector: SelectorLabel,
  tracked: Readonly<Record<string, string>> = {},
): V1PodTemplateSpec {
  const template = target.spec?.template ?? { spec: { containers: [] } };
  const annotations = { ...template.metadata?.annotations };
  delete annotations[FLAGGER_ID_ANNOTATION];
  annotations[PRIMARY_REVISION_ANNOTATION] = computeRevision(template, tracked);
  return {
    metadata: { labels: primaryLabels(template.metadata?.labels, selector), annotations },
    spec: primaryPodSpec(template.spec ?? { containers: [] }, selector, tracked),
  };
}

/** The primary Deployment to create for `target` (Flagger's createPrimaryDeployment). */
export function buildPrimaryDeployment(
  target: V1Deployment,
  canary: Canary,
  opts: PrimaryDeploymentOptions = {},
): V1Deployment {
  const selector = resolveSelector(target, opts);
  const spec = target.spec;
  // Flagger starts the primary at the target's size (at least 1); an HPA takes over afterwards.
  const replicas = spec?.replicas !== undefined && spec.replicas > 0 ? spec.replicas : 1;
  const deployment: V1Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: primaryName(target),
      namespace: target.metadata?.namespace ?? canary.metadata.namespace,
      labels: primaryLabels(
        includeByPrefix(target.metadata?.labels, opts.includeLabelPrefix ?? []),
        selector,
      ),
      annotations: primaryAnnotations(target, opts),
      ownerReferences: [ownerReferenceFor(canary)],
    },
    spec: {
      replicas,
      // Only the selector label: the selector is immutable, so it must not depend on other labels.
      selector: { matchLabels: { [selector.label]: primaryLabelValue(selector.value) } },
      template: primaryTemplate(target, selector, opts.trackedConfigs),
    },
  };
  copyRolloutSettings(target, deployment);
  return deployment;
}

/** The fields Flagger copies from the target on create and on every promotion. */
function copyRolloutSettings(target: V1Deployment, primary: V1Deployment): void {
  const spec = primary.spec;
  if (spec === undefined) return;
  const from = target.spec;
  spec.progressDeadlineSeconds = from?.progressDeadlineSeconds;
  spec.minReadySeconds = from?.minReadySeconds;
  spec.revisionHistoryLimit = from?.revisionHistoryLimit;
  spec.strategy = from?.strategy === undefined ? undefined : structuredClone(from.strategy);
  // Unset stays unset (no `key: undefined`), so the object compares equal to one read back.
  for (const key of [
    "progressDeadlineSeconds",
    "minReadySeconds",
    "revisionHistoryLimit",
    "strategy",
  ] as const) {
    if (spec[key] === undefined) delete spec[key];
  }
}

/**
 * The primary after promoting the target's current revision (Flagger's Promote): pod template,
 * rollout settings and metadata from the target; replicas too unless an autoscaler (spec.autoscalerRef)
 * owns them. Identity fields of `primary` (selector, resourceVersion, uid) are kept.
 */
export function promotePrimary(
  primary: V1Deployment,
  target: V1Deployment,
  canary: Canary,
  opts: PrimaryDeploymentOptions = {},
): V1Deployment {
  const selector = resolveSelector(target, opts);
  const next = structuredClone(primary);
  const annotations = primaryAnnotations(target, opts);
  // The primary's own rollout revision belongs to the Deployment controller: keep it.
  const ownRevision = primary.metadata?.annotations?.[DEPLOYMENT_REVISION_ANNOTATION];
  if (ownRevision !== undefined) annotations[DEPLOYMENT_REVISION_ANNOTATION] = ownRevision;
  next.metadata = {
    ...next.metadata,
    labels: primaryLabels(includeByPrefix(target.metadata?.labels, opts.includeLabelPrefix ?? []), selector),
    annotations,
  };
  if (next.spec === undefined) {
    // A primary always has a spec; rebuild one rather than fail if a partial object is passed in.
    next.spec = buildPrimaryDeployment(target, canary, opts).spec;
    if (next.spec === undefined) return next;
  }
  copyRolloutSettings(target, next);
  // Never copy 0: a target scaled down by a failed run must not scale the primary down with it.
  const replicas = target.spec?.replicas;
  if (canary.spec.autoscalerRef === undefined && replicas !== undefined && replicas > 0) {
    next.spec.replicas = replicas;
  }
  next.spec.template = primaryTemplate(target, selector, opts.trackedConfigs);
  return next;
}
