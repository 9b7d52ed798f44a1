import type { V1Service } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import {
  adoptionPatch,
  mergePorts,
  ORIGINAL_SERVICE_ANNOTATION,
  readOriginal,
  replaceMapPatch,
  restorePatch,
} from "../../../src/router/apex-adoption.js";

const userService: V1Service = {
  metadata: { name: "catalog", resourceVersion: "7", annotations: { team: "shop" } },
  spec: {
    selector: { app: "catalog", tier: "backend" },
    ports: [
      { name: "http", port: 80, targetPort: 3000, protocol: "TCP" },
      { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
    ],
  },
};
const desired: V1Service = {
  metadata: { name: "catalog" },
  spec: {
    selector: { app: "catalog-primary" },
    ports: [{ name: "http", port: 80, targetPort: 3000, protocol: "TCP" }],
  },
};

describe("adopting the app's own apex Service", () => {
  it("points the selector at the primary, drops old selector keys, and keeps the user's other ports", () => {
    const patch = adoptionPatch(userService, desired) as {
      spec: { selector: Record<string, string | null>; ports: unknown[] };
    };
    expect(patch.spec.selector).toEqual({ app: "catalog-primary", tier: null });
    expect(patch.spec.ports).toEqual(userService.spec?.ports);
  });

  it("records the original selector and ports once, for revertOnDeletion", () => {
    const patch = adoptionPatch(userService, desired) as {
      metadata: { annotations: Record<string, string> };
    };
    const annotated: V1Service = {
      ...userService,
      metadata: { ...userService.metadata, annotations: patch.metadata.annotations },
    };
    expect(readOriginal(annotated)).toEqual({
      selector: userService.spec?.selector,
      ports: userService.spec?.ports,
    });
  });

  it("writes nothing when the Service already routes to the primary and its original is recorded", () => {
    const adopted: V1Service = {
      metadata: {
        ...userService.metadata,
        annotations: { [ORIGINAL_SERVICE_ANNOTATION]: JSON.stringify({ selector: {}, ports: [] }) },
      },
      spec: { selector: { app: "catalog-primary" }, ports: userService.spec?.ports },
    };
    expect(adoptionPatch(adopted, desired)).toBeUndefined();
  });

  it("restores exactly what the user wrote and removes the record", () => {
    const adopted: V1Service = {
      metadata: { resourceVersion: "9" },
      spec: { selector: { app: "catalog-primary" }, ports: [] },
    };
    const patch = restorePatch(adopted, {
      selector: { app: "catalog", tier: "backend" },
      ports: userService.spec?.ports ?? [],
    });
    expect(patch).toEqual({
      metadata: { resourceVersion: "9", annotations: { [ORIGINAL_SERVICE_ANNOTATION]: null } },
      spec: { selector: { app: "catalog", tier: "backend" }, ports: userService.spec?.ports },
    });
  });

  it("adds Serin's port when the user's Service lacks it, and replaces it by number or name", () => {
    expect(mergePorts([{ name: "grpc", port: 9000 }], { name: "http", port: 80 })).toEqual([
      { name: "grpc", port: 9000 },
      { name: "http", port: 80 },
    ]);
    expect(
      mergePorts([{ name: "web", port: 80, targetPort: 8080 }], { name: "http", port: 80, targetPort: 3000 }),
    ).toEqual([{ name: "http", port: 80, targetPort: 3000 }]);
    expect(replaceMapPatch({ a: "1", b: "2" }, { a: "3" })).toEqual({ a: "3", b: null });
  });
});
