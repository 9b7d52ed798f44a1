import { describe, expect, it } from "vitest";
import { PLAIN, stripAnsi, style, visibleLength } from "../../../src/cli/format.js";
import { explainView, renderExplain, runDecisions } from "../../../src/cli/render-explain.js";
import { compactMetric, renderDetail, renderTable } from "../../../src/cli/render-get.js";
import { historyView, renderHistory } from "../../../src/cli/render-history.js";
import { summarize } from "../../../src/cli/summary.js";
import { DECISION_LOG_SIZE } from "../../../src/core/decision-log.js";
import { HISTORY_SIZE } from "../../../src/core/history.js";
import { blueGreen, canary, failed, fresh, NOW, progressing } from "./fixtures.js";

const lines = (text: string) => text.trimEnd().split("\n");

describe("get: the table", () => {
  it("shows phase, the weight bar toward maxWeight, the last check against thresholds, the next step and harm", () => {
    const text = renderTable([summarize(progressing, NOW)], false);
    expect(lines(text)).toEqual([
      "NAME              PHASE         WEIGHT               LAST CHECK                           NEXT STEP   HARM",
      "catalog-release   Progressing   [######----] 30/50   success 99.60%>=99 p99 24.7ms<=500   in 10s      1,406 req, 3 failed, 12 slow",
    ]);
  });

  it("adds NAMESPACE with -A and handles Canaries without status or with iterations", () => {
    const text = renderTable(
      [summarize(fresh, NOW), summarize(blueGreen, NOW), summarize(failed, NOW)],
      true,
    );
    const [head, frontend, payments, reviews] = lines(text);
    expect(head).toMatch(/^NAMESPACE\s+NAME\s+PHASE\s+WEIGHT\s+LAST CHECK\s+NEXT STEP\s+HARM$/);
    expect(frontend).toMatch(/^web\s+frontend\s+Initializing\s+\[----------\] 0\/50\s+-\s+-\s+-$/);
    expect(payments).toContain("[----------] 0/100 iter 2/5");
    expect(payments).toContain("in 38s");
    expect(reviews).toMatch(/reviews\s+Failed\s+\[----------\] 0\/50\s+-\s+-\s+221 req, 34 failed$/);
  });

  it("marks failed and held metrics in words, colours only when asked", () => {
    const m = { name: "request-duration", verdict: "failed" as const, unit: "ms", canary: 612, max: 500 };
    expect(compactMetric(m, PLAIN)).toBe("p99 612ms<=500!");
    expect(compactMetric({ ...m, verdict: "held" }, PLAIN)).toBe("p99 612ms<=500?");
    expect(compactMetric({ name: "errors", verdict: "passed", unit: "" }, PLAIN)).toBe("errors -");
    const coloured = compactMetric(m, style(true));
    expect(coloured).toBe("\x1b[31mp99 612ms<=500!\x1b[0m");
    expect(visibleLength(coloured)).toBe("p99 612ms<=500!".length);
    expect(renderTable([summarize(progressing, NOW)], false)).not.toContain("\x1b[");
  });

  it("aligns columns with ANSI colours", () => {
    const text = renderTable([summarize(failed, NOW), summarize(progressing, NOW)], false, style(true));
    const [head, , row] = lines(text).map((l) => stripAnsi(l));
    expect(row?.indexOf("[######")).toBe(head?.indexOf("WEIGHT"));
  });

  it("says when the next step is overdue, and nothing outside a run", () => {
    const late = summarize(progressing, new Date("2026-11-27T20:07:00Z"));
    expect(late.nextStepInSeconds).toBe(-28);
    expect(renderTable([late], false)).toContain("due now");
    expect(summarize(failed, NOW).nextStepInSeconds).toBeUndefined();
  });

  it("says when a Canary is suspended or paused", () => {
    const paused = canary("p", { ...progressing.status, paused: true });
    expect(renderTable([summarize(paused, NOW)], false)).toContain("Progressing (paused)");
    const suspended = canary("s", { phase: "Succeeded" }, "shop", { suspend: true });
    expect(renderTable([summarize(suspended, NOW)], false)).toContain("Succeeded (suspended)");
  });

  it("shows a Canary whose Ready condition is False", () => {
    const invalid = canary("bad", {
      phase: "Initialized",
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "InvalidSpec",
          message: "spec.analysis.stepWeight (60) > maxWeight",
        },
      ],
    });
    const s = summarize(invalid, NOW);
    expect(renderTable([s], false)).toContain("Initialized (InvalidSpec)");
    expect(renderDetail(s)).toContain("Not ready:   InvalidSpec: spec.analysis.stepWeight (60) > maxWeight");
  });
});

