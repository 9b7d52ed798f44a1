// The dashboard page: the list of Canaries (#/) and a page per Canary (#/c/NAMESPACE/NAME), kept current by
// the server's event stream (/api/events) and updated in place, never reloaded. The buttons POST to the local
// server with the token it embedded in the page; it writes the same control request as the CLI.
import { metricChart, weightChart } from "./charts.js";

const token = document.querySelector('meta[name="serin-token"]')?.getAttribute("content") ?? "";
const main = document.getElementById("main");
const list = new Map(); // key -> list item
/** Weight timeline per Canary: seeded from status, extended as changes arrive (the page saw them). */
const weights = new Map();
let stream;
let detail; // the open Canary's last view, and when it came
let receivedAt = 0;

// ---- small DOM helpers ----

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}
const $ = (id) => document.getElementById(id);
function setText(id, text) {
  const node = $(id);
  if (node && node.textContent !== text) node.textContent = text;
}
const count = (n) => Math.round(n).toLocaleString("en-US");
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "-");

function phaseClass(node, summary) {
  node.className = `phase ${summary.notReady ? "Failed" : summary.phase}`;
}

function bar(summary) {
  const max = summary.maxWeight > 0 ? summary.maxWeight : 100;
  const fill = h("span");
  fill.style.width = `${Math.min(100, (100 * summary.canaryWeight) / max)}%`;
  return h("span", { class: "bar" }, fill);
}

// ---- routing and the event stream ----

function route() {
  const m = /^#\/c\/([^/]+)\/([^/]+)$/.exec(location.hash);
  const key = m ? `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}` : undefined;
  detail = undefined;
  if (key) showDetail(key);
  else showList();
  connect(key);
}

function connect(key) {
  stream?.close();
  stream = new EventSource(`/api/events${key ? `?canary=${encodeURIComponent(key)}` : ""}`);
  stream.onopen = () => {
    $("conn").textContent = "live";
    $("conn").className = "conn live";
  };
  stream.onerror = () => {
    $("conn").textContent = "reconnecting…";
    $("conn").className = "conn";
  };
  stream.addEventListener("list", (e) => onList(JSON.parse(e.data)));
  stream.addEventListener("item", (e) => onItem(JSON.parse(e.data)));
  stream.addEventListener("detail", (e) => onDetail(JSON.parse(e.data)));
}

function onList(body) {
  setText("scope", `context ${body.context} · ${body.scope}`);
  $("problem").hidden = !body.problem;
  setText("problem", body.problem ?? "");
  list.clear();
  for (const item of body.items) list.set(item.key, item);
  if ($("canaries")) renderList();
}

function onItem(item) {
  if (item.deleted) list.delete(item.key);
  else list.set(item.key, item);
  if ($("canaries")) renderList();
}

// ---- the list ----

function showList() {
  document.title = "Serin dashboard";
  const head = ["Namespace", "Name", "Phase", "Weight", "Last check", "Next step", "Harm"];
  main.replaceChildren(
    h(
      "section",
      { class: "card" },
      h("h1", { text: "Canaries" }),
      h(
        "table",
        { class: "list" },
        h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { text: t })))),
        h("tbody", { id: "canaries" }),
      ),
      h("p", { id: "none", class: "empty", text: "No canaries found.", hidden: "" }),
    ),
  );
  renderList();
}

function listRow(item) {
  const s = item.summary;
  const href = `#/c/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`;
  const phase = h("td", { "data-label": "Phase", text: item.text.phase });
  phaseClass(phase, s);
  return h(
    "tr",
    { "data-key": item.key },
    h("td", { "data-label": "Namespace", text: s.namespace }),
    h("td", {}, h("a", { href, text: s.name })),
    phase,
    h("td", { "data-label": "Weight", class: "num" }, bar(s), `${s.canaryWeight}/${s.maxWeight}`),
    h("td", { "data-label": "Last check", text: item.text.lastCheck }),
    h("td", { "data-label": "Next step", text: item.text.next }),
    h("td", { "data-label": "Harm", text: item.text.harm }),
  );
}

