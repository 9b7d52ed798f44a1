#!/usr/bin/env bash
# The one test command (README, CI): set up, type-check and lint, run the unit tests, then the
# end-to-end tests on a real local cluster + Prometheus + mesh simulator; print one summary line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
started=$(date +%s)
bash scripts/setup.sh
echo "setup done in $(( $(date +%s) - started ))s"

npx tsc -p tsconfig.json
npx biome check . >/dev/null || { npx biome check . ; exit 1; }

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
status=0
npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$reports/unit.json" || status=1
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json="$reports/e2e.json" || status=1

# vitest's summary is not a line CI tools read; print the plain "N passed, N failed" one.
STARTED=$started node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  const failures = [];
  const firstLine = (text) => String(text ?? "").replace(/\x1b\[[0-9;]*m/g, "").trim().split("\n")[0].slice(0, 300);
  for (const f of process.argv.slice(1)) {
    if (!fs.existsSync(f)) { failed += 1; console.error("missing report " + f); continue; }
    const r = JSON.parse(fs.readFileSync(f, "utf8"));
    passed += r.numPassedTests;
    // A file that fails to load (or in a hook) has no failed test but a failed suite: count it, never
    // hide it; a suite that failed through its tests is counted by its tests only.
    if (r.numTotalTests === 0) failed += 1;
    skipped += r.numPendingTests + r.numTodoTests;
    // CI keeps only the tail of the log: name what failed here, at the end, with its first error line.
    for (const suite of r.testResults) {
      const file = suite.name.replace(process.cwd() + "/", "");
      const tests = suite.assertionResults.filter((t) => t.status === "failed");
      for (const t of tests) failures.push(`FAILED ${file} > ${t.fullName}: ${firstLine(t.failureMessages[0])}`);
      if (suite.status === "failed" && tests.length === 0) failures.push(`FAILED ${file}: ${firstLine(suite.message)}`);
    }
  }
  failed += failures.length;
  for (const f of failures) console.log(f);
  console.log(`total ${Math.round(Date.now() / 1000) - Number(process.env.STARTED)}s`);
  console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed > 0 || passed === 0 ? 1 : 0);
' "$reports/unit.json" "$reports/e2e.json" || status=1
exit $status
