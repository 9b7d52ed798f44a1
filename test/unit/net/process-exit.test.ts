// Pooled keep-alive connections must not keep a stopping Serin alive: a process that made a query
// through the shared agents exits as soon as its work is done, not when the server drops the socket.
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let server: Server;
let address = "";

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ status: "success", data: { resultType: "scalar", result: [0, "1"] } }));
  });
  // The server would keep an idle connection for a minute.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("process exit", () => {
  it("an idle pooled connection does not hold the process open", async () => {
    const script = `
      import { PrometheusClient } from "./src/metrics/prometheus-client.ts";
      const answer = await new PrometheusClient({ address: ${JSON.stringify(address)} }).query("up");
      console.log(JSON.stringify(answer));
      console.log("done " + Date.now());
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: process.cwd(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const exitedAt = await new Promise<number>((resolve) => child.on("exit", () => resolve(Date.now())));
    expect(out).toContain('{"ok":true,"value":1}');
    const doneAt = Number(/done (\d+)/.exec(out)?.[1]);
    expect(exitedAt - doneAt).toBeLessThan(2_000);
  }, 30_000);
});
