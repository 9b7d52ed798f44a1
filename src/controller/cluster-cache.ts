import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Service,
  V2HorizontalPodAutoscaler,
} from "@kubernetes/client-node";
import type { Logger } from "pino";
import {
  ALERT_PROVIDER_KIND,
  ALERT_PROVIDER_PLURAL,
  API_VERSION,
  CANARY_KIND,
  CANARY_PLURAL,
  GROUP,
  METRIC_TEMPLATE_KIND,
  METRIC_TEMPLATE_PLURAL,
  VERSION,
} from "../api/constants.js";
import { describeError, type KubeClients } from "../kube/client.js";
import { ResilientInformer } from "../kube/informer.js";
import { TRIM, type Trim } from "../kube/trim.js";
import { GATEWAY_API_V1 } from "../router/gateway-api-http-route.js";
import { GATEWAY_API_GROUP } from "../router/gateway-api-types.js";
import { LazyInformers } from "./lazy-informers.js";

const ISTIO = "networking.istio.io/v1beta1";

function path(group: string, version: string, plural: string, namespace?: string): string {
  const base = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}

/**
 * The informer caches the controller reads from. Secrets are deliberately not cached: a cluster's
 * Secrets (Helm keeps every release in one) can outweigh everything else, and Serin needs only the
 * few a target references, which it reads on demand (see secret-reader.ts). Every cached object is
 * trimmed to what Serin reads (kube/trim.ts): no managedFields, no kubectl last-applied copy, no
 * unread status, and only the metadata of Istio objects that no Canary controls.
 */
export class ClusterCache {
  readonly canaries: ResilientInformer<KubernetesObject>;
  readonly deployments: ResilientInformer<V1Deployment>;
  readonly configMaps: ResilientInformer<V1ConfigMap>;
  readonly services: ResilientInformer<V1Service>;
  readonly virtualServices: ResilientInformer<KubernetesObject>;
  readonly destinationRules: ResilientInformer<KubernetesObject>;
  readonly metricTemplates: ResilientInformer<KubernetesObject>;
  readonly autoscalers: ResilientInformer<V2HorizontalPodAutoscaler>;
  readonly alertProviders: ResilientInformer<KubernetesObject>;
  /** Gateway API HTTPRoutes, per served version, started on first use (lazy-informers.ts). */
  readonly httpRoutes: LazyInformers;

  constructor(
    private readonly clients: KubeClients,
    private readonly log: Logger,
    private readonly namespace?: string,
  ) {
    const make = <T extends KubernetesObject>(
      name: string,
      apiVersion: string,
      kind: string,
      group: string,
      version: string,
      plural: string,
      trim: Trim,
    ) =>
      new ResilientInformer<T>(
        clients,
        {
          name,
          apiVersion,
          kind,
          path: path(group, version, plural, namespace),
          trim,
          ...(namespace ? { namespace } : {}),
        },
        log,
      );
    this.canaries = make("canaries", API_VERSION, CANARY_KIND, GROUP, VERSION, CANARY_PLURAL, TRIM.canaries);
    this.deployments = make(
      "deployments",
      "apps/v1",
      "Deployment",
      "apps",
      "v1",
      "deployments",
      TRIM.deployments,
    );
    this.configMaps = make("configmaps", "v1", "ConfigMap", "", "v1", "configmaps", TRIM.configMaps);
    this.services = make("services", "v1", "Service", "", "v1", "services", TRIM.services);
    this.virtualServices = make(
      "virtualservices",
      ISTIO,
      "VirtualService",
      "networking.istio.io",
      "v1beta1",
      "virtualservices",
      TRIM.istio,
    );
    this.destinationRules = make(
      "destinationrules",
      ISTIO,
      "DestinationRule",
      "networking.istio.io",
      "v1beta1",
      "destinationrules",
      TRIM.istio,
    );
    this.metricTemplates = make(
      "metrictemplates",
      API_VERSION,
      METRIC_TEMPLATE_KIND,
      GROUP,
      VERSION,
      METRIC_TEMPLATE_PLURAL,
      TRIM.templates,
    );
    this.alertProviders = make(
      "alertproviders",
      API_VERSION,
      ALERT_PROVIDER_KIND,
      GROUP,
      VERSION,
      ALERT_PROVIDER_PLURAL,
      TRIM.templates,
    );
    this.httpRoutes = new LazyInformers(
      "HTTPRoute",
      (apiVersion) =>
        make(
          `httproutes.${apiVersion.split("/")[1] ?? ""}`,
          apiVersion,
          "HTTPRoute",
          GATEWAY_API_GROUP,
          apiVersion.split("/")[1] ?? "v1",
          "httproutes",
          TRIM.istio,
        ),
      log,
    );
    this.autoscalers = make(
      "horizontalpodautoscalers",
      "autoscaling/v2",
      "HorizontalPodAutoscaler",
      "autoscaling",
      "v2",
      "horizontalpodautoscalers",
      TRIM.autoscalers,
    );
  }

