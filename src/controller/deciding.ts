// Asks the pure core what to do, answering what it asks for (metric checks, webhook gates) and asking
// again with the answers; then adds the session-affinity cookies the next status needs.
import type { Canary, CanaryStatus } from "../api/canary.js";
import type { EffectiveSpec } from "../api/defaults.js";
import { type CanaryRef, decide } from "../core/decide.js";
import type { Decision } from "../core/decision.js";
import { desiredRouting } from "../core/desired.js";
import type {
  GateHook,
  HookResult,
  MetricResult,
  ObservedSplit,
  ObservedWorld,
  ServedCounts,
  ServedUnavailable,
  SplitUnavailable,
} from "../core/world.js";
import { nextSessionCookies, type SessionCookies } from "../router/istio-session-affinity.js";

/** What the core may ask the shell for. */
export interface Answers {
  analyse(status: CanaryStatus): Promise<MetricResult[]>;
  hooks(type: GateHook, status: CanaryStatus): Promise<HookResult>;
  /** what canary and primary served since the run's traffic start (never throws) */
  served(status: CanaryStatus): Promise<ServedCounts | ServedUnavailable>;
  /** requests per side since the current step, for the traffic split check (never throws); undefined: not read (replay) */
  split(status: CanaryStatus): Promise<ObservedSplit | SplitUnavailable | undefined>;
}

/** The core never needs more than a few rounds (analysis, then one gate); more would be a bug. */
const MAX_ROUNDS = 4;

export async function decideWithAnswers(
  canary: Canary,
  ref: CanaryRef,
  spec: EffectiveSpec,
  status: CanaryStatus,
  observed: ObservedWorld,
  answers: Answers,
): Promise<Decision> {
  let world = observed;
  let decision = decide(ref, spec, status, world);
  for (
    let round = 0;
    round < MAX_ROUNDS &&
    (decision.needsAnalysis ||
      decision.needsHooks.length > 0 ||
      decision.needsServed ||
      decision.needsSplit === true);
    round++
  ) {
    const asked = decision;
    const [analysis, replies, served, split] = await Promise.all([
      asked.needsAnalysis ? answers.analyse(status) : Promise.resolve(world.analysis),
      Promise.all(asked.needsHooks.map(async (type) => [type, await answers.hooks(type, status)] as const)),
      asked.needsServed ? answers.served(status) : Promise.resolve(world.served),
      asked.needsSplit === true ? answers.split(status) : Promise.resolve(world.split),
    ]);
    world = {
      ...world,
      analysis,
      hooks: { ...world.hooks, ...Object.fromEntries(replies) },
      ...(served ? { served } : {}),
      ...(split ? { split } : {}),
    };
    decision = decide(ref, spec, status, world);
  }
  if (!spec.analysis.sessionAffinity) return decision;
  // The run's cookies are minted when the canary first gets traffic and kept in status, so a restarted
  // controller keeps pinning the same users.
  const cookies = nextSessionCookies(
    { spec: canary.spec, status: decision.status },
    desiredRouting(spec, decision.status).canaryWeight,
  );
  return { ...decision, status: withCookies(decision.status, cookies) };
}

function withCookies(status: CanaryStatus, cookies: SessionCookies): CanaryStatus {
  const next: CanaryStatus = { ...status };
  delete next.sessionAffinityCookie;
  delete next.primarySessionAffinityCookie;
  delete next.previousSessionAffinityCookie;
  if (cookies.canary) next.sessionAffinityCookie = cookies.canary;
  if (cookies.primary) next.primarySessionAffinityCookie = cookies.primary;
  if (cookies.previous) next.previousSessionAffinityCookie = cookies.previous;
  return next;
}