/** Replaces only the rows whose content changed: the table does not flicker on every event. */
function renderList() {
  const body = $("canaries");
  const items = [...list.values()].sort((a, b) => a.key.localeCompare(b.key));
  const rows = items.map(listRow);
  const old = [...body.children];
  rows.forEach((row, i) => {
    if (old[i]?.outerHTML !== row.outerHTML) {
      if (old[i]) old[i].replaceWith(row);
      else body.append(row);
    }
  });
  for (const extra of old.slice(rows.length)) extra.remove();
  $("none").hidden = items.length > 0;
}

// ---- a Canary's page ----

const ACTIONS = [
  { action: "promote", label: "Promote", confirm: true },
  { action: "pause", label: "Pause" },
  { action: "resume", label: "Resume" },
  { action: "retry", label: "Retry", confirm: true },
  { action: "abort", label: "Abort", confirm: true, danger: true },
];

function showDetail(key) {
  const [ns, name] = key.split("/");
  document.title = `${name} · Serin`;
  const card = (title, ...body) => h("section", { class: "card" }, h("h2", { text: title }), ...body);
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/", text: "← all canaries" })),
    h("h1", {}, `${name} `, h("span", { class: "muted", text: `in ${ns}` })),
    h("div", { id: "gone", class: "problem", hidden: "" }),
    h(
      "div",
      { class: "grid" },
      card("Status", h("dl", { class: "facts", id: "facts" })),
      card(
        "Steer",
        h(
          "div",
          { class: "actions" },
          ...ACTIONS.map((a) =>
            h("button", {
              "data-action": a.action,
              class: a.danger ? "danger" : "",
              text: a.label,
              type: "button",
            }),
          ),
        ),
        h("div", { id: "confirm-slot" }),
        h("div", { id: "control-result", class: "result", role: "status" }),
        h("p", { id: "control-last", class: "muted" }),
      ),
    ),
    card("Weight", svgWithId("weight-chart")),
    card("Harm", h("div", { class: "harm", id: "harm" }), h("p", { id: "harm-text", class: "muted" })),
    card("Checks", h("div", { class: "grid", id: "metrics" })),
    h(
      "div",
      { class: "grid" },
      card("Events", h("ul", { class: "events", id: "events" })),
      card("Decisions of this run", h("ul", { class: "events", id: "decisions" })),
    ),
    card("History", h("div", { id: "history" })),
  );
  for (const b of main.querySelectorAll("button[data-action]"))
    b.addEventListener("click", () =>
      ask(
        ns,
        name,
        ACTIONS.find((a) => a.action === b.dataset.action),
      ),
    );
}

function svgWithId(id) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  node.id = id;
  node.classList.add("chart");
  return node;
}

function onDetail(view) {
  if (!$("facts")) return;
  $("gone").hidden = !view.deleted;
  setText(
    "gone",
    view.deleted ? "This Canary was deleted (or you may no longer read it); waiting for it." : "",
  );
  if (view.deleted) return;
  detail = view;
  receivedAt = Date.now();
  recordWeight(view);
  renderFacts(view);
  renderButtons(view.item.summary);
  renderCharts(view);
  renderHarm(view);
  renderEvents(view);
  renderDecisions(view);
  renderHistory(view);
  setText("control-last", view.control ? lastControl(view.control) : "");
}

function fact(label, id, value) {
  return [h("dt", { text: label }), h("dd", { id }, ...[value].flat())];
}

function nextStep(s) {
  if (s.nextStepInSeconds === undefined) return "-";
  const left = s.nextStepInSeconds - Math.floor((Date.now() - receivedAt) / 1000);
  return left > 0 ? `in ${left}s` : "due now";
}

