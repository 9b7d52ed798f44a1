import type { V1OwnerReference } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  controllerOf,
  includeByPrefix,
  isControlledBy,
  ownerReferenceFor,
  ownershipOf,
  refuseToOverwrite,
} from "../../../src/router/ownership.js";
import { catalogCanary } from "./fixtures.js";

const canary = catalogCanary();
const withOwners = (ownerReferences: V1OwnerReference[]) => ({
  metadata: { name: "catalog", ownerReferences },
});

describe("ownership", () => {
  it("ownerReferenceFor makes the Canary the controller and blocks owner deletion", () => {
    expect(ownerReferenceFor(canary)).toEqual({
      apiVersion: "serin.dev/v1beta1",
      kind: "Canary",
      name: "catalog-release",
      uid: "uid-catalog-1",
      controller: true,
      blockOwnerDeletion: true,
    });
  });

  it("recognises objects it controls", () => {
    const obj = { metadata: { name: "catalog", ownerReferences: [ownerReferenceFor(canary)] } };
    expect(isControlledBy(obj, canary)).toBe(true);
    expect(controllerOf(obj)?.uid).toBe("uid-catalog-1");
    expect(ownershipOf(obj, canary)).toEqual({ status: "owned" });
    expect(refuseToOverwrite(obj, canary)).toBeUndefined();
  });

  it("refuses objects another controller owns, with a reason", () => {
    const helm = withOwners([
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "x", uid: "u", controller: true },
    ]);
    const reason = refuseToOverwrite(helm, canary, { adoptUnowned: true });
    expect(reason).toContain("ReplicaSet x");
    expect(ownershipOf(helm, canary).status).toBe("foreign");
  });

  it("spots a previous Canary of the same name awaiting garbage collection", () => {
    const stale = withOwners([{ ...ownerReferenceFor(canary), uid: "uid-old" }]);
    const own = ownershipOf(stale, canary);
    expect(own.status).toBe("foreign");
    expect("reason" in own && own.reason).toContain("uid-old");
  });

  it("adopts unowned objects only when asked", () => {
    const plain = { metadata: { name: "catalog" } };
    expect(ownershipOf(plain, canary).status).toBe("unowned");
    expect(refuseToOverwrite(plain, canary)).toContain("not managed by Canary catalog-release");
    expect(refuseToOverwrite(plain, canary, { adoptUnowned: true })).toBeUndefined();
    // a non-controller owner reference does not make the object controlled
    const noController = withOwners([{ ...ownerReferenceFor(canary), controller: false }]);
    expect(ownershipOf(noController, canary).status).toBe("unowned");
  });

  it("includeByPrefix copies matching keys and never Flux's bookkeeping", () => {
    const labels = {
      "app.kubernetes.io/name": "catalog",
      team: "a",
      "kustomize.toolkit.fluxcd.io/name": "apps",
    };
    expect(includeByPrefix(labels, [])).toEqual({});
    expect(includeByPrefix(labels, ["app.kubernetes.io"])).toEqual({ "app.kubernetes.io/name": "catalog" });
    expect(includeByPrefix(labels, ["*"])).toEqual({ "app.kubernetes.io/name": "catalog", team: "a" });
  });
});
