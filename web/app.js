// `workbench serve`'s page: runs, curves, layers, compare, images, from the JSON
// endpoints (docs/serve.md). Text from the store (labels, notes, tags, config) goes in
// through textContent only, so markup in it is shown, never run.
"use strict";

const state = { runs: [], selected: new Set(), sortKey: "id", sortUp: false, charts: {} };
const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];

// An element with text (never HTML) and optional attributes.
function el(tag, text, attrs) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

async function get(path) {
  const res = await fetch(path);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error || res.statusText);
  return body;
}

function runQuery(ids) {
  return [...ids].map((id) => "run=" + id).join("&");
}

function runById(id) {
  return state.runs.find((r) => r.id === id);
}

function fmtSeconds(s) {
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(sec).padStart(2, "0");
}

function fmtValue(metric, v) {
  return metric.includes("accuracy") ? (100 * v).toFixed(2) : Number(v).toPrecision(4);
}

// Runs of one group (same experiment and config but the seed) share one name.
function groupName(runs) {
  const label = runs[0].label.split(" ").filter((w) => !w.startsWith("experiment.seed=")).join(" ");
  return runs.length > 1 ? (label || "default") + " (n=" + runs.length + ")" : runs[0].label + " #" + runs[0].id;
}

function groupsOf(ids) {
  const groups = new Map();
  for (const id of ids) {
    const r = runById(id);
    if (!r) continue;
    if (!groups.has(r.group)) groups.set(r.group, []);
    groups.get(r.group).push(r);
  }
  return [...groups.values()];
}

// ---- runs ----------------------------------------------------------------------

const COLUMNS = [
  ["id", "id"], ["experiment", "experiment"], ["label", "label"], ["status", "status"],
  ["seed", "seed"], ["started_at", "started"], ["seconds", "duration"], ["device", "device"],
  ["progress", "progress"], ["headline", "results"], ["tags", "tags"], ["note", "note"],
];

function cell(r, key) {
  if (key === "seconds") return fmtSeconds(r.seconds);
  if (key === "progress")
    return r.progress.steps ? r.progress.step + " / " + r.progress.steps : "";
  if (key === "headline")
    return r.headline.map((h) => h.evaluator + " " + h.metric + " " + fmtValue(h.metric, h.value)).join("; ");
  if (key === "tags") return r.tags.join(" ");
  return r[key];
}

function renderRuns() {
  const exp = document.getElementById("f-experiment").value;
  const status = document.getElementById("f-status").value;
  const shown = state.runs.filter((r) => (!exp || r.experiment === exp) && (!status || r.status === status));
  const k = state.sortKey;
  shown.sort((a, b) => {
    const x = cell(a, k), y = cell(b, k);
    const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
    return state.sortUp ? c : -c;
  });
  const head = document.querySelector("#runs-table thead");
  head.replaceChildren();
  const hr = el("tr");
  hr.appendChild(el("th", "✓"));
  for (const [key, title] of COLUMNS) {
    const th = el("th", title + (state.sortKey === key ? (state.sortUp ? " ▲" : " ▼") : ""));
    th.addEventListener("click", () => {
      state.sortUp = state.sortKey === key ? !state.sortUp : true;
      state.sortKey = key;
      renderRuns();
    });
    hr.appendChild(th);
  }
  head.appendChild(hr);
  const body = document.querySelector("#runs-table tbody");
  body.replaceChildren();
  for (const r of shown) {
    const tr = el("tr", null, { "data-run": r.id, class: r.status });
    const box = el("input", null, { type: "checkbox" });
    box.checked = state.selected.has(r.id);
    box.addEventListener("change", () => {
      box.checked ? state.selected.add(r.id) : state.selected.delete(r.id);
      renderDiff();
    });
    const td = el("td");
    td.appendChild(box);
    tr.appendChild(td);
    for (const [key] of COLUMNS) {
      const c = el("td", cell(r, key), { class: typeof r[key] === "number" ? "num" : "" });
      if (key === "id") {
        c.style.cursor = "pointer";
        c.addEventListener("click", () => showProvenance(r.id));
      }
      tr.appendChild(c);
    }
    body.appendChild(tr);
  }
}

async function renderDiff() {
  const table = document.getElementById("diff-table");
  table.replaceChildren();
  const ids = [...state.selected];
  if (ids.length < 2) {
    table.appendChild(el("tr")).appendChild(el("td", "select two runs or more"));
    return;
  }
  const diff = await get("/api/diff?" + runQuery(ids));
  const hr = table.appendChild(el("tr"));
  hr.appendChild(el("th", "key"));
  for (const id of ids) hr.appendChild(el("th", "#" + id + " " + (runById(id) || {}).label));
  for (const d of diff) {
    const tr = table.appendChild(el("tr", null, { class: "diff-key" }));
    tr.appendChild(el("td", d.key));
    for (const id of ids) tr.appendChild(el("td", d.values[String(id)]));
  }
  if (!diff.length) table.appendChild(el("tr")).appendChild(el("td", "none: the same config"));
}

