// Setup file of the e2e project: after each test, and once more after each file, asks the Istio referee
// (test/support/istio-validator.ts, started by the global setup) for what `istioctl validate` found in
// the VirtualServices and DestinationRules Serin wrote, and what `istioctl analyze` found in the
// namespaces whose routing objects changed; any finding fails the test with Istio's own message.
// After hooks run in reverse order of registration (vitest's default `sequence.hooks: "stack"`), so
// these run after the test file's own afterEach/afterAll; a namespace a file deletes in its own hook
// is Terminating by then and no longer analyzed (its validate findings still count).
import { afterAll, afterEach, inject } from "vitest";
import { checkFailure, IstioCheckClient } from "../support/istio-findings.js";

const url = inject("istioCheckUrl");
const client = url ? new IstioCheckClient(url) : undefined;

async function check(when: string): Promise<void> {
  if (client === undefined) return;
  const report = await client.check();
  const failure = checkFailure(report, when);
  if (failure) throw new Error(failure);
}

afterEach(async (context) => {
  await check(`after test "${context.task.name}"`);
});

afterAll(async () => {
  await check("after the file's last test and its own afterAll hooks");
});
