import { defineConfig } from "vitest/config";

// Two projects: `unit` needs nothing but Node; `e2e` gets one real local cluster
// (kube-apiserver + etcd + controllers + kwok), a real Prometheus and the mesh simulator,
// started once per run by the global setup and torn down after it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts", "test/mesh/**/*.unit.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/global-setup.ts"],
          // Fails a test on what istioctl validate/analyze found in the routing objects (docs/testing.md).
          setupFiles: ["test/e2e/istio-check.setup.ts"],
          testTimeout: 600_000,
          hookTimeout: 600_000,
          // One shared cluster: files run one after another so rollouts do not fight for 2 cores.
          fileParallelism: false,
        },
      },
    ],
  },
});
