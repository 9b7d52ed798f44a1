// What `kubectl serin replay` reads from the cluster besides the Canary, with the user's credentials: the
// MetricTemplates its metrics name, and the Secrets their providers' secretRef names. Reads only.
import { CoreV1Api } from "@kubernetes/client-node";
import { GROUP, METRIC_TEMPLATE_PLURAL, VERSION } from "../../api/constants.js";
import type { EffectiveSpec } from "../../api/defaults.js";
import { type MetricTemplate, MetricTemplateSchema } from "../../api/metric-template.js";
import { describeError, statusCode } from "../../kube/client.js";
import { decodeSecretData, type SecretReader } from "../../metrics/secret-data.js";
import { CliError } from "../errors.js";
import type { Session } from "../kube.js";

/** The MetricTemplates the spec's metrics name, keyed "namespace/name" (missing: left out). */
export async function readTemplates(
  s: Session,
  spec: EffectiveSpec,
  namespace: string,
): Promise<Map<string, MetricTemplate>> {
  const out = new Map<string, MetricTemplate>();
  for (const m of spec.analysis.metrics) {
    if (m.source.kind !== "template") continue;
    const ns = m.source.templateRef.namespace ?? namespace;
    const name = m.source.templateRef.name;
    const template = await readTemplate(s, ns, name);
    if (template !== undefined) out.set(`${ns}/${name}`, template);
  }
  return out;
}

async function readTemplate(
  s: Session,
  namespace: string,
  name: string,
): Promise<MetricTemplate | undefined> {
  try {
    const obj = await s.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: METRIC_TEMPLATE_PLURAL,
      namespace,
      name,
    });
    const parsed = MetricTemplateSchema.safeParse(obj);
    return parsed.success ? parsed.data : undefined;
  } catch (err) {
    // Not found: the check says "MetricTemplate ... not found", as the controller's would.
    if (statusCode(err) === 404) return undefined;
    throw new CliError(`cannot read MetricTemplate ${name} in namespace ${namespace}: ${describeError(err)}`);
  }
}

/** Reads a provider's Secret; a missing one is undefined (the check then says so). */
export function secretReader(s: Session): SecretReader {
  const core = s.config.makeApiClient(CoreV1Api);
  return async (namespace, name) => {
    try {
      return decodeSecretData(await core.readNamespacedSecret({ namespace, name }));
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  };
}