function renderFacts(view) {
  const s = view.item.summary;
  const rows = [
    fact("Phase", "phase", view.item.text.phase),
    fact("Weight", "weight", [
      bar(s),
      h("span", { id: "weight-value", class: "num", text: String(s.canaryWeight) }),
      `/${s.maxWeight}`,
    ]),
    fact("Failed checks", "failed-checks", `${s.failedChecks}/${s.threshold}`),
    fact("Next step", "next-step", nextStep(s)),
    fact(
      "Strategy",
      "strategy",
      s.iterations ? `${s.strategy}, iteration ${s.iterations.done}/${s.iterations.total}` : s.strategy,
    ),
    fact("Revision", "revision", s.revision ? `${s.revision}${s.image ? ` (${s.image})` : ""}` : "-"),
    fact("Traffic since", "traffic", when(s.trafficSince)),
    fact("Last step", "last-step", s.message ?? "-"),
  ];
  if (s.notReady) rows.push(fact("Not ready", "not-ready", `${s.notReady.reason}: ${s.notReady.message}`));
  const facts = $("facts");
  const next = h("dl", { class: "facts", id: "facts" }, ...rows.flat());
  if (facts.outerHTML !== next.outerHTML) facts.replaceWith(next);
  phaseClass($("phase"), s);
}

/** Only what may help now is enabled; the controller still decides (and says "ignored" when it will not). */
function renderButtons(s) {
  const running = ["Progressing", "WaitingPromotion", "Promoting", "Waiting"].includes(s.phase);
  const allowed = {
    promote: running,
    pause: running && !s.paused,
    resume: s.paused,
    retry: s.phase === "Failed",
    abort: running || s.phase === "Finalising",
  };
  for (const b of main.querySelectorAll("button[data-action]")) b.disabled = !allowed[b.dataset.action];
}

function recordWeight(view) {
  const seed = view.weights.map((p) => ({ t: Date.parse(p.time), weight: p.weight }));
  const seen = weights.get(view.key) ?? [];
  const all = [...seed, ...seen].sort((a, b) => a.t - b.t);
  const current = view.item.summary.canaryWeight;
  if (all.length === 0 || all[all.length - 1].weight !== current)
    all.push({ t: Date.now(), weight: current });
  weights.set(
    view.key,
    all.filter((p, i) => i === 0 || all[i - 1].weight !== p.weight),
  );
}

/** The weight line runs on to now while a run is under way; after it, it ends at the last change. */
function drawWeight(view) {
  const s = view.item.summary;
  const live = !["Succeeded", "Failed", "Initialized", "Terminated"].includes(s.phase);
  weightChart($("weight-chart"), weights.get(view.key) ?? [], s.maxWeight, live ? Date.now() : undefined);
}

function renderCharts(view) {
  drawWeight(view);
  const box = $("metrics");
  if (view.metrics.length === 0) {
    box.replaceChildren(h("p", { class: "empty", text: "No check in this run yet." }));
    return;
  }
  const charts = view.metrics.map((m) => {
    const last = m.points[m.points.length - 1];
    const verdict = last?.verdict === "failed" ? "bad" : last?.verdict === "held" ? "warn" : "muted";
    const text = last
      ? `last: canary ${last.text.canary}, primary ${last.text.primary}, ${last.verdict}`
      : "";
    const svg = svgWithId(`metric-${m.name}`);
    const node = h(
      "div",
      { class: "metric" },
      h("h2", { text: `${m.name} (threshold ${m.threshold}${m.unit})` }),
      h("p", { class: verdict, text }),
      svg,
    );
    return { node, svg, m };
  });
  box.replaceChildren(...charts.map((c) => c.node));
  // drawn once in the page: at their laid-out width
  for (const c of charts) metricChart(c.svg, c.m);
}

function renderHarm(view) {
  const harm = view.item.summary.harm;
  const cell = (label, value, cls = "") =>
    h("div", {}, h("span", { text: label }), h("b", { class: `big num ${cls}`, text: value }));
  $("harm").replaceChildren(
    cell("requests served", harm ? count(harm.requests) : "-"),
    cell("failed", harm ? count(harm.failed) : "-", harm?.failed ? "bad" : ""),
    cell(
      `slower than ${harm?.slowerThanMs ?? "?"}ms`,
      harm?.slow !== undefined ? count(harm.slow) : "-",
      harm?.slow ? "warn" : "",
    ),
  );
  setText("harm-text", view.text.harm);
}

function renderEvents(view) {
  const items = view.events.map((e) =>
    h(
      "li",
      {},
      h("span", { class: "when", text: when(e.time) }),
      h("b", { class: e.type === "Warning" ? "bad" : "", text: e.reason }),
      e.count > 1 ? ` ×${e.count} ` : " ",
      e.message,
    ),
  );
  $("events").replaceChildren(...(items.length ? items : [h("li", { class: "empty", text: "No Events." })]));
}