async function showProvenance(id) {
  const r = await get("/api/run/" + id);
  const box = document.getElementById("provenance");
  box.replaceChildren();
  box.className = "";
  box.appendChild(el("p", "run " + r.id + " (" + r.experiment + ", " + r.label + "): " + r.status +
    (r.error ? ": " + r.error : "") + "; commit " + r.commit + " on " + r.host + ", " + r.device));
  const t = box.appendChild(el("table"));
  const hr = t.appendChild(el("tr"));
  for (const h of ["kind", "plugin", "version", "code sha256"]) hr.appendChild(el("th", h));
  for (const p of r.plugins) {
    const tr = t.appendChild(el("tr"));
    for (const v of [p.kind, p.name, p.version, p.sha256.slice(0, 16)]) tr.appendChild(el("td", v));
  }
  const ev = box.appendChild(el("table"));
  const eh = ev.appendChild(el("tr"));
  for (const h of ["evaluation", "took", "results"]) eh.appendChild(el("th", h));
  for (const e of r.evaluations) {
    const tr = ev.appendChild(el("tr"));
    tr.appendChild(el("td", e.name));
    tr.appendChild(el("td", e.seconds.toFixed(1) + " s"));
    tr.appendChild(el("td", e.computed_by === r.id ? "computed here" : "copied from run " + e.computed_by));
  }
  box.appendChild(el("pre", r.config));
}

async function loadRuns() {
  const all = document.getElementById("f-all").checked;
  state.runs = await get("/api/runs" + (all ? "?all=1" : ""));
  if (!state.selected.size && state.runs.length) {
    // At first, the newest experiment's runs.
    const exp = state.runs[0].experiment;
    for (const r of state.runs) if (r.experiment === exp) state.selected.add(r.id);
  }
  for (const [id, key] of [["f-experiment", "experiment"], ["f-status", "status"]]) {
    const select = document.getElementById(id);
    const keep = select.value;
    select.replaceChildren(el("option", "all", { value: "" }));
    for (const v of [...new Set(state.runs.map((r) => r[key]))].sort())
      select.appendChild(el("option", v, { value: v }));
    select.value = keep;
  }
  const running = state.runs.filter((r) => r.status === "running").length;
  document.getElementById("status").textContent =
    state.runs.length + " runs" + (running ? ", " + running + " running (live)" : "");
  renderRuns();
}

// ---- curves --------------------------------------------------------------------

function smooth(points, a) {
  let s = null;
  return points.map(([x, y]) => [x, (s = s === null ? y : a * s + (1 - a) * y)]);
}

// Per step: the group's mean and its min and max over the runs that have that step.
function bandOf(series) {
  const by = new Map();
  for (const pts of series) for (const [x, y] of pts) (by.get(x) || by.set(x, []).get(x)).push(y);
  const xs = [...by.keys()].sort((a, b) => a - b);
  return xs.map((x) => {
    const ys = by.get(x);
    return { x, mean: ys.reduce((a, b) => a + b, 0) / ys.length, min: Math.min(...ys), max: Math.max(...ys) };
  });
}

