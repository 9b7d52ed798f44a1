// Inline SVG charts for the dashboard, drawn from plain arrays (no chart library): the canary's weight over
// time as a step line, and a metric's canary and primary values per check against its threshold.
const NS = "http://www.w3.org/2000/svg";
const H = 180;
let W = 600;
const PAD = { left: 54, right: 12, top: 12, bottom: 24 };

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Draws at the chart's real width (text stays readable on a phone), or 600 before it is laid out. */
function measure(svg) {
  svg.classList.add("chart"); // width: 100% before measuring, not an SVG's default 300 px
  const width = Math.round(svg.getBoundingClientRect().width);
  W = width >= 200 ? width : 600;
}

/** A fresh chart in `svg`: clears it, sets the view box, and returns x/y scales for the ranges given. */
function frame(svg, [x0, x1], [y0, y1]) {
  measure(svg);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.classList.add("chart");
  const spanX = x1 - x0 || 1;
  const spanY = y1 - y0 || 1;
  const x = (v) => PAD.left + ((v - x0) / spanX) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - ((v - y0) / spanY) * (H - PAD.top - PAD.bottom);
  svg.append(
    el("line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    el("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
  );
  return { x, y };
}

const clock = (ms) =>
  new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function timeLabels(svg, x, t0, t1) {
  svg.append(
    el("text", { x: x(t0), y: H - 6, "text-anchor": "start" }, clock(t0)),
    el("text", { x: x(t1), y: H - 6, "text-anchor": "end" }, clock(t1)),
  );
}

function valueLabels(svg, y, values, format) {
  for (const v of values)
    svg.append(el("text", { x: PAD.left - 4, y: y(v) + 4, "text-anchor": "end" }, format(v)));
}

/**
 * The weight timeline: `points` are {t (ms), weight}, oldest first; the line holds each weight until the
 * next change, and runs on to `now` while the run is under way (undefined: it ended at its last point).
 */
export function weightChart(svg, points, maxWeight, now) {
  if (points.length === 0) return empty(svg, "no weight recorded yet");
  const t0 = points[0].t;
  const t1 = Math.max(now ?? 0, points[points.length - 1].t, t0 + 1000);
  const top = Math.max(maxWeight, ...points.map((p) => p.weight));
  const { x, y } = frame(svg, [t0, t1], [0, top]);
  let d = "";
  points.forEach((p, i) => {
    d += i === 0 ? `M${x(p.t)},${y(p.weight)}` : `H${x(p.t)}V${y(p.weight)}`;
  });
  d += `H${x(t1)}`;
  svg.append(el("path", { class: "weight", d }));
  for (const p of points) {
    const dot = el("circle", { class: "dot", cx: x(p.t), cy: y(p.weight), r: 3.5 });
    dot.append(el("title", {}, `${clock(p.t)}: weight ${p.weight}`));
    svg.append(dot);
  }
  valueLabels(svg, y, [0, top / 2, top], (v) => `${Math.round(v)}%`);
  timeLabels(svg, x, t0, t1);
}

/** One metric over the run's checks: canary (dots coloured by verdict) and primary, threshold dashed. */
export function metricChart(svg, series) {
  const pts = series.points.map((p) => ({ ...p, t: Date.parse(p.time) }));
  if (pts.length === 0) return empty(svg, "no check yet");
  const values = pts.flatMap((p) => [p.canary, p.primary]).filter((v) => typeof v === "number");
  const limits = [series.min, series.max].filter((v) => typeof v === "number");
  let lo = Math.min(...values, ...limits);
  let hi = Math.max(...values, ...limits);
  if (!Number.isFinite(lo)) return empty(svg, "no values found");
  const margin = (hi - lo) * 0.1 || Math.abs(hi) * 0.05 || 1;
  lo -= margin;
  hi += margin;
  const t0 = pts[0].t;
  const t1 = Math.max(pts[pts.length - 1].t, t0 + 1000);
  const { x, y } = frame(svg, [t0, t1], [lo, hi]);
  for (const limit of limits)
    svg.append(
      el("line", { class: "threshold", x1: PAD.left, x2: W - PAD.right, y1: y(limit), y2: y(limit) }),
    );
  svg.append(line(pts, "primary", x, y), line(pts, "canary", x, y));
  for (const p of pts) {
    if (typeof p.canary !== "number") continue;
    const dot = el("circle", { class: p.verdict, cx: x(p.t), cy: y(p.canary), r: 4 });
    dot.append(
      el(
        "title",
        {},
        `${clock(p.t)} weight ${p.canaryWeight}: canary ${p.text.canary}, primary ${p.text.primary} (${p.verdict})`,
      ),
    );
    svg.append(dot);
  }
  valueLabels(svg, y, [lo + margin, hi - margin], (v) => formatTick(v, series.unit));
  timeLabels(svg, x, t0, t1);
}

function line(pts, which, x, y) {
  const d = pts
    .filter((p) => typeof p[which] === "number")
    .map((p, i) => `${i === 0 ? "M" : "L"}${x(p.t)},${y(p[which])}`)
    .join("");
  return el("path", { class: which, d: d || "M0,0" });
}

function formatTick(v, unit) {
  const abs = Math.abs(v);
  const text = abs >= 100 ? Math.round(v) : abs >= 1 ? v.toFixed(1) : v.toPrecision(2);
  return `${text}${unit}`;
}

function empty(svg, text) {
  measure(svg);
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} 40`);
  svg.classList.add("chart");
  svg.append(el("text", { x: W / 2, y: 24, "text-anchor": "middle" }, text));
}
