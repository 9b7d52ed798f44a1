// The primary's promoted template, kept where Kubernetes keeps template history: a ControllerRevision
// owned by the Canary. If someone deletes `<target>-primary`, it comes back on the revision that last
// passed analysis — never re-copied from the target, which may hold the revision under test.
import type {
  V1ControllerRevision,
  V1ControllerRevisionList,
  V1Deployment,
  V1DeploymentSpec,
  V1ObjectMeta,
} from "@kubernetes/client-node";
import type { Canary } from "../api/canary.js";
import { isConflict, isNotFound, type KubeClients } from "../kube/client.js";
import { ownerReferenceFor } from "../router/ownership.js";

/** the owning Canary's uid: a name can be longer than a label value may be */
const CANARY_LABEL = "serin.dev/canary-uid";
const REVISION_LABEL = "serin.dev/revision";

const revisions = (namespace: string, name?: string) => ({
  apiVersion: "apps/v1",
  plural: "controllerrevisions",
  namespace,
  ...(name !== undefined ? { name } : {}),
});

/** What a record holds: the primary Deployment as Serin built it for one revision. */
interface RecordedPrimary {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: V1DeploymentSpec;
}

/**
 * `<canary>-<uid8>-<revision>`: the uid keeps a re-created Canary of the same name from mistaking the old
 * one's record (still waiting for garbage collection) for its own; a long name is shortened, never the tail.
 */
export function recordName(canary: Pick<Canary, "metadata">, revision: string): string {
  const uid = (canary.metadata.uid ?? "").slice(0, 8);
  return `${(canary.metadata.name ?? "").slice(0, 180)}-${uid}-${revision}`;
}

export class PrimaryRecords {
  constructor(private readonly clients: KubeClients) {}

  /**
   * Records the primary built for `revision` before it is written to the primary, and drops records
   * of revisions that are neither this one nor `keep` (the promoted one, until this one replaces it).
   */
  async save(canary: Canary, revision: string, primary: V1Deployment, keep?: string): Promise<void> {
    const namespace = canary.metadata.namespace ?? "default";
    const data: RecordedPrimary = {
      metadata: { labels: primary.metadata?.labels, annotations: primary.metadata?.annotations },
      spec: primary.spec ?? { selector: {}, template: {} },
    };
    const body: V1ControllerRevision = {
      apiVersion: "apps/v1",
      kind: "ControllerRevision",
      metadata: {
        name: recordName(canary, revision),
        namespace,
        labels: { [CANARY_LABEL]: canary.metadata.uid ?? "", [REVISION_LABEL]: revision },
        ownerReferences: [ownerReferenceFor(canary)],
      },
      data,
      revision: Date.now(),
    };
    try {
      await this.clients.rest.send("POST", revisions(namespace), { body });
    } catch (err) {
      // The same revision recorded before (a retried promotion): its data is the same template.
      if (!isConflict(err)) throw err;
    }
    await this.prune(canary, [revision, ...(keep ? [keep] : [])]);
  }

  /** The primary Deployment recorded for `revision`, ready to create; undefined when none was recorded. */
  async load(canary: Canary, revision: string, name: string): Promise<V1Deployment | undefined> {
    const namespace = canary.metadata.namespace ?? "default";
    let record: V1ControllerRevision;
    try {
      record = await this.clients.rest.send<V1ControllerRevision>(
        "GET",
        revisions(namespace, recordName(canary, revision)),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const data = record.data as Partial<RecordedPrimary> | undefined;
    // Someone else's owner, or a record edited into another shape: not a template we can trust.
    const ours = record.metadata?.ownerReferences?.some((r) => r.uid === canary.metadata.uid) ?? false;
    if (!ours || data?.spec === undefined || typeof data.spec !== "object") return undefined;
    const metadata: V1ObjectMeta = {
      name,
      namespace,
      labels: data.metadata?.labels,
      annotations: data.metadata?.annotations,
      ownerReferences: [ownerReferenceFor(canary)],
    };
    return { apiVersion: "apps/v1", kind: "Deployment", metadata, spec: data.spec };
  }

  private async prune(canary: Canary, keep: string[]): Promise<void> {
    const namespace = canary.metadata.namespace ?? "default";
    const list = await this.clients.rest.send<V1ControllerRevisionList>("GET", revisions(namespace), {
      query: { labelSelector: `${CANARY_LABEL}=${canary.metadata.uid ?? ""}` },
    });
    for (const item of list.items) {
      const revision = item.metadata?.labels?.[REVISION_LABEL];
      const owned = item.metadata?.ownerReferences?.some((r) => r.uid === canary.metadata.uid);
      if (!owned || revision === undefined || keep.includes(revision)) continue;
      try {
        await this.clients.rest.send("DELETE", revisions(namespace, item.metadata?.name ?? ""));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}
