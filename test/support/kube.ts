import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { CanaryStatus } from "../../src/api/canary.js";
import { kubectlPath } from "../env/cluster.js";
import { sleep } from "../env/processes.js";

export interface CanaryRow {
  name: string;
  status: string;
  weight: number;
  lastTransitionTime: string;
}

/** An Event about a Canary, as `kubectl describe canary` lists it; `at` in ms since the epoch. */
export interface CanaryEvent {
  type: string;
  reason: string;
  message: string;
  at: number;
}

interface EventItem {
  type: string;
  reason: string;
  message: string;
  involvedObject: { kind: string };
  firstTimestamp?: string;
  eventTime?: string;
  metadata: { creationTimestamp: string };
}

/** kubectl against the test cluster, as a user would type it. */
export class Kubectl {
  constructor(readonly kubeconfig: string) {}

  run(args: string[], input?: string): string {
    return execFileSync(kubectlPath(), [`--kubeconfig=${this.kubeconfig}`, ...args], {
      input,
      encoding: "utf8",
      stdio: ["pipe", "pipe", "pipe"],
    });
  }

  json<T>(args: string[]): T {
    return JSON.parse(this.run([...args, "-o", "json"])) as T;
  }

  createNamespace(prefix: string): string {
    const ns = `${prefix}-${randomBytes(3).toString("hex")}`;
    this.run(["create", "namespace", ns]);
    return ns;
  }

  /** `kubectl patch canary NAME --type=merge -p '{"spec": ...}'`: changes a Canary's spec as a user would. */
  patchCanarySpec(namespace: string, name: string, spec: Record<string, unknown>): void {
    this.run(["patch", "canary", name, "-n", namespace, "--type=merge", "-p", JSON.stringify({ spec })]);
  }

  /** Streams `kubectl get canary NAME -w` and keeps every row it prints, like a user watching. */
  watchCanary(namespace: string, name: string): CanaryWatch {
    return new CanaryWatch(
      spawn(kubectlPath(), [
        `--kubeconfig=${this.kubeconfig}`,
        "get",
        "canary",
        name,
        "-n",
        namespace,
        "-w",
        "--no-headers",
      ]),
    );
  }

  canary(namespace: string, name: string): { status?: CanaryStatus } {
    return this.json(["get", "canary", name, "-n", namespace]);
  }

  /** The namespace's Events about Canaries, oldest first. */
  canaryEvents(namespace: string): CanaryEvent[] {
    const list = this.json<{ items: EventItem[] }>(["get", "events", "-n", namespace]);
    return list.items
      .filter((e) => e.involvedObject.kind === "Canary")
      .map((e) => ({
        type: e.type,
        reason: e.reason,
        message: e.message,
        at: Date.parse(e.firstTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp),
      }))
      .sort((a, b) => a.at - b.at);
  }

  async waitForPhase(namespace: string, name: string, phases: string[], timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let phase = "";
    while (Date.now() < deadline) {
      phase = this.canary(namespace, name).status?.phase ?? "";
      if (phases.includes(phase)) return phase;
      await sleep(500);
    }
    throw new Error(
      `canary ${namespace}/${name} did not reach ${phases.join("|")} in ${timeoutMs} ms (phase ${phase || "none"})`,
    );
  }
}

export class CanaryWatch {
  readonly rows: CanaryRow[] = [];
  private buffer = "";

  constructor(private readonly child: ChildProcess) {
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      this.buffer += chunk;
      let nl = this.buffer.indexOf("\n");
      while (nl >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        const [rowName, status, weight, lastTransitionTime] = line.split(/\s+/);
        if (rowName && status)
          this.rows.push({
            name: rowName,
            status,
            weight: Number(weight),
            lastTransitionTime: lastTransitionTime ?? "",
          });
        nl = this.buffer.indexOf("\n");
      }
    });
  }

  statuses(): string[] {
    return this.rows.map((r) => r.status).filter((s, i, all) => i === 0 || all[i - 1] !== s);
  }

  weights(): number[] {
    return this.rows.map((r) => r.weight).filter((w, i, all) => i === 0 || all[i - 1] !== w);
  }

  stop(): void {
    this.child.kill();
  }
}

export async function promQuery(prometheusUrl: string, query: string): Promise<number | undefined> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  const raw = body.data?.result?.[0]?.value[1];
  return raw === undefined ? undefined : Number(raw);
}
