import type { V1Deployment, V1DeploymentCondition } from "@kubernetes/client-node";
import type { Readiness } from "../core/world.js";

function condition(dep: V1Deployment, type: string): V1DeploymentCondition | undefined {
  return dep.status?.conditions?.find((c) => c.type === type);
}

function toMillis(t: Date | string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Whether a Deployment's rollout is done, in Flagger's terms: the controller has seen the latest spec,
 * every replica runs the new template, and at least `thresholdPercent` of them are available.
 * Stuck means the Deployment controller gave up (ProgressDeadlineExceeded) or it made no progress
 * for longer than the Canary's progressDeadlineSeconds.
 */
export function deploymentReadiness(
  dep: V1Deployment,
  thresholdPercent: number,
  progressDeadlineSeconds: number,
  now: Date,
  /** progress is not judged from before this moment (e.g. when the run scaled the canary up) */
  notBefore?: Date,
): Readiness {
  const name = dep.metadata?.name ?? "deployment";
  const wanted = dep.spec?.replicas ?? 1;
  const status = dep.status ?? {};
  const progressing = condition(dep, "Progressing");
  const observed = toMillis(progressing?.lastUpdateTime) ?? toMillis(dep.metadata?.creationTimestamp);
  // A Deployment idle at zero replicas has an old Progressing time: scaling it up is not "no progress".
  const lastProgress = Math.max(observed ?? 0, notBefore?.getTime() ?? 0) || undefined;
  const stuck =
    progressing?.reason === "ProgressDeadlineExceeded" ||
    (lastProgress !== undefined && now.getTime() - lastProgress > progressDeadlineSeconds * 1000);
  const notReady = (message: string): Readiness => ({
    ready: false,
    message: `${name}: ${message}`,
    deadlineExceeded: stuck,
  });

  // Zero replicas serve nothing: never "ready", or a canary still scaling up would get traffic.
  if (wanted === 0) return notReady("scaled to zero");
  if ((dep.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return notReady("waiting for the Deployment controller to observe the new spec");
  }
  const updated = status.updatedReplicas ?? 0;
  if (updated < wanted) return notReady(`${updated} of ${wanted} replicas run the new template`);
  const total = status.replicas ?? 0;
  if (total > updated) return notReady(`${total - updated} old replicas are pending termination`);
  const required = Math.ceil((wanted * thresholdPercent) / 100);
  const available = status.availableReplicas ?? 0;
  if (available < required) {
    return notReady(
      `${available} of ${wanted} updated replicas are available (ready threshold ${thresholdPercent}%)`,
    );
  }
  return {
    ready: true,
    message: `${name}: ${available} of ${wanted} replicas available`,
    deadlineExceeded: false,
  };
}
