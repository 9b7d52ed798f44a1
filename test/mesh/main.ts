// CLI: node --import tsx test/mesh/main.ts --xds 127.0.0.1:PORT --kubeconfig PATH [--namespace NS]
//        [--proxy-port N] [--metrics-port N]
// Prints one JSON line {"proxyUrl","metricsUrl","adminUrl","pid"} on stdout when ready; SIGTERM/SIGINT stop
// it (and every backend process) cleanly.
import { parseArgs } from "node:util";
import { startMeshSimulator, xdsAddressFromEnv } from "./simulator.js";

function port(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${flag}: not a port: ${text}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: "string" },
      xds: { type: "string" },
      namespace: { type: "string" },
      "proxy-port": { type: "string" },
      "metrics-port": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: main.ts --xds HOST:PORT (istiod's plaintext xDS; default $SERIN_ISTIOD_XDS) [--kubeconfig PATH]\n" +
        "               [--namespace NS (default: all)] [--proxy-port N] [--metrics-port N]\n",
    );
    return;
  }
  const mesh = await startMeshSimulator({
    xdsAddress: values.xds ?? xdsAddressFromEnv(),
    kubeconfigPath: values.kubeconfig ?? process.env.SERIN_KUBECONFIG,
    namespace: values.namespace,
    proxyPort: port(values["proxy-port"], "--proxy-port"),
    metricsPort: port(values["metrics-port"], "--metrics-port"),
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`[mesh] ${signal}: stopping\n`);
    mesh
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        process.stderr.write(`[mesh] stop failed: ${String(err)}\n`);
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.stdout.write(
    `${JSON.stringify({ proxyUrl: mesh.proxyUrl, metricsUrl: mesh.metricsUrl, adminUrl: mesh.adminUrl, pid: process.pid })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`[mesh] ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