function renderDecisions(view) {
  const items = [...view.explain.decisions].reverse().map((d) =>
    h(
      "li",
      {},
      h("span", { class: "when", text: when(d.time) }),
      h("b", {
        class: d.events.some((e) => e.type === "Warning") ? "bad" : "",
        text: `${d.phase} ${d.canaryWeight}`,
      }),
      ` ${d.reason}`,
    ),
  );
  $("decisions").replaceChildren(
    ...(items.length ? items : [h("li", { class: "empty", text: "No decision yet." })]),
  );
}

function renderHistory(view) {
  const runs = view.history.runs;
  if (runs.length === 0) {
    $("history").replaceChildren(h("p", { class: "empty", text: "No past runs." }));
    return;
  }
  const head = ["Run", "Outcome", "Image", "Started", "Weight", "Requests", "Failed", "Reason"];
  const wide = new Set(["Image", "Started", "Reason"]);
  const row = (r) => [
    String(r.run),
    r.outcome,
    r.image ?? r.revision,
    when(r.startedAt),
    String(r.canaryWeight),
    r.canary ? count(r.canary.requests) : "-",
    r.canary ? count(r.canary.errors) : "-",
    r.reason,
  ];
  $("history").replaceChildren(
    h(
      "table",
      { class: "hist" },
      h("thead", {}, h("tr", {}, ...head.map((t) => h("th", { text: t, class: wide.has(t) ? "wide" : "" })))),
      h(
        "tbody",
        {},
        ...[...runs]
          .reverse()
          .map((r) =>
            h(
              "tr",
              {},
              ...row(r).map((v, i) => h("td", { text: v, class: wide.has(head[i]) ? "wide" : "" })),
            ),
          ),
      ),
    ),
  );
}

function lastControl(c) {
  return `Last request: ${c.action}${c.by ? ` by ${c.by}` : ""}${c.reason ? ` (${c.reason})` : ""} at ${when(c.at)}: ${c.result}`;
}

// ---- the buttons ----

/** Abort, retry and promote ask first, in the page (no window.confirm: it blocks, and automation too). */
function ask(ns, name, a) {
  if (!a.confirm) return act(ns, name, a.action, "");
  const reason = h("input", {
    id: "reason",
    type: "text",
    placeholder: "reason (shown in status and the Event)",
    maxlength: "256",
  });
  const go = h("button", {
    id: "confirm-go",
    type: "submit",
    class: a.danger ? "go danger" : "go",
    text: `${a.label} ${name}`,
  });
  const cancel = h("button", { id: "confirm-cancel", type: "button", text: "Cancel" });
  const form = h("form", { class: "confirm" }, reason, go, cancel);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    form.remove();
    act(ns, name, a.action, reason.value);
  });
  cancel.addEventListener("click", () => form.remove());
  $("confirm-slot").replaceChildren(form);
  reason.focus();
}

async function act(ns, name, action, reason) {
  const out = $("control-result");
  out.className = "result muted";
  out.textContent = `${action} requested; waiting for the controller…`;
  try {
    const res = await fetch(`/api/canaries/${encodeURIComponent(ns)}/${encodeURIComponent(name)}/actions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-serin-token": token },
      body: JSON.stringify({ action, reason }),
    });
    const body = await res.json();
    out.className = `result ${body.error ? "bad" : body.outcome === "ignored" ? "warn" : "ok"}`;
    out.textContent = body.error ? `error: ${body.error}` : body.message;
  } catch (err) {
    out.className = "result bad";
    out.textContent = `error: the dashboard did not answer (${err.message}): is kubectl serin dashboard still running?`;
  }
}

// The countdown to the next step and the weight line's "now" move every second between events.
setInterval(() => {
  if (!detail || !$("next-step")) return;
  setText("next-step", nextStep(detail.item.summary));
  drawWeight(detail);
}, 1000);

window.addEventListener("hashchange", route);
// Charts are drawn at their real width: a rotated phone or a resized window redraws them.
let resizeTimer;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => detail && renderCharts(detail), 150);
});
route();
