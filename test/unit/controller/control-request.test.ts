// The shell's side of runtime control: reading a request from the Canary's annotations (with the id
// derived when the user gave none) and removing it after its outcome is in status, fenced by
// resourceVersion, never throwing on a 409 (the next reconcile reads it again).
import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { CanaryStatus } from "../../../src/api/canary.js";
import { settleRequest } from "../../../src/controller/control-request.js";
import {
  actionWrittenAt,
  CONTROL_TEXT_MAX,
  derivedRequestId,
  readRequest,
  requestRemovalPatch,
} from "../../../src/core/control.js";
import type { KubeClients } from "../../../src/kube/client.js";

function fakeClients(fail?: Error) {
  const patches: Array<{ body: KubernetesObject; strategy: unknown }> = [];
  const clients = {
    objects: {
      patch: async (body: KubernetesObject, ...rest: unknown[]) => {
        if (fail) throw fail;
        patches.push({ body, strategy: rest[4] });
        return body;
      },
    },
  } as unknown as KubeClients;
  return { clients, patches };
}

const canary = (resourceVersion: string): KubernetesObject => ({
  apiVersion: "serin.dev/v1beta1",
  kind: "Canary",
  metadata: { name: "catalog", namespace: "shop", resourceVersion },
});

const annotated = (annotations: Record<string, string>, managedFields?: unknown) => ({
  annotations,
  ...(managedFields ? { managedFields } : {}),
});

/** The managedFields entry `kubectl annotate` leaves for the action annotation, at `time`. */
const annotatedAt = (time: string, manager = "kubectl-annotate") => ({
  manager,
  operation: "Update",
  time,
  fieldsV1: { "f:metadata": { "f:annotations": { "f:serin.dev/action": {}, "f:serin.dev/action-by": {} } } },
});
const statusWrite = (time: string) => ({
  manager: "serin",
  operation: "Update",
  subresource: "status",
  time,
  fieldsV1: { "f:status": { "f:phase": {} } },
});

describe("readRequest", () => {
  it("reads action, id, reason and by; no action, no request", () => {
    expect(readRequest(undefined, "rev-2")).toBeUndefined();
    expect(readRequest(annotated({ "serin.dev/action-id": "x" }), "rev-2")).toBeUndefined();
    expect(
      readRequest(
        annotated({
          "serin.dev/action": " Promote ",
          "serin.dev/action-id": "cli-123",
          "serin.dev/action-reason": " hotfix ",
          "serin.dev/action-by": "alice@example.com",
        }),
        "rev-2",
      ),
    ).toEqual({ action: "promote", id: "cli-123", reason: "hotfix", by: "alice@example.com" });
  });

  it("derives the id from the action, the target revision and when the annotation was written", () => {
    const first = [annotatedAt("2026-12-01T12:00:00Z"), statusWrite("2026-12-01T12:00:01Z")];
    const a = readRequest(annotated({ "serin.dev/action": "retry" }, first), "rev-2");
    expect(a).toEqual({ action: "retry", id: "retry@rev-2@2026-12-01T12:00:00Z" });
    // our own status writes do not change it (a crash before the annotation was removed: a double)
    const later = [annotatedAt("2026-12-01T12:00:00Z"), statusWrite("2026-12-01T12:09:00Z")];
    expect(readRequest(annotated({ "serin.dev/action": "retry" }, later), "rev-2")?.id).toBe(a?.id);
    // the same action annotated again later (a second retry of the same revision) is a new request
    const again = [annotatedAt("2026-12-01T12:30:00Z"), statusWrite("2026-12-01T12:09:00Z")];
    expect(readRequest(annotated({ "serin.dev/action": "retry" }, again), "rev-2")?.id).not.toBe(a?.id);
    // without managedFields: the action and the revision
    expect(readRequest(annotated({ "serin.dev/action": "abort" }), "rev-2")?.id).toBe(
      derivedRequestId("abort", "rev-2"),
    );
    expect(readRequest(annotated({ "serin.dev/action": "abort" }), "rev-3")?.id).not.toBe(
      derivedRequestId("abort", "rev-2"),
    );
    expect(actionWrittenAt([statusWrite("2026-12-01T12:09:00Z")])).toBeUndefined();
    expect(actionWrittenAt("nonsense")).toBeUndefined();
  });

  it("clips long texts for status and Events", () => {
    const long = "x".repeat(10_000);
    const r = readRequest(
      annotated({ "serin.dev/action": "abort", "serin.dev/action-reason": long }),
      "rev-2",
    );
    expect(r?.reason?.length).toBe(CONTROL_TEXT_MAX);
  });
});

describe("settleRequest: the annotations go after the status that consumed them", () => {
  const request = { action: "abort", id: "req-1" };
  const consumed: CanaryStatus = {
    phase: "Failed",
    control: { id: "req-1", action: "abort", at: "2026-12-01T12:00:00.000Z", result: "done" },
  };

  it("removes all four annotations with a merge patch fenced by the stored object's resourceVersion", async () => {
    const { clients, patches } = fakeClients();
    expect(await settleRequest(clients, request, consumed, canary("42"))).toBe(true);
    expect(patches).toHaveLength(1);
    expect(patches[0]?.strategy).toBe("application/merge-patch+json");
    expect(patches[0]?.body.metadata).toEqual({
      name: "catalog",
      namespace: "shop",
      resourceVersion: "42",
      annotations: {
        "serin.dev/action": null,
        "serin.dev/action-id": null,
        "serin.dev/action-reason": null,
        "serin.dev/action-by": null,
      },
    });
    expect(requestRemovalPatch(undefined).metadata.resourceVersion).toBeUndefined();
  });

  it("leaves a request that the recorded status did not consume (an obstacle stopped the decision)", async () => {
    const { clients, patches } = fakeClients();
    expect(await settleRequest(clients, request, { phase: "Progressing" }, canary("42"))).toBe(true);
    expect(await settleRequest(clients, undefined, consumed, canary("42"))).toBe(true);
    expect(patches).toHaveLength(0);
  });

  it("a 409 (a newer request written meanwhile) is not an error: it is tried again", async () => {
    const conflict = Object.assign(new Error("Conflict"), { code: 409 });
    const { clients } = fakeClients(conflict);
    const seen: unknown[] = [];
    expect(await settleRequest(clients, request, consumed, canary("42"), (e) => seen.push(e))).toBe(false);
    expect(seen).toEqual([conflict]);
  });
});
