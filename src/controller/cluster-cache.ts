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
import type { KubeClients } from "../kube/client.js";
import { ResilientInformer } from "../kube/informer.js";
import { TRIM, type Trim } from "../kube/trim.js";

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

  constructor(clients: KubeClients, log: Logger, namespace?: string) {
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
    await Promise.all(this.all().map((i) => i.start()));
  }

  synced(): boolean {
    return this.all().every((i) => i.synced);
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((i) => i.stop()));
  }
}