async function renderCurves() {
  const ids = [...state.selected];
  const select = document.getElementById("metric");
  const names = await get("/api/metrics?" + runQuery(ids));
  const keep = select.value || (names.includes("train/loss") ? "train/loss" : names[0]);
  select.replaceChildren(...names.map((n) => el("option", n, { value: n })));
  select.value = keep;
  if (!keep) return;
  const curve = await get("/api/curve?name=" + encodeURIComponent(keep) + "&" + runQuery(ids));
  const points = new Map(curve.runs.map((c) => [c.run, c.points]));
  const a = Number(document.getElementById("smooth").value);
  const datasets = [];
  const legend = document.getElementById("curve-legend");
  legend.replaceChildren();
  groupsOf(ids).forEach((runs, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const series = runs.map((r) => smooth(points.get(r.id) || [], a)).filter((s) => s.length);
    if (!series.length) return;
    const name = groupName(runs);
    const band = bandOf(series);
    if (runs.length > 1) {
      datasets.push({ label: name + " min", data: band.map((p) => ({ x: p.x, y: p.min })),
                      borderWidth: 0, pointRadius: 0, borderColor: colour });
      datasets.push({ label: name + " max", data: band.map((p) => ({ x: p.x, y: p.max })),
                      borderWidth: 0, pointRadius: 0, borderColor: colour,
                      backgroundColor: colour + "33", fill: "-1" });
      if (document.getElementById("traces").checked)
        runs.forEach((r, k) => datasets.push({ label: "#" + r.id, data: (series[k] || []).map(([x, y]) => ({ x, y })),
                                               borderColor: colour + "88", borderWidth: 1, pointRadius: 0 }));
    }
    datasets.push({ label: name, data: band.map((p) => ({ x: p.x, y: p.mean })), borderColor: colour,
                    backgroundColor: colour, pointRadius: band.length < 2 ? 3 : 0, borderWidth: 2 });
    legend.appendChild(el("li", runs.length > 1
      ? name + ": mean of " + runs.length + " runs (seeds " + runs.map((r) => r.seed).join(", ") + "), band min to max"
      : name, { class: runs.length > 1 ? "group" : "single" }));
  });
  const log = document.getElementById("logy").checked;
  if (state.charts.curve) state.charts.curve.destroy();
  state.charts.curve = new Chart(document.getElementById("curve-chart"), {
    type: "line",
    data: { datasets },
    options: {
      animation: false, parsing: true, maintainAspectRatio: false,
      scales: { x: { type: "linear", title: { display: true, text: "step" } },
                y: { type: log ? "logarithmic" : "linear", title: { display: true, text: keep } } },
      plugins: { legend: { labels: { filter: (item) => !/ (min|max)$/.test(item.text) } },
                 title: { display: true, text: keep } },
    },
  });
}

// ---- layers --------------------------------------------------------------------

async function renderLayers() {
  const ids = [...state.selected];
  const rows = await get("/api/results?" + runQuery(ids));
  const box = document.getElementById("layer-charts");
  for (const c of Object.keys(state.charts).filter((k) => k.startsWith("layer:"))) {
    state.charts[c].destroy();
    delete state.charts[c];
  }
  box.replaceChildren();
  // evaluator/metric -> run -> split -> layer -> value
  const by = new Map();
  for (const r of rows) {
    if (r.layer < 0) continue;
    const k = r.evaluator + " " + r.metric;
    if (!by.has(k)) by.set(k, new Map());
    const runMap = by.get(k);
    if (!runMap.has(r.run)) runMap.set(r.run, { val: new Map(), test: new Map(), train: new Map() });
    (runMap.get(r.run)[r.split] || new Map()).set(r.layer, r.value);
  }
  for (const [key, runMap] of by) {
    const layers = [...new Set([...runMap.values()].flatMap((s) => [...s.test.keys()]))].sort((a, b) => a - b);
    if (!layers.length) continue;
    const wrap = box.appendChild(el("div", null, { class: "layer-chart" }));
    wrap.appendChild(el("h4", key + " (test) by layer"));
    const canvas = wrap.appendChild(el("canvas"));
    const datasets = [];
    groupsOf(ids).forEach((runs, i) => {
      const mine = runs.filter((r) => runMap.has(r.id));
      if (!mine.length) return;
      const colour = PALETTE[i % PALETTE.length];
      const values = (split, layer) =>
        mine.map((r) => runMap.get(r.id)[split].get(layer)).filter((v) => v !== undefined);
      const mean = (split, layer) => {
        const vs = values(split, layer);
        return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
      };
      const vals = layers.map((l) => mean("val", l));
      const best = layers[vals.indexOf(Math.max(...vals.filter((v) => v !== null)))];
      const name = groupName(mine);
      if (mine.length > 1) {  // the seeds' min to max, shaded
        datasets.push({ label: name + " min", data: layers.map((l) => ({ x: l, y: Math.min(...values("test", l)) })),
                        showLine: true, borderWidth: 0, pointRadius: 0, borderColor: colour });
        datasets.push({ label: name + " max", data: layers.map((l) => ({ x: l, y: Math.max(...values("test", l)) })),
                        showLine: true, borderWidth: 0, pointRadius: 0, borderColor: colour,
                        backgroundColor: colour + "33", fill: "-1" });
      }
      datasets.push({ label: name, data: layers.map((l) => ({ x: l, y: mean("test", l) })), borderColor: colour,
                      backgroundColor: colour, pointRadius: layers.map((l) => (l === best ? 7 : 3)), showLine: true });
      if (best !== undefined)
        wrap.appendChild(el("p", name + ": best layer on val " + best + " (the large point)", { class: "best-layer" }));
    });
    state.charts["layer:" + key] = new Chart(canvas, {
      type: "scatter", data: { datasets },
      options: { animation: false,
                 plugins: { legend: { labels: { filter: (item) => !/ (min|max)$/.test(item.text) } } },
                 scales: { x: { title: { display: true, text: "layer" }, ticks: { stepSize: 1 } } } },
    });
  }
  if (!box.children.length) box.appendChild(el("p", "no per-layer results for the selected runs", { class: "hint" }));
}