describe("get NAME: the detail view", () => {
  it("shows the run, harm and the last check's numbers against thresholds", () => {
    expect(lines(renderDetail(summarize(progressing, NOW)))).toEqual([
      "Name:        catalog-release",
      "Namespace:   shop",
      "Phase:       Progressing   failed checks 1/5",
      "Strategy:    canary",
      "Revision:    7d9f5c (catalog:v2)",
      "Weight:      [######----] 30/50   next step in 10s",
      "Traffic:     since 2026-11-27 20:05:32",
      "Harm:        canary served 1,406 requests, 3 failed (0.21%), 12 slower than 500ms",
      "Last step:   Advance catalog-release.shop canary weight 30: request-success-rate 99.60% >= 99",
      "Last check:  2026-11-27 20:06:12 at weight 20: passed",
      "  METRIC                 CANARY   PRIMARY   THRESHOLD   REQUESTS (C/P)   WINDOW   VERDICT",
      "  request-success-rate   99.60%   99.96%    >= 99       498 / 1,995      40s      passed",
      "  request-duration       24.7ms   23.1ms    <= 500      498 / 1,995      30s      passed",
    ]);
  });

  it("renders a Canary with no status", () => {
    const text = renderDetail(summarize(fresh, NOW));
    expect(text).toContain("Phase:       Initializing");
    expect(text).toContain("Harm:        nothing counted yet");
    expect(text).toContain("Last check:  none yet");
  });

  it("summarises for -o json with the thresholds beside the values", () => {
    const s = summarize(progressing, NOW);
    expect(s.lastCheck?.metrics[1]).toEqual({
      name: "request-duration",
      verdict: "passed",
      unit: "ms",
      canary: 24.7,
      primary: 23.1,
      max: 500,
      canaryRequests: 498,
      primaryRequests: 1995,
      window: "30s",
    });
    expect(s.harm).toEqual({ requests: 1406, failed: 3, slow: 12, slowerThanMs: 500 });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});

describe("explain", () => {
  it("lists the current run's decisions and checks in time order, each check before its decision", () => {
    const text = renderExplain(explainView(progressing, NOW));
    expect(text).not.toContain("Promotion completed"); // the previous run's end
    const order = [
      "#5 Progressing weight 0",
      "#6 Progressing weight 10",
      "check at weight 10: failed",
      "#7",
      "check at weight 20: passed",
      "#8",
    ];
    const at = order.map((s) => text.indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(text).toContain("Current run: catalog:v2 (revision 7d9f5c)");
    expect(text).toContain(
      "request-duration       612ms     23.1ms    <= 500      212 / 1,904      20s      failed",
    );
    expect(text).toContain("request-duration: request-duration 612ms > 500ms");
    expect(text).toContain("20:05:52 +22s  #7 Progressing weight 10");
    expect(text).toContain(
      "    Halt catalog-release.shop advancement: request-duration 612ms > 500ms (failed checks 1/5)",
    );
  });

  it("explains the last run when it ended, including the decision that ended it", () => {
    const v = explainView(failed, NOW);
    expect(v.state).toBe("ended");
    expect(v.decisions.map((d) => d.seq)).toEqual([1, 2]);
    const text = renderExplain(v);
    expect(text).toContain("Last run: examples-bookinfo-reviews-v3:1.18 (revision a1b2c3)");
    expect(text).toContain("19:50:00 +10m00s  #2 Failed weight 0");
    expect(text).toContain("Harm: canary served 221 requests, 34 failed (15.38%)");
  });

  it("says when there is no run", () => {
    expect(explainView(fresh, NOW).state).toBe("none");
    expect(renderExplain(explainView(fresh, NOW))).toContain("No run yet");
  });

  it("finds the run's decisions in the bounded log and says when some may be missing", () => {
    const d = (seq: number, phase: string) => ({
      seq,
      time: new Date(seq * 1000).toISOString(),
      phase,
      canaryWeight: 0,
      reason: `r${seq}`,
      events: [],
    });
    expect(
      runDecisions([d(3, "Progressing"), d(1, "Progressing"), d(2, "Failed")]).records.map((r) => r.seq),
    ).toEqual([3]);
    expect(
      runDecisions([d(1, "Succeeded"), d(2, "Progressing"), d(3, "Succeeded")]).records.map((r) => r.seq),
    ).toEqual([2, 3]);
    expect(runDecisions([]).records).toEqual([]);
    const full = Array.from({ length: DECISION_LOG_SIZE }, (_, i) => d(i + 1, "Progressing"));
    expect(runDecisions(full).complete).toBe(false);
    expect(runDecisions(full.slice(1)).complete).toBe(true);
    const view = explainView(
      canary("x", { phase: "Progressing", decisions: full, run: { revision: "r" } }),
      NOW,
    );
    expect(renderExplain(view)).toContain(
      `earlier decisions of this run were dropped: status keeps the latest ${DECISION_LOG_SIZE}`,
    );
  });
});

describe("history", () => {
  it("lists past runs oldest first with outcome, duration and requests served and failed", () => {
    const text = renderHistory(historyView(failed, NOW), NOW);
    const [head, first, second] = lines(text);
    expect(head).toMatch(
      /^RUN\s+REVISION\s+IMAGE\s+OUTCOME\s+STARTED\s+DURATION\s+WEIGHT\s+REQUESTS\s+FAILED\s+SLOW\s+REASON$/,
    );
    expect(first).toMatch(
      /^1\s+9f8e7d\s+examples-bookinfo-reviews-v2:1.18\s+Succeeded\s+2026-11-27 19:00:00\s+3m05s\s+50\s+1,406\s+0\s+-\s+Promotion completed!/,
    );
    expect(second).toMatch(
      /^2\s+a1b2c3\s+\S+\s+Failed\s+2026-11-27 19:40:05\s+9m55s\s+20\s+221\s+34\s+-\s+request-success-rate 80.15% < 99% \(failed checks 5\/5\)$/,
    );
    expect(first?.endsWith("…")).toBe(true); // reasons are cut in the table (full in -o json)
  });

  it("adds the run under way as the last line", () => {
    const text = renderHistory(historyView(progressing, NOW), NOW);
    expect(lines(text)[1]).toMatch(
      /^-\s+7d9f5c\s+catalog:v2\s+Progressing \(now\)\s+2026-11-27 20:05:32\s+50s\s+30\s+1,406\s+3\s+12\s+under way/,
    );
  });

  it("says when there is no history, and when older runs were dropped", () => {
    expect(renderHistory(historyView(fresh, NOW), NOW)).toBe(
      "No past runs of canary frontend in namespace web.\n",
    );
    const base = failed.status?.history?.[0];
    if (base === undefined) throw new Error("fixture");
    const many = Array.from({ length: HISTORY_SIZE }, (_, i) => ({ ...base, run: i + 4 }));
    const text = renderHistory(historyView(canary("x", { phase: "Succeeded", history: many }), NOW), NOW);
    expect(text).toContain(`older runs were dropped: status keeps the latest ${HISTORY_SIZE}`);
  });
});
