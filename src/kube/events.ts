import { hostname } from "node:os";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { describeError, isConflict } from "./client.js";
import type { RestApi } from "./rest.js";

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

/** The Event's subject for an object with metadata (a Canary read from the cache). */
export function involvedObject(
  apiVersion: string,
  kind: string,
  metadata: { name?: string; namespace?: string; uid?: string } | undefined,
): InvolvedObject {
  return {
    apiVersion,
    kind,
    name: metadata?.name ?? "",
    namespace: metadata?.namespace ?? "default",
    uid: metadata?.uid,
  };
}

/**
 * Writes core/v1 Events so that `kubectl describe canary` and `kubectl get events` tell the story.
 * Identical events within ten minutes are folded into one with a count, as client-go's recorder does,
 * so a canary stuck on the same failure does not flood etcd.
 */
export class EventRecorder {
  private readonly recent = new Map<string, { name: string; count: number; first: string; at: number }>();
  private readonly instance = hostname();

  constructor(
    private readonly rest: RestApi,
    private readonly log: Logger,
    private readonly component = "serin",
  ) {}

  async record(
    obj: InvolvedObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    /** a name that identifies this very event: recording it again (after a crash) is a no-op */
    idempotentName?: string,
  ): Promise<boolean> {
    const now = new Date();
    const key = `${obj.namespace}/${obj.name}/${obj.uid ?? ""}/${type}/${reason}/${message}`;
    const seen = idempotentName === undefined ? this.recent.get(key) : undefined;
    const fresh = seen === undefined || now.getTime() - seen.at > 600_000;
    const name =
      idempotentName ??
      (fresh
        ? `${obj.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`
        : seen.name);
    const count = fresh ? 1 : seen.count + 1;
    const first = fresh ? now.toISOString() : seen.first;
    const event: CoreV1Event = {
      metadata: { name, namespace: obj.namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.name,
        namespace: obj.namespace,
        uid: obj.uid,
      },
      reason,
      message: message.slice(0, 1024),
      type,
      count,
      firstTimestamp: new Date(first),
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: `serin.dev/${this.component}`,
      reportingInstance: this.instance,
    };
    try {
      const events = { apiVersion: "v1", plural: "events", namespace: obj.namespace };
      if (fresh) await this.rest.send("POST", events, { body: event });
      else await this.rest.send("PUT", { ...events, name }, { body: event });
      this.recent.set(key, { name, count, first, at: now.getTime() });
      this.prune(now.getTime());
      return true;
    } catch (err) {
      if (idempotentName !== undefined && isConflict(err)) return true; // recorded before a crash
      // Never fails a reconcile; the caller decides whether to try again (see reporter.ts).
      this.log.warn({ err: describeError(err), reason }, "could not record event");
      this.recent.delete(key);
      return false;
    }
  }

  private prune(now: number): void {
    if (this.recent.size < 2048) return;
    for (const [k, v] of this.recent) if (now - v.at > 600_000) this.recent.delete(k);
  }
}
