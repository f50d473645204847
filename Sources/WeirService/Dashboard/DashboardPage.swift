/// The dashboard page and its two assets, served by ``DashboardServer`` (nothing is fetched from
/// elsewhere). Every name from event data (fields, categories, ids, reasons) reaches the DOM
/// through `textContent` or `setAttribute`, never `innerHTML`; the Content-Security-Policy
/// allows scripts and styles from this server only, as a second line of defence.
/// Colours: the Okabe–Ito palette (safe for the common colour-vision deficiencies).
public enum DashboardPage {
    public static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    public static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weir drift dashboard</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard.css">
<script src="dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>Weir drift dashboard <span id="topology"></span></h1>
  <p id="source" class="muted">Loading…</p>
</header>
<div id="banner" role="alert" hidden></div>
<section id="health" aria-label="Health"></section>
<main>
  <section id="timelines-panel">
    <h2>Drift statistics over event time</h2>
    <p id="history" class="muted"></p>
    <div id="legend" class="legend"></div>
    <div id="timelines"></div>
  </section>
  <div class="side">
  <section id="monitors-panel">
    <h2>Monitors</h2>
    <p class="muted">Sort by clicking a column heading. Select a monitor's window in its timeline (click a point or use the list) to see its histograms.</p>
    <div class="scroll"><table id="monitors"></table></div>
  </section>
  <section id="histogram-panel">
    <h2>Selected window</h2>
    <div id="histogram"><p class="muted">No window selected.</p></div>
  </section>
  <section id="events-panel">
    <h2>Alerts, retrain requests and model decisions</h2>
    <ol id="events" reversed></ol>
  </section>
  <section id="performance-panel">
    <h2>Model performance</h2>
    <div id="scores"></div>
    <h3>Model decisions: champion vs challenger</h3>
    <p class="muted">Log loss and accuracy of both on the shadow events of each decision (the <code>metrics</code> of model decision records), at the decision's time.</p>
    <div id="performance"></div>
  </section>
  </div>
</main>
<footer class="muted">Read-only. Data from the topology's sink topics; refreshed every 2 s.</footer>
</body>
</html>
"""#

    public static let style = #"""
:root { --blue:#0072B2; --orange:#E69F00; --verm:#D55E00; --green:#009E73; --sky:#56B4E9; --purple:#CC79A7; --ink:#1b1b1b; --muted:#5c5c5c; --line:#d0d0d0; --bg:#fafafa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 10px 16px 0; }
h1 { font-size: 20px; margin: 0; overflow-wrap: anywhere; }
#source { overflow-wrap: anywhere; }
h1 span { font-weight: normal; color: var(--muted); }
h2 { font-size: 16px; margin: 0 0 6px; }
.muted { color: var(--muted); margin: 2px 0 8px; }
#banner { margin: 8px 16px; padding: 8px 12px; border: 2px solid var(--verm); background: #fff3ec; border-radius: 4px; }
#banner p { margin: 2px 0; }
#health { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 8px; padding: 8px 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 6px 10px; }
.card .label { font-size: 12px; color: var(--muted); }
.card .value { font-size: 18px; font-weight: 600; overflow-wrap: anywhere; }
.card .note { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.card.alerting { border-color: var(--verm); border-width: 2px; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 12px; padding: 0 16px 16px; }
main section { background: #fff; border: 1px solid var(--line); border-radius: 4px; padding: 10px; min-width: 0; }
main section.monitor { border: 0; border-top: 1px solid var(--line); border-radius: 0; padding: 6px 0; }
.side { display: flex; flex-direction: column; gap: 12px; min-width: 0; }
#timelines-panel { align-self: start; }
figure { margin: 0; }
figcaption { font-size: 12px; color: var(--muted); }
figure.tenths { margin-top: 8px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
#monitors th, #monitors td { white-space: nowrap; }
td.name { max-width: 16em; overflow: hidden; text-overflow: ellipsis; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; text-decoration: underline dotted; color: var(--ink); }
tr.drifted td:first-child { border-left: 4px solid var(--verm); }
.monitor h3 { font-size: 14px; margin: 0; overflow-wrap: anywhere; }
#performance-panel h3 { font-size: 14px; margin: 12px 0 2px; }
.monitor .meta { font-size: 12px; color: var(--muted); }
.monitor select { display: block; width: 100%; min-width: 0; max-width: 100%; font: inherit; }
svg { width: 100%; height: auto; display: block; }
svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
svg .axis { stroke: #888; stroke-width: 1; }
svg .grid { stroke: #eee; }
svg .hit { fill: transparent; cursor: pointer; }
svg .hit:hover, svg .hit.sel { fill: rgba(0,114,178,0.12); }
.legend { display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; }
.legend span::before { content: ""; display: inline-block; width: 14px; height: 3px; margin-right: 4px; vertical-align: middle; background: currentColor; }
.legend .psi { color: var(--blue); } .legend .ks { color: var(--sky); } .legend .chi2 { color: var(--green); }
.legend .thr { color: #000; } .legend .drift { color: var(--verm); }
.hists { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.newcats { border-left: 4px solid var(--verm); padding-left: 8px; }
.newcats li { overflow-wrap: anywhere; }
#events { padding-left: 22px; max-height: 420px; overflow-y: auto; margin: 0; }
#events li { margin: 0 0 6px; overflow-wrap: anywhere; }
.badge { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 3px; border: 1px solid; margin-right: 4px; }
.badge.alert_opened { color: #9a3b00; border-color: var(--verm); background: #fff3ec; }
.badge.alert_resolved { color: #00573f; border-color: var(--green); background: #ecfaf5; }
.badge.retrain_request { color: #004f7c; border-color: var(--blue); background: #eef6fb; }
.badge.model { color: #6b2e56; border-color: var(--purple); background: #fbf0f6; }
footer { padding: 0 16px 16px; }
@media (max-width: 820px) {
  .card .value { font-size: 15px; }
  main { grid-template-columns: minmax(0, 1fr); }
  .hists { grid-template-columns: minmax(0, 1fr); }
  header, #health { padding-left: 8px; padding-right: 8px; }
  main { padding: 0 8px 8px; }
  #monitors th, #monitors td { padding: 3px 4px; }
  td.name { max-width: 9em; }
}
"""#

    public static let script = #"""
"use strict";
// Every name from event data goes through textContent or setAttribute, never parsed as HTML.
// Okabe–Ito colours (and grey for the reference); pairs that share a chart stay apart under protan/deutan/tritan simulation
// (scripts/checks/dashboard_palette.py), and drift is also a shape (▲) and text, not only a colour.
const COLOR = { psi: "#0072B2", ks: "#56B4E9", chi2: "#009E73", drift: "#D55E00", ref: "#999999", cur: "#0072B2", newcat: "#D55E00", thr: "#000000",
  champLoss: "#0072B2", challLoss: "#E69F00", champAcc: "#000000", challAcc: "#56B4E9" };
const SVGNS = "http://www.w3.org/2000/svg";
let state = null, version = null, selected = null, sortKey = "psi", offline = null, rendered = false;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
function num(x, d) { return x === null || x === undefined ? "–" : Number(x).toFixed(d === undefined ? 3 : d); }
function when(ms) { return ms === null || ms === undefined ? "–" : new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"; }
// Axis times: the whole UTC time, or month-day hour:minute where the chart is narrow (phones).
function tick(ms, narrow) { return narrow ? when(ms).slice(5, 16) : when(ms); }
function latest(m) { return m.windows.length ? m.windows[m.windows.length - 1] : null; }
function widthOf(id, fallback) {
  // Draw at the size shown, so text stays readable from phones to wide screens.
  const w = document.getElementById(id).clientWidth;
  return w > 200 ? Math.min(1000, w) : fallback;
}
let resizeTimer = null;
window.addEventListener("resize", () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => { if (state) render(); }, 200); });
function short(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }

async function poll() {
  try {
    const q = state === null ? "" : "?since=" + version + "&after=" + state.sequence;
    const r = await fetch("api/state" + q, { cache: "no-store" });
    if (!r.ok) throw new Error("HTTP " + r.status);
    const j = decode(await r.json());
    offline = null;
    if (!j.unchanged) { state = merge(state, j); version = j.version; render(); } else { renderBanner(); }
  } catch (e) {
    offline = "The dashboard server does not answer (" + e.message + "); retrying every 2 s.";
    renderBanner();
  }
  setTimeout(poll, 2000);
}

// /api/state sends each monitor's windows as rows whose columns are named by window_fields
// (a smaller first answer); the page works on objects.
function decode(j) {
  const sf = j.score_fields;
  if (sf && j.scores) j.scores = j.scores.map(r => { const b = {}; sf.forEach((k, i) => { b[k] = r[i]; }); return b; });
  const f = j.window_fields;
  if (!f || !j.monitors) return j;
  for (const m of j.monitors) m.windows = m.windows.map(r => {
    const w = {};
    f.forEach((k, i) => { w[k] = r[i]; });
    w.drifted = w.drifted === 1;
    return w;
  });
  return j;
}

// Folds an incremental /api/state answer (only windows, entries and points after the page's
// sequence) into the page's state; a whole answer, or one from a restarted server, replaces it.
function merge(old, j) {
  if (!old || !j.incremental || old.instance !== j.instance) return j;
  const prev = new Map(old.monitors.map(m => [m.feature, m]));
  const lim = j.limits.windows_per_monitor, n = j.limits.timeline_entries;
  for (const m of j.monitors) {
    const p = prev.get(m.feature);
    if (!p) continue;
    const byWindow = new Map(p.windows.map(w => [w.window, w]));
    for (const w of m.windows) byWindow.set(w.window, w);
    const all = Array.from(byWindow.values()).sort((a, b) => a.window - b.window);
    m.windows = all.length > lim ? all.slice(all.length - lim) : all;
  }
  j.timeline = old.timeline.concat(j.timeline).slice(-n);
  j.performance = old.performance.concat(j.performance).slice(-n);
  if (old.scores && j.scores) {
    const byTime = new Map(old.scores.map(b => [b.time, b]));
    for (const b of j.scores) byTime.set(b.time, b);
    j.scores = Array.from(byTime.values()).sort((a, b) => a.time - b.time).slice(-j.limits.score_minutes);
  }
  return j;
}

function render() {
  document.getElementById("topology").textContent = "— " + state.topology;
  document.getElementById("source").textContent = "Kafka " + state.brokers + " · topics " +
    [state.topics.drift, state.topics.alerts, state.topics.retrain, state.topics.models, state.topics.scores].filter(t => t).join(", ");
  const first = selected === null && !rendered;
  if (first) selected = initialSelection();
  renderBanner(); renderHealth(); renderTable(); renderTimelines(); renderEvents(); renderPerformance();
  if (selected) loadHistogram(selected.feature, selected.window, false);
  if (!rendered && state.monitors.length) { rendered = true; document.body.setAttribute("data-first-render-ms", String(Math.round(performance.now()))); }
}

// The address keeps the sort order and the selected window: #sort=psi|alerts|feature&feature=F&window=N.
function updateHash() {
  const q = new URLSearchParams({ sort: sortKey });
  if (selected) { q.set("feature", selected.feature); q.set("window", String(selected.window)); }
  history.replaceState(null, "", "#" + q.toString());
}
(function () {
  const s = new URLSearchParams(location.hash.slice(1)).get("sort");
  if (s === "psi" || s === "alerts" || s === "feature") sortKey = s;
})();

// A window named in the address (#feature=F&window=N), else the newest drifted window of the
// monitor with the highest latest PSI, else nothing.
function initialSelection() {
  const q = new URLSearchParams(location.hash.slice(1));
  if (q.has("feature") && q.has("window")) return { feature: q.get("feature"), window: Number(q.get("window")) };
  const m = sorted().find(x => x.windows.some(w => w.drifted));
  if (!m) return null;
  const w = m.windows.filter(x => x.drifted).pop();
  return { feature: m.feature, window: w.window };
}

function renderBanner() {
  const b = clear(document.getElementById("banner"));
  const msgs = (state ? state.status.problems : []).slice();
  if (offline) msgs.unshift(offline);
  if (state && state.monitors.length === 0 && msgs.length === 0) msgs.push("Connected; no drift records on " + state.topics.drift + " yet.");
  for (const m of msgs) b.appendChild(el("p", null, m));
  b.hidden = msgs.length === 0;
}

function card(label, value, cls, note, key) {
  const c = el("div", { class: "card" + (cls ? " " + cls : "") });
  if (key) c.setAttribute("data-key", key);
  c.appendChild(el("div", { class: "label" }, label));
  c.appendChild(el("div", { class: "value" }, value));
  if (note) c.appendChild(el("div", { class: "note" }, note));
  return c;
}

function renderHealth() {
  const h = clear(document.getElementById("health")), s = state.health;
  const r = s.events_per_second;
  const rc = card("Events/s (source, last 10 s)", r === null ? "n/a" : r >= 100 ? Math.round(r).toLocaleString("en-US") : num(r, 1), "", r === null ? "(" + s.events_per_second_note + ")" : null, "events");
  if (r !== null) rc.setAttribute("data-value", String(r));
  h.appendChild(rc);
  const g = s.consumer_lag;
  const lc = card("Consumer lag (group " + g.group + ")", g.total === null ? "n/a" : g.total.toLocaleString("en-US"), "",
    g.total === null ? "(" + g.note + ")" : (g.note ? g.note : "on " + g.topic), "lag");
  if (g.total !== null) lc.setAttribute("data-value", String(g.total));
  h.appendChild(lc);
  h.appendChild(card("Champion model version", s.model_version === null ? "–" : "v" + s.model_version));
  h.appendChild(card("Open alerts", s.open_alerts, s.open_alerts > 0 ? "alerting" : ""));
  const l = s.last_drift;
  h.appendChild(card("Last drift window", l ? l.feature + " #" + l.window : "–", "", l ? when(l.last_event_time) : null));
  h.appendChild(card("Connection", state.status.connected ? "connected" : "not connected", state.status.connected ? "" : "alerting",
    "drift records read: " + num(s.drift_records_per_second, 1) + "/s"));
}

function renderTable() {
  const t = clear(document.getElementById("monitors"));
  const head = el("tr");
  const cols = [["feature", "Monitor"], ["windows", "Windows"], ["psi", "Latest PSI"], ["drifted", "Drifted"], ["alerts", "Alerts"]];
  for (const [key, label] of cols) {
    const th = el("th", { scope: "col" });
    if (key === "psi" || key === "alerts" || key === "feature") {
      const b = el("button", { type: "button", "aria-pressed": String(sortKey === key) }, label + (sortKey === key ? " ▾" : ""));
      b.addEventListener("click", () => { sortKey = key; updateHash(); renderTable(); renderTimelines(); });
      th.appendChild(b);
    } else th.textContent = label;
    head.appendChild(th);
  }
  t.appendChild(el("thead")).appendChild(head);
  const body = t.appendChild(el("tbody"));
  for (const m of sorted()) {
    const w = latest(m);
    const tr = el("tr", { class: w && w.drifted ? "drifted" : "" });
    tr.appendChild(el("td", { class: "name", title: m.feature }, m.feature));
    tr.appendChild(el("td", null, m.windows.length));
    tr.appendChild(el("td", null, w ? num(w.psi) : "–"));
    tr.appendChild(el("td", null, m.windows.filter(x => x.drifted).length));
    tr.appendChild(el("td", null, m.alerts_opened));
    body.appendChild(tr);
  }
}

function sorted() {
  const ms = state.monitors.slice();
  const psi = m => { const w = latest(m); return w && w.psi !== null ? w.psi : -1; };
  if (sortKey === "psi") ms.sort((a, b) => psi(b) - psi(a));
  else if (sortKey === "alerts") ms.sort((a, b) => b.alerts_opened - a.alerts_opened);
  return ms;
}

function renderTimelines() {
  const box = clear(document.getElementById("timelines"));
  const lim = state.limits.windows_per_monitor;
  let oldest = null, dropped = 0;
  for (const m of state.monitors) {
    dropped += m.dropped_windows;
    if (m.windows.length && (oldest === null || (m.windows[0].first_event_time || Infinity) < oldest)) oldest = m.windows[0].first_event_time;
  }
  document.getElementById("history").textContent = "History: the newest " + lim + " windows per monitor are kept" +
    (oldest !== null ? "; shown from " + when(oldest) : "") + (dropped > 0 ? " (" + dropped + " older windows dropped)." : " (nothing dropped).");
  const lg = clear(document.getElementById("legend"));
  lg.appendChild(el("span", { class: "psi" }, "PSI"));
  lg.appendChild(el("span", { class: "ks" }, "KS statistic"));
  lg.appendChild(el("span", { class: "chi2" }, "chi-square p-value"));
  lg.appendChild(el("span", { class: "thr" }, "gate threshold (dashed)"));
  lg.appendChild(el("span", { class: "drift" }, "drifted window (▲)"));
  for (const m of sorted()) box.appendChild(monitorTimeline(m));
}

function monitorTimeline(m) {
  const sec = el("section", { class: "monitor timeline", "data-feature": m.feature });
  sec.appendChild(el("h3", null, m.feature));
  const w = latest(m);
  sec.appendChild(el("div", { class: "meta" }, m.kind + " · " + m.windows.length + " windows · " +
    m.windows.filter(x => x.drifted).length + " drifted · " + m.alerts_opened + " alerts" + (w ? " · latest PSI " + num(w.psi) : "")));
  const th = state.thresholds;
  const panels = [{ key: "psi", label: "PSI", color: COLOR.psi, thr: th.psi, log: false }];
  if (m.windows.some(x => x.ks_statistic !== null)) panels.push({ key: "ks_statistic", label: "KS statistic", color: COLOR.ks, thr: th.ks_min_statistic, log: false, max: 1 });
  if (m.windows.some(x => x.chi2_pvalue !== null)) panels.push({ key: "chi2_pvalue", label: "chi-square p-value (log)", color: COLOR.chi2, thr: th.chi2_pvalue, log: true });
  sec.appendChild(chart(m, panels));
  const pick = el("select", { "aria-label": "window of " + m.feature });
  pick.appendChild(el("option", { value: "" }, "Select a window…"));
  for (let i = m.windows.length - 1; i >= 0 && i >= m.windows.length - 300; i--) {
    const x = m.windows[i];
    const o = el("option", { value: String(x.window) }, "#" + x.window + " · " + when(x.last_event_time) + (x.drifted ? " · drifted" : ""));
    if (selected && selected.feature === m.feature && selected.window === x.window) o.selected = true;
    pick.appendChild(o);
  }
  pick.addEventListener("change", () => { if (pick.value !== "") loadHistogram(m.feature, Number(pick.value), true); });
  sec.appendChild(pick);
  return sec;
}

// opts.pick: click a window to see its histograms (drift timelines); opts.width: the box to fit.
function chart(m, panels, opts) {
  opts = opts || { pick: true, box: "timelines" };
  // Each panel's name sits in the band above it, clear of the data and the threshold lines.
  const W = widthOf(opts.box, 640), PH = 70, L = 52, R = 8, T = 16, gap = 24;
  const H = T + panels.length * (PH + gap) - gap + 16;
  const svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "drift statistics of " + m.feature });
  const ws = m.windows;
  const xs = ws.map((w, i) => w.last_event_time !== null ? w.last_event_time : i);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const X = v => L + (x1 === x0 ? (W - L - R) / 2 : (v - x0) / (x1 - x0) * (W - L - R));
  panels.forEach((p, k) => {
    const top = T + k * (PH + gap), bottom = top + PH;
    const vals = ws.map(w => w[p.key]).filter(v => v !== null && v !== undefined);
    let Y;
    if (p.log) {
      const f = v => Math.log10(Math.max(v, 1e-12));
      const lo = Math.min(f(p.thr || 1), ...vals.map(f), -3), hi = 0;
      Y = v => bottom - (f(v) - lo) / (hi - lo || 1) * PH;
    } else {
      const hi = p.max || Math.max(0.001, (p.thr || 0) * 1.25, ...vals) * 1.15;
      Y = v => bottom - Math.min(v, hi) / hi * PH;
      svg.appendChild(sv("text", { x: L - 4, y: top + 9, "text-anchor": "end" }, num(hi, hi >= 100 ? 0 : 2)));
    }
    svg.appendChild(sv("line", { class: "axis", x1: L, y1: bottom, x2: W - R, y2: bottom }));
    svg.appendChild(sv("line", { class: "axis", x1: L, y1: top, x2: L, y2: bottom }));
    svg.appendChild(sv("text", { x: L + 4, y: top - 5, class: "panel-label" }, p.label));
    ws.forEach((w, i) => {
      if (!w.drifted) return;
      svg.appendChild(sv("path", { d: "M" + X(xs[i]) + " " + (top + 2) + " l-4 7 h8 z", fill: COLOR.drift }));
    });
    if (p.thr !== null && p.thr !== undefined) {
      svg.appendChild(sv("line", { x1: L, x2: W - R, y1: Y(p.thr), y2: Y(p.thr), stroke: COLOR.thr, "stroke-dasharray": "5 4", "stroke-width": 1 }));
      svg.appendChild(sv("text", { x: L - 4, y: Y(p.thr) + 4, "text-anchor": "end" }, String(p.thr)));
    }
    let d = "";
    ws.forEach((w, i) => { const v = w[p.key]; if (v === null || v === undefined) return; d += (d ? " L" : "M") + X(xs[i]).toFixed(1) + " " + Y(v).toFixed(1); });
    if (d) svg.appendChild(sv("path", { d: d, fill: "none", stroke: p.color, "stroke-width": 2 }));
    // Every point while they are apart; on long histories only the drifted ones (the line shows the rest).
    const dense = ws.length > (W - L - R) / 4;
    ws.forEach((w, i) => {
      const v = w[p.key];
      if (v === null || v === undefined || (dense && !w.drifted)) return;
      svg.appendChild(sv("circle", { cx: X(xs[i]).toFixed(1), cy: Y(v).toFixed(1), r: w.drifted ? 3.5 : 2.5,
        fill: w.drifted ? COLOR.drift : p.color }));
    });
  });
  const bottomY = T + panels.length * (PH + gap) - gap;
  const narrow = W < 480;
  svg.appendChild(sv("text", { x: L, y: H - 2 }, xs.length && ws[0].last_event_time !== null ? tick(x0, narrow) : "window " + (ws.length ? ws[0].window : "")));
  svg.appendChild(sv("text", { x: W - R, y: H - 2, "text-anchor": "end" }, xs.length && ws[ws.length - 1].last_event_time !== null ? tick(x1, narrow) : ""));
  const step = ws.length > 1 ? Math.max(3, (W - L - R) / (ws.length - 1)) : 20;
  if (opts.pick) ws.forEach((w, i) => {
    const r = sv("rect", { class: "hit" + (selected && selected.feature === m.feature && selected.window === w.window ? " sel" : ""),
      x: (X(xs[i]) - step / 2).toFixed(1), y: T, width: step.toFixed(1), height: bottomY - T });
    r.appendChild(sv("title", null, m.feature + " window #" + w.window + " · " + when(w.last_event_time) + " · PSI " + num(w.psi) + (w.drifted ? " · drifted: " + w.reasons.join(", ") : "")));
    r.addEventListener("click", () => loadHistogram(m.feature, w.window, true));
    svg.appendChild(r);
  });
  return svg;
}

async function loadHistogram(feature, window, rerender) {
  selected = { feature: feature, window: window };
  if (rerender) updateHash();
  const box = document.getElementById("histogram");
  try {
    const r = await fetch("api/histogram?feature=" + encodeURIComponent(feature) + "&window=" + window, { cache: "no-store" });
    const h = await r.json();
    // An answer for a window no longer selected (a slower, earlier request) is dropped.
    if (!selected || selected.feature !== feature || selected.window !== window) return;
    if (!r.ok) { clear(box).appendChild(el("p", { class: "muted" }, h.error || ("HTTP " + r.status))); return; }
    renderHistogram(h);
    if (rerender) renderTimelines();
  } catch (e) { clear(box).appendChild(el("p", null, "Could not load the histogram: " + e.message)); }
}

function binLabels(h) {
  if (h.categories) return h.categories;
  const e = h.edges || [];
  const out = [];
  for (let i = 0; i <= e.length; i++) {
    if (i === 0) out.push("< " + num(e[0], 2)); else if (i === e.length) out.push("≥ " + num(e[i - 1], 2));
    else out.push(num(e[i - 1], 2) + " – " + num(e[i], 2));
  }
  return out;
}

function renderHistogram(h) {
  const box = clear(document.getElementById("histogram"));
  box.appendChild(el("p", null, h.feature + " · window #" + h.window + " · " + when(h.first_event_time) + " → " + when(h.last_event_time) +
    " · PSI " + num(h.psi) + (h.drifted ? " · drifted" : "")));
  if (!h.histogram) { box.appendChild(el("p", { class: "muted" }, "This drift record has no histogram.")); return; }
  const labels = binLabels(h.histogram), isNew = new Set(h.new_categories);
  const grid = box.appendChild(el("div", { class: "hists" }));
  for (const [title, key, color] of [["Reference", "reference", COLOR.ref], ["Current window", "current", COLOR.cur]]) {
    const fig = grid.appendChild(el("figure", { class: "hist " + key }));
    fig.appendChild(el("figcaption", null, title + " (share per " + (h.histogram.categories ? "category" : "bin") + ")"));
    const shares = h.histogram[key], n = labels.length, rowH = 18, LW = 112, W = Math.max(230, Math.min(600, fig.clientWidth || 250));
    const hi = Math.max(0.001, ...h.histogram.reference, ...h.histogram.current);
    const svg = sv("svg", { viewBox: "0 0 " + W + " " + (n * rowH + 4), role: "img", "aria-label": title + " histogram of " + h.feature });
    labels.forEach((lab, i) => {
      const y = i * rowH + 2, v = shares[i] || 0, nw = isNew.has(lab);
      const t = sv("text", { x: LW - 4, y: y + 11, "text-anchor": "end", "font-weight": nw ? "700" : "400" }, (nw ? "NEW " : "") + short(lab, nw ? 10 : 16));
      t.appendChild(sv("title", null, lab));
      svg.appendChild(t);
      svg.appendChild(sv("rect", { x: LW, y: y + 2, height: rowH - 4, width: (v / hi * (W - LW - 44)).toFixed(1), fill: nw && key === "current" ? COLOR.newcat : color }));
      svg.appendChild(sv("text", { x: LW + v / hi * (W - LW - 44) + 3, y: y + 11 }, (v * 100).toFixed(1) + "%"));
    });
    fig.appendChild(svg);
  }
  if (h.new_categories.length) {
    const d = box.appendChild(el("div", { class: "newcats" }));
    d.appendChild(el("strong", null, "New categories (absent from the reference):"));
    const ul = d.appendChild(el("ul"));
    for (const c of h.new_categories) ul.appendChild(el("li", { class: "newcat" }, c));
  }
}

function renderEvents() {
  const ol = clear(document.getElementById("events"));
  const list = state.timeline.slice().reverse();
  if (!list.length) ol.appendChild(el("li", { class: "muted" }, "No alerts, retrain requests or model decisions yet."));
  for (const e of list) {
    const li = el("li", { class: "event " + e.kind });
    const kind = e.kind.startsWith("model_") ? "model" : e.kind;
    li.appendChild(el("span", { class: "badge " + kind }, e.kind.replace("_", " ")));
    const parts = [e.id];
    if (e.feature !== null) parts.push(e.feature);
    if (e.window !== null) parts.push("window #" + e.window);
    if (e.time !== null) parts.push(when(e.time));
    if (e.detail) parts.push(e.detail);
    if (e.reasons.length) parts.push("reasons: " + e.reasons.join(", "));
    li.appendChild(document.createTextNode(parts.join(" · ")));
    ol.appendChild(li);
  }
}

function renderScores(box) {
  const bs = state.scores || [];
  if (!state.topics.scores) { box.appendChild(el("p", { class: "muted" }, "The topology has no model (no scores topic).")); return; }
  if (!bs.length) { box.appendChild(el("p", { class: "muted" }, "No score records on " + state.topics.scores + " yet.")); return; }
  let n = 0, labelled = 0;
  for (const b of bs) { n += b.count; labelled += b.labelled; }
  const versions = [];
  bs.forEach((b, i) => { if (b.model_version !== null && (i === 0 || b.model_version !== bs[i - 1].model_version)) versions.push("v" + b.model_version + " from " + when(b.time)); });
  box.appendChild(el("p", { class: "muted" }, "Serving model, per minute of event time, from the newest score records read (" + bs.length + " minutes, " + n +
    " scores, " + labelled + " labelled): each score is made before the model learns the event's label, so these are its prequential figures. " + versions.join("; ") + "."));
  const m = { feature: "serving model", windows: bs.map((b, i) => ({ window: i, last_event_time: b.time, drifted: false, reasons: [],
    log_loss: b.log_loss, accuracy: b.accuracy, mean_score: b.mean_score, count: b.count })) };
  box.appendChild(chart(m, [{ key: "log_loss", label: "prequential log loss", color: COLOR.champLoss, log: false },
                            { key: "accuracy", label: "prequential accuracy", color: COLOR.champAcc, log: false, max: 1 },
                            { key: "mean_score", label: "mean score", color: COLOR.ks, log: false, max: 1 },
                            { key: "count", label: "scores per minute", color: COLOR.psi, log: false }], { pick: false, box: "scores" }));
  box.appendChild(scoreDistribution(bs));
}

// Scores per tenth ([0, 0.1), …, [0.9, 1]) as shares: over every minute read (grey, like a
// reference) and, when the sample is longer, over its newest 10 minutes of event time (blue).
function scoreDistribution(bs) {
  const fig = el("figure", { class: "tenths" });
  const all = new Array(10).fill(0), recent = new Array(10).fill(0);
  const cut = bs[bs.length - 1].time - 9 * 60000;
  let nAll = 0, nRecent = 0;
  for (const b of bs) {
    const h = b.histogram || [];
    for (let i = 0; i < 10; i++) {
      const v = h[i] || 0;
      all[i] += v; nAll += v;
      if (b.time >= cut) { recent[i] += v; nRecent += v; }
    }
  }
  const series = [["all " + nAll + " scores read", all, nAll, COLOR.ref]];
  if (bs[0].time < cut && nRecent > 0) series.push(["newest 10 minutes (" + nRecent + " scores)", recent, nRecent, COLOR.cur]);
  fig.appendChild(el("figcaption", null, "Score distribution: share of scores per tenth"));
  const W = widthOf("scores", 420), H = 120, L = 40, R = 8, T = 8, B = 18;
  const shares = series.map(x => x[1].map(v => x[2] ? v / x[2] : 0));
  const hi = Math.max(0.01, ...shares.flat());
  const gw = (W - L - R) / 10, bw = (gw - 4) / series.length, Y = v => H - B - v / hi * (H - T - B);
  const svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "share of scores per tenth" });
  svg.appendChild(sv("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.appendChild(sv("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  svg.appendChild(sv("text", { x: L - 4, y: T + 8, "text-anchor": "end" }, (hi * 100).toFixed(0) + "%"));
  svg.appendChild(sv("text", { x: L - 4, y: H - B, "text-anchor": "end" }, "0"));
  series.forEach((x, k) => shares[k].forEach((v, i) => {
    const r = sv("rect", { class: "tenth", x: (L + i * gw + 2 + k * bw).toFixed(1), y: Y(v).toFixed(1), width: Math.max(1, bw - 1).toFixed(1),
      height: Math.max(0, H - B - Y(v)).toFixed(1), fill: x[3] });
    r.appendChild(sv("title", null, "scores " + (i / 10).toFixed(1) + "–" + ((i + 1) / 10).toFixed(1) + ": " + (v * 100).toFixed(1) + "% of " + x[0]));
    svg.appendChild(r);
  }));
  for (let i = 0; i <= 10; i += (W < 360 ? 2 : 1)) {
    svg.appendChild(sv("text", { x: (L + i * gw).toFixed(1), y: H - 4, "text-anchor": i === 0 ? "start" : i === 10 ? "end" : "middle" },
      i === 0 ? "0" : i === 10 ? "1" : (i / 10).toFixed(1)));
  }
  fig.appendChild(svg);
  const lg = el("div", { class: "legend" });
  for (const x of series) { const sp = el("span", null, x[0]); sp.style.color = x[3]; lg.appendChild(sp); }
  fig.appendChild(lg);
  return fig;
}

function renderPerformance() {
  renderScores(clear(document.getElementById("scores")));
  const box = clear(document.getElementById("performance")), ps = state.performance;
  if (!ps.length) { box.appendChild(el("p", { class: "muted" }, "No model decisions with metrics yet.")); return; }
  const series = [["champion_log_loss", "champion log loss", COLOR.champLoss, "0"], ["challenger_log_loss", "challenger log loss", COLOR.challLoss, "5 3"],
                  ["champion_accuracy", "champion accuracy", COLOR.champAcc, "0"], ["challenger_accuracy", "challenger accuracy", COLOR.challAcc, "5 3"]];
  const W = widthOf("performance", 420), H = 150, L = 40, R = 8, T = 8, B = 20;
  const t0 = Math.min(...ps.map(p => p.time)), t1 = Math.max(...ps.map(p => p.time));
  const vals = []; for (const p of ps) for (const [k] of series) if (p[k] !== null) vals.push(p[k]);
  const hi = Math.max(1, ...vals);
  const X = t => L + (t1 === t0 ? (W - L - R) / 2 : (t - t0) / (t1 - t0) * (W - L - R)), Y = v => H - B - v / hi * (H - T - B);
  const svg = sv("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "model decision metrics" });
  svg.appendChild(sv("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
  svg.appendChild(sv("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
  svg.appendChild(sv("text", { x: L - 4, y: T + 8, "text-anchor": "end" }, num(hi, 2)));
  svg.appendChild(sv("text", { x: L - 4, y: H - B, "text-anchor": "end" }, "0"));
  const lg = el("div", { class: "legend" });
  for (const [k, label, color, dash] of series) {
    let d = "";
    for (const p of ps) if (p[k] !== null) {
      d += (d ? " L" : "M") + X(p.time).toFixed(1) + " " + Y(p[k]).toFixed(1);
      svg.appendChild(sv("circle", { cx: X(p.time).toFixed(1), cy: Y(p[k]).toFixed(1), r: 3, fill: color }));
    }
    if (d) svg.appendChild(sv("path", { d: d, fill: "none", stroke: color, "stroke-width": 2, "stroke-dasharray": dash }));
    const s = el("span", null, label); s.style.color = color; lg.appendChild(s);
  }
  svg.appendChild(sv("text", { x: L, y: H - 4 }, tick(t0, W < 480)));
  svg.appendChild(sv("text", { x: W - R, y: H - 4, "text-anchor": "end" }, tick(t1, W < 480)));
  box.appendChild(svg);
  box.appendChild(lg);
  const t = box.appendChild(el("div", { class: "scroll" })).appendChild(el("table"));
  const hr = el("tr"); for (const h of ["Decision", "Time", "Champion", "Challenger", "Shadow events"]) hr.appendChild(el("th", null, h));
  t.appendChild(hr);
  for (const p of ps.slice(-10).reverse()) {
    const tr = el("tr");
    tr.appendChild(el("td", null, p.decision.replace("model_", "")));
    tr.appendChild(el("td", null, when(p.time)));
    tr.appendChild(el("td", null, "v" + p.champion_version + ": log loss " + num(p.champion_log_loss) + ", acc " + num(p.champion_accuracy)));
    tr.appendChild(el("td", null, "v" + p.challenger_version + ": log loss " + num(p.challenger_log_loss) + ", acc " + num(p.challenger_accuracy)));
    tr.appendChild(el("td", null, p.shadow_events === null ? "–" : p.shadow_events));
    t.appendChild(tr);
  }
}

poll();
"""#
}