  all(): ResilientInformer<KubernetesObject>[] {
    return [
      this.canaries,
      this.deployments,
      this.configMaps,
      this.services,
      this.virtualServices,
      this.destinationRules,
      this.metricTemplates,
      this.autoscalers,
      this.alertProviders,
    ] as ResilientInformer<KubernetesObject>[];
  }

  async start(): Promise<void> {
    await Promise.all([...this.all().map((i) => i.start()), this.probeHttpRoutes()]);
  }

  /**
   * The cache of a routing object's kind, or why it cannot be read yet. HTTPRoute caches start here on
   * first use; a Canary waiting on one is told the list error (Gateway API CRDs missing, RBAC).
   */
  routing(apiVersion: string, kind: string): ResilientInformer<KubernetesObject> | { waiting: string } {
    if (kind === "VirtualService" && apiVersion === ISTIO) return this.virtualServices;
    if (kind === "DestinationRule" && apiVersion === ISTIO) return this.destinationRules;
    if (kind !== "HTTPRoute") return { waiting: `Serin keeps no cache of ${kind} ${apiVersion}` };
    const informer = this.httpRoutes.informer(apiVersion);
    if (informer.synced) return informer;
    return {
      waiting: `the ${kind} cache (${apiVersion}) is not filled yet: ${informer.waitingFor ?? "listing"}; are the Gateway API CRDs installed and may Serin list and watch httproutes?`,
    };
  }

  /** The cache of a routing kind if it is filled, without starting one: for clean-ups that are optional. */
  routingIfReady(apiVersion: string, kind: string): ResilientInformer<KubernetesObject> | undefined {
    if (kind !== "HTTPRoute") {
      const cache = this.routing(apiVersion, kind);
      return "waiting" in cache ? undefined : cache;
    }
    const informer = this.httpRoutes.started(apiVersion);
    return informer?.synced === true ? informer : undefined;
  }

  /**
   * Starts the HTTPRoute cache at once when the cluster serves HTTPRoutes and Serin may list them (one
   * request), so a Canary leaving gatewayapi finds its old HTTPRoute to remove even after a restart.
   * Elsewhere it starts when a Canary first asks for it, and never holds the controller back.
   */
  private async probeHttpRoutes(): Promise<void> {
    try {
      await this.clients.objects.list(
        GATEWAY_API_V1,
        "HTTPRoute",
        this.namespace,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        1,
      );
      this.httpRoutes.informer(GATEWAY_API_V1);
    } catch (err) {
      this.log.info(
        { err: describeError(err) },
        "HTTPRoutes not listable: their cache starts when a Canary uses gatewayapi",
      );
    }
  }

  synced(): boolean {
    return this.all().every((i) => i.synced);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all().map((i) => i.stop()), this.httpRoutes.stop()]);
  }
}