// ---- compare -------------------------------------------------------------------

async function renderCompare() {
  const ids = [...state.selected];
  const rows = await get("/api/results?" + runQuery(ids));
  const table = document.getElementById("compare-table");
  table.replaceChildren();
  const keyOf = (r) => r.evaluator + " " + r.metric + " layer " + r.layer + " " + r.split;
  const cells = new Map();
  for (const r of rows) {
    if (!cells.has(keyOf(r))) cells.set(keyOf(r), new Map());
    cells.get(keyOf(r)).set(r.run, r);
  }
  const hr = table.appendChild(el("tr"));
  hr.appendChild(el("th", "result"));
  for (const id of ids) hr.appendChild(el("th", "#" + id + " " + (runById(id) || {}).label));
  for (const [k, byRun] of cells) {
    const tr = table.appendChild(el("tr"));
    tr.appendChild(el("td", k));
    for (const id of ids) {
      const r = byRun.get(id);
      tr.appendChild(el("td", r ? fmtValue(r.metric, r.value) : "", { class: "num" }));
    }
  }
  // A config key that differs, against a chosen whole-model result.
  const diff = ids.length > 1 ? await get("/api/diff?" + runQuery(ids)) : [];
  const keySel = document.getElementById("scatter-key"), resSel = document.getElementById("scatter-result");
  const keepKey = keySel.value, keepRes = resSel.value;
  keySel.replaceChildren(...diff.map((d) => el("option", d.key, { value: d.key })));
  resSel.replaceChildren(...[...cells.keys()].map((k) => el("option", k, { value: k })));
  if (keepKey) keySel.value = keepKey;
  if (keepRes) resSel.value = keepRes;
  const d = diff.find((x) => x.key === keySel.value);
  if (state.charts.scatter) state.charts.scatter.destroy();
  if (!d || !cells.has(resSel.value)) return;
  const pts = ids.filter((id) => cells.get(resSel.value).has(id)).map((id) => ({
    x: Number(d.values[String(id)]), y: cells.get(resSel.value).get(id).value, id }));
  state.charts.scatter = new Chart(document.getElementById("scatter-chart"), {
    type: "scatter",
    data: { datasets: [{ label: resSel.value + " against " + d.key, data: pts, pointRadius: 5,
                         backgroundColor: PALETTE[0], borderColor: PALETTE[0] }] },
    options: { animation: false, maintainAspectRatio: false,
               scales: { x: { title: { display: true, text: d.key } }, y: { title: { display: true, text: resSel.value } } } },
  });
}

// ---- images --------------------------------------------------------------------

async function renderImages() {
  const files = await get("/api/images");
  const box = document.getElementById("images");
  box.replaceChildren();
  for (const f of files) {
    box.appendChild(el("h4", f));
    box.appendChild(el("img", null, { src: "/files/" + f.split("/").map(encodeURIComponent).join("/"), alt: f }));
  }
  if (!files.length) box.appendChild(el("p", "no images under the store's reports/ folder", { class: "hint" }));
}

// ---- pages ---------------------------------------------------------------------

const PAGES = { runs: renderDiff, curves: renderCurves, layers: renderLayers, compare: renderCompare, images: renderImages };

async function show() {
  const page = (location.hash || "#runs").slice(1);
  for (const name of Object.keys(PAGES)) {
    document.getElementById(name + "-page").classList.toggle("shown", name === page);
    const link = document.querySelector('nav a[href="#' + name + '"]');
    if (link) link.classList.toggle("active", name === page);
  }
  try {
    await (PAGES[page] || renderDiff)();
    document.body.setAttribute("data-page-ready", page);
  } catch (e) {
    document.getElementById("status").textContent = "error: " + e.message;
  }
}

async function main() {
  try {
    await loadRuns();
  } catch (e) {
    document.getElementById("status").textContent = "error: " + e.message;
    return;
  }
  for (const id of ["f-experiment", "f-status"]) document.getElementById(id).addEventListener("change", renderRuns);
  document.getElementById("f-all").addEventListener("change", loadRuns);
  for (const id of ["metric", "smooth", "logy", "traces"]) document.getElementById(id).addEventListener("change", renderCurves);
  for (const id of ["scatter-key", "scatter-result"]) document.getElementById(id).addEventListener("change", renderCompare);
  window.addEventListener("hashchange", show);
  await show();
  // Live: while a run trains, the runs and the page shown are read again every 5 s.
  setInterval(async () => {
    if (!state.runs.some((r) => r.status === "running")) return;
    await loadRuns();
    const page = (location.hash || "#runs").slice(1);
    if (page === "curves" || page === "layers") await show();
  }, 5000);
}

main();
