// /healthz answers 500 with the reason when the controller is stuck; /readyz stays a plain 503.
import type { AddressInfo } from "node:net";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { startHttpServer } from "../../../src/observability/http-server.js";

describe("probes", () => {
  it("/healthz carries the failure message with status 500", async () => {
    let healthy = { ok: true, message: "ok" };
    const server = await startHttpServer("127.0.0.1:0", new Registry(), {
      healthy: () => healthy,
      ready: () => false,
    });
    const { port } = server.address() as AddressInfo;
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return [res.status, await res.text()] as const;
    };
    try {
      expect(await get("/healthz")).toEqual([200, "ok"]);
      healthy = { ok: false, message: "worker 3 has been reconciling Canary a/b for 16m0s" };
      expect(await get("/healthz")).toEqual([500, "worker 3 has been reconciling Canary a/b for 16m0s"]);
      expect(await get("/readyz")).toEqual([503, "not ready"]);
    } finally {
      server.close();
    }
  });
});
