// `kubectl serin dashboard`: serves the live dashboard on 127.0.0.1 with the user's own kubeconfig, prints
// its URL (one line on stdout), opens a browser unless --no-open, and runs until SIGINT or SIGTERM (exit 0).
// No new in-cluster attack surface: nothing is deployed, the page acts only as the user could with kubectl.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { isIP } from "node:net";
import { DEFAULT_DASHBOARD_PORT, DEFAULT_WAIT_MS, type Options } from "../args.js";
import { sendControl } from "../control.js";
import { explainError } from "../errors.js";
import type { Io } from "../io.js";
import { attempt, type Session } from "../kube.js";
import { controlAnswer } from "./api.js";
import { type Backend, createDashboard } from "./server.js";
import { startWatcher } from "./watcher.js";

/** Loopback addresses and names: only this machine can connect. */
export function isLoopback(address: string): boolean {
  if (address === "localhost" || address === "::1") return true;
  return isIP(address) === 4 && address.startsWith("127.");
}

/** The Host headers a loopback dashboard answers to. */
export function loopbackHosts(address: string, port: number): Set<string> {
  const names = new Set([
    "127.0.0.1",
    "localhost",
    "[::1]",
    address.includes(":") ? `[${address}]` : address,
  ]);
  return new Set([...names].map((n) => `${n}:${port}`));
}

/** Opens the URL in the user's browser, best effort: the URL is printed anyway. */
function openBrowser(url: string): void {
  const command =
    process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(command, [url], { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {
    // no browser here (a server, a container): the printed URL is enough
  }
}

export function runDashboard(s: Session, o: Options, io: Io): Promise<number> {
  const address = o.address ?? "127.0.0.1";
  if (!isLoopback(address) && !o.allowRemote) {
    io.err(
      `error: refusing to listen on ${address}: the dashboard acts with your credentials (context ${s.context}), so anyone who can reach it could steer your rollouts. Use 127.0.0.1 (and an SSH tunnel), or --allow-remote if you really mean it.\n`,
    );
    return Promise.resolve(1);
  }
  const namespace = o.allNamespaces ? undefined : s.namespace;
  const token = randomBytes(24).toString("hex");
  let port = o.port ?? DEFAULT_DASHBOARD_PORT;
  let notify: (key: string | undefined) => void = () => {};
  const watcher = startWatcher(s, namespace, (key) => notify(key));
  const backend: Backend = {
    context: s.context,
    scope: namespace === undefined ? "all namespaces" : `namespace ${namespace}`,
    canaries: watcher.canaries,
    canary: watcher.canary,
    events: watcher.events,
    problem: watcher.problem,
    control: async (ns, name, action, reason) => {
      const r = await sendControl(
        s,
        { namespace: ns, name, action, waitMs: DEFAULT_WAIT_MS, ...(reason !== undefined ? { reason } : {}) },
        io.now(),
      );
      return controlAnswer(action, name, DEFAULT_WAIT_MS, r, (err, verb) =>
        explainError(err, attempt(s, verb, ns, name)),
      );
    },
  };
  const hosts = isLoopback(address) ? loopbackHosts(address, port) : undefined;
  const dashboard = createDashboard(backend, { token, hosts: () => hosts });
  notify = dashboard.notify;
  const server = createServer(dashboard.handle);

  return new Promise<number>((resolve) => {
    const finish = (code: number) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      io.stop?.removeEventListener("abort", stop);
      watcher.stop();
      dashboard.close();
      server.close(() => resolve(code));
      server.closeAllConnections();
    };
    const stop = () => finish(0);
    server.on("error", (err: NodeJS.ErrnoException) => {
      io.err(`error: cannot listen on ${address}:${port}: ${err.code ?? err.message}\n`);
      watcher.stop();
      dashboard.close();
      resolve(1);
    });
    server.listen(port, address, () => {
      const bound = server.address();
      if (bound !== null && typeof bound === "object") port = bound.port;
      if (hosts !== undefined) for (const h of loopbackHosts(address, port)) hosts.add(h);
      const shown = address.includes(":") ? `[${address}]` : address;
      const url = `http://${shown}:${port}/`;
      io.out(`Serin dashboard: ${url}\n`);
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      io.stop?.addEventListener("abort", stop);
      if (o.open !== false) openBrowser(url);
    });
  });
}
