import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  applyPrimaryConfigs,
  buildPrimaryConfig,
  type ConfigObject,
  checksumConfig,
  configRefKey,
  findConfigRefs,
  findTargetConfigRefs,
  isConfigTrackingDisabled,
  isTracked,
  trackConfigs,
} from "../../../src/workload/config-refs.js";
import { WorkloadError } from "../../../src/workload/errors.js";
import { catalogCanary } from "../router/fixtures.js";
import { catalogDeployment, podSpecWithEveryConfigSource } from "./fixtures.js";

const cm = (
  name: string,
  data: Record<string, string>,
  annotations?: Record<string, string>,
): ConfigObject => ({
  kind: "configmap",
  object: { metadata: { name, namespace: "istioinaction", annotations, labels: { app: "catalog" } }, data },
});
const secret = (name: string, type: string, data: Record<string, string> = { k: "dg==" }): ConfigObject => ({
  kind: "secret",
  object: { metadata: { name }, type, data },
});

describe("findConfigRefs", () => {
  const refs = findConfigRefs(podSpecWithEveryConfigSource());
  const keys = refs.map(configRefKey);

  it("finds configs in volumes, projected volumes, env, envFrom and init containers", () => {
    expect(keys).toEqual([
      "configmap/cm-env",
      "configmap/cm-envfrom",
      "configmap/cm-init-envfrom",
      "configmap/cm-projected",
      "configmap/cm-volume",
      "secret/secret-env",
      "secret/secret-envfrom",
      "secret/secret-init-env",
      "secret/secret-projected",
      "secret/secret-volume",
    ]);
  });

  it("ignores image pull secrets, fieldRefs and service account tokens", () => {
    expect(keys).not.toContain("secret/registry");
  });

  it("marks a config required only when a reference says optional: false", () => {
    const required = refs.filter((r) => r.required).map(configRefKey);
    expect(required).toEqual(["secret/secret-init-env"]);
  });

  it("deduplicates, and any explicit optional: false wins", () => {
    const spec = {
      containers: [
        {
          name: "a",
          envFrom: [{ configMapRef: { name: "shared", optional: true } }],
          env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "shared", key: "x", optional: false } } }],
        },
      ],
      volumes: [{ name: "v", configMap: { name: "shared" } }],
    };
    expect(findConfigRefs(spec)).toEqual([{ kind: "configmap", name: "shared", required: true }]);
  });
});

describe("config-tracking opt-out", () => {
  it("accepts flagger.app and serin.dev annotations, disabled or disable", () => {
    expect(isConfigTrackingDisabled({ "flagger.app/config-tracking": "disabled" })).toBe(true);
    expect(isConfigTrackingDisabled({ "serin.dev/config-tracking": "disable" })).toBe(true);
    expect(isConfigTrackingDisabled({ "serin.dev/config-tracking": "enabled" })).toBe(false);
    expect(isConfigTrackingDisabled(undefined)).toBe(false);
  });

  it("skips opted-out ConfigMaps and Secrets", () => {
    expect(isTracked(cm("a", {}, { "flagger.app/config-tracking": "disabled" }))).toBe(false);
    expect(isTracked(cm("a", {}))).toBe(true);
  });

  it("skips every config of a target that opts out", () => {
    const target = catalogDeployment();
    expect(findTargetConfigRefs(target).map(configRefKey)).toEqual(["configmap/catalog-env"]);
    target.metadata = { ...target.metadata, annotations: { "serin.dev/config-tracking": "disabled" } };
    expect(findTargetConfigRefs(target)).toEqual([]);
  });

  it("tracks only application Secret types", () => {
    expect(isTracked(secret("s", "Opaque"))).toBe(true);
    expect(isTracked(secret("s", "kubernetes.io/tls"))).toBe(true);
    expect(isTracked(secret("s", "kubernetes.io/basic-auth"))).toBe(true);
    expect(isTracked(secret("s", "kubernetes.io/ssh-auth"))).toBe(true);
    expect(isTracked(secret("s", "kubernetes.io/dockerconfigjson"))).toBe(false);
    expect(isTracked(secret("s", "kubernetes.io/service-account-token"))).toBe(false);
  });
});

