// Minimal Istio networking CRDs (VirtualService, DestinationRule) for a cluster without Istio: same group,
// kinds, versions (v1alpha3, v1beta1, v1; no conversion needed) and printer columns as Istio's, with
// `spec` kept schemaless (Istio validates in its webhook, which is not here).
import {
  ApiextensionsV1Api,
  type KubeConfig,
  type V1CustomResourceDefinition,
  type V1CustomResourceValidation,
} from "@kubernetes/client-node";

const GROUP = "networking.istio.io";

function crd(
  kind: string,
  plural: string,
  shortName: string,
  columns: Array<{ name: string; jsonPath: string; type: string; description: string }>,
): V1CustomResourceDefinition {
  // client-node's serializer knows this field as x_kubernetes_preserve_unknown_fields (a literal
  // "x-kubernetes-..." key would be dropped, and the API server would then prune every spec).
  const schema: V1CustomResourceValidation = {
    openAPIV3Schema: {
      type: "object",
      properties: {
        spec: { type: "object", x_kubernetes_preserve_unknown_fields: true },
        status: { type: "object", x_kubernetes_preserve_unknown_fields: true },
      },
    },
  };
  const printer = [
    ...columns,
    { name: "Age", jsonPath: ".metadata.creationTimestamp", type: "date", description: "" },
  ];
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "serin-mesh-simulator" } },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [shortName],
        categories: ["istio-io", "networking-istio-io"],
      },
      versions: ["v1alpha3", "v1beta1", "v1"].map((name) => ({
        name,
        served: true,
        storage: name === "v1beta1",
        schema,
        subresources: { status: {} },
        additionalPrinterColumns: printer,
      })),
    },
  };
}

export function istioCrds(): V1CustomResourceDefinition[] {
  return [
    crd("VirtualService", "virtualservices", "vs", [
      { name: "Gateways", jsonPath: ".spec.gateways", type: "string", description: "The names of gateways" },
      { name: "Hosts", jsonPath: ".spec.hosts", type: "string", description: "The destination hosts" },
    ]),
    crd("DestinationRule", "destinationrules", "dr", [
      { name: "Host", jsonPath: ".spec.host", type: "string", description: "The name of a service" },
    ]),
  ];
}

function statusOf(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "number")
    return err.code;
  return undefined;
}

/** Create the CRDs unless they exist, then wait until the API server reports them Established. */
export async function ensureIstioCrds(kc: KubeConfig, timeoutMs = 60_000): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  for (const body of istioCrds()) {
    try {
      await api.createCustomResourceDefinition({ body });
    } catch (err) {
      if (statusOf(err) !== 409) throw err;
    }
  }
  const deadline = Date.now() + timeoutMs;
  for (const body of istioCrds()) {
    const name = body.metadata?.name ?? "";
    for (;;) {
      const got = await api.readCustomResourceDefinition({ name });
      const established = got.status?.conditions?.some(
        (c) => c.type === "Established" && c.status === "True",
      );
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