describe("checksumConfig", () => {
  it("equals Flagger's checksum: sha256 of Go's JSON of data, first 8 bytes", () => {
    const data = { "b.yaml": "x: <1> & 2", "a.yaml": "y" };
    const goJson = '{"a.yaml":"y","b.yaml":"x: \\u003c1\\u003e \\u0026 2"}';
    const expected = createHash("sha256").update(goJson).digest("hex").slice(0, 16);
    expect(checksumConfig(cm("c", data))).toBe(expected);
  });

  it("changes with the data, not with metadata", () => {
    const base = checksumConfig(cm("c", { k: "v1" }));
    expect(checksumConfig(cm("c", { k: "v2" }))).not.toBe(base);
    expect(checksumConfig(cm("other-name", { k: "v1" }, { note: "x" }))).toBe(base);
  });

  it("covers a ConfigMap's binaryData too", () => {
    const plain = cm("c", { k: "v" });
    const withBinary: ConfigObject = {
      kind: "configmap",
      object: { ...plain.object, binaryData: { "logo.png": "iVBORw0KGgo=" } },
    };
    expect(checksumConfig(withBinary)).not.toBe(checksumConfig(plain));
  });
});

describe("trackConfigs", () => {
  it("checksums existing tracked configs and sorts out missing ones", () => {
    const refs = findConfigRefs(podSpecWithEveryConfigSource());
    const present: Record<string, ConfigObject> = {
      "configmap/cm-env": cm("cm-env", { level: "debug" }),
      "configmap/cm-volume": cm("cm-volume", { f: "1" }, { "flagger.app/config-tracking": "disabled" }),
      "secret/secret-env": secret("secret-env", "Opaque"),
    };
    const result = trackConfigs(refs, (ref) => present[configRefKey(ref)]);
    expect(Object.keys(result.checksums)).toEqual(["configmap/cm-env", "secret/secret-env"]);
    expect(result.missingRequired.map(configRefKey)).toEqual(["secret/secret-init-env"]);
    expect(result.missing).toHaveLength(6);
  });
});

describe("buildPrimaryConfig", () => {
  const canary = catalogCanary();

  it("copies a ConfigMap as <name>-primary owned by the Canary", () => {
    const source = cm("catalog-env", { LEVEL: "info" });
    const copy = buildPrimaryConfig(source, canary);
    expect(copy.kind).toBe("configmap");
    expect(copy.object.metadata).toEqual({
      name: "catalog-env-primary",
      namespace: "istioinaction",
      labels: {},
      ownerReferences: [
        expect.objectContaining({ kind: "Canary", name: "catalog-release", controller: true }),
      ],
    });
    expect(copy.object.data).toEqual({ LEVEL: "info" });
    expect(copy.object.data).not.toBe(source.object.data);
  });

  it("copies labels only by prefix, and a Secret's type", () => {
    const copy = buildPrimaryConfig(cm("c", {}), canary, ["app"]);
    expect(copy.object.metadata?.labels).toEqual({ app: "catalog" });
    const tls = buildPrimaryConfig(secret("tls", "kubernetes.io/tls"), canary);
    expect(tls.kind === "secret" && tls.object.type).toBe("kubernetes.io/tls");
    expect(tls.object.metadata?.name).toBe("tls-primary");
  });
});

describe("applyPrimaryConfigs", () => {
  it("points every tracked reference at its -primary copy, leaving the rest and the input alone", () => {
    const spec = podSpecWithEveryConfigSource();
    const before = structuredClone(spec);
    const tracked = Object.fromEntries(findConfigRefs(spec).map((r) => [configRefKey(r), "sum"]));
    delete tracked["configmap/cm-env"];
    const out = applyPrimaryConfigs(spec, tracked);
    expect(spec).toEqual(before);
    expect(findConfigRefs(out).map(configRefKey)).toEqual([
      "configmap/cm-env",
      "configmap/cm-envfrom-primary",
      "configmap/cm-init-envfrom-primary",
      "configmap/cm-projected-primary",
      "configmap/cm-volume-primary",
      "secret/secret-env-primary",
      "secret/secret-envfrom-primary",
      "secret/secret-init-env-primary",
      "secret/secret-projected-primary",
      "secret/secret-volume-primary",
    ]);
    expect(out.initContainers?.[0]?.envFrom?.[0]?.configMapRef?.name).toBe("cm-init-envfrom-primary");
    expect(out.imagePullSecrets).toEqual([{ name: "registry" }]);
  });
});

describe("buildPrimaryConfig names", () => {
  it("a config whose -primary copy would exceed 253 characters is a WorkloadError (Blocked), not a 422 loop", () => {
    const long = "c".repeat(250);
    expect(() => buildPrimaryConfig(cm(long, {}), catalogCanary())).toThrow(WorkloadError);
    expect(() => buildPrimaryConfig(cm(long, {}), catalogCanary())).toThrow(/at most 245 characters/);
  });
});
