"use strict";
// The viewer's logic. Everything it shows comes from the JSON block above (built by src/viewer/data.py).

const DATA = JSON.parse(document.getElementById("viewer-data").textContent);

function bytesOf(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const CHARS = Array.from(DATA.text);  // one entry per code point, as Python counts characters
const N = CHARS.length;
const LAYERS = DATA.layers.map(layer => ({
  units: layer.units,
  saturation: layer.saturation,
  meanSaturation: layer.mean_saturation,
  activations: new Int8Array(bytesOf(layer.activations).buffer),  // unit-major: [unit index][position]
}));
const TOP_IDS = DATA.top_id_bytes === 1 ? bytesOf(DATA.top_ids) : new Uint16Array(bytesOf(DATA.top_ids).buffer);
const TOP_PROBS = bytesOf(DATA.top_probs);
const SURPRISAL = new Float32Array(bytesOf(DATA.surprisal).buffer);
const UNKNOWN = new Set(DATA.unknown);
const K = 5;

// Decoded values, as the tests read them back too.
function activation(layer, unitIndex, t) { return LAYERS[layer].activations[unitIndex * N + t] / 127; }
function topFive(t) {
  const out = [];
  for (let k = 0; k < K; k++) out.push([DATA.vocabulary[TOP_IDS[t * K + k]], TOP_PROBS[t * K + k] / 255]);
  return out;
}

// Colour scales: PuOr (diverging, colour-blind safe) for activations, viridis for the rest.
const PUOR = [[94, 60, 153], [178, 171, 210], [247, 247, 247], [253, 184, 99], [230, 97, 1]];
const VIRIDIS = [[253, 231, 37], [94, 201, 98], [33, 145, 140], [59, 82, 139], [68, 1, 84]];
function interpolate(stops, x) {  // x in [0, 1]
  const position = Math.min(Math.max(x, 0), 1) * (stops.length - 1);
  const i = Math.min(Math.floor(position), stops.length - 2), f = position - i;
  return stops[i].map((c, j) => Math.round(c + f * (stops[i + 1][j] - c)));
}
const MAX_BITS = 8;
const MODES = {
  act: { title: "activation of the selected unit", low: "-1", high: "+1", stops: PUOR,
         value: t => activation(state.layer, state.unitIndex, t), scale: v => (v + 1) / 2 },
  surprisal: { title: "surprisal of the next character (bits)", low: "0", high: `${MAX_BITS}+`, stops: VIRIDIS,
               value: t => SURPRISAL[t], scale: v => v / MAX_BITS },
  confidence: { title: "confidence: probability of the likeliest next character", low: "0", high: "1",
                stops: VIRIDIS, value: t => TOP_PROBS[t * K] / 255, scale: v => v },
};

const state = { layer: 0, unitIndex: 0, mode: "act", selected: null };
const $ = id => document.getElementById(id);

function visible(ch) { return ch === " " ? "\u00b7" : ch === "\n" ? "\u21b5\n" : ch === "\t" ? "\u2192\t" : ch; }
function shown(ch) { return ch === " " ? "space" : ch === "\n" ? "newline" : ch === "\t" ? "tab" : ch; }

function buildText() {
  const fragment = document.createDocumentFragment();
  CHARS.forEach((ch, t) => {
    const span = document.createElement("span");
    span.textContent = visible(ch);
    span.dataset.t = t;
    if (/\s/.test(ch)) span.classList.add("ws");
    if (UNKNOWN.has(t)) span.classList.add("unk");
    fragment.appendChild(span);
  });
  $("text").appendChild(fragment);
}

function paintText() {
  const mode = MODES[state.mode];
  const spans = $("text").children;
  for (let t = 0; t < N; t++) {
    const v = mode.value(t);
    if (Number.isNaN(v)) { spans[t].style.background = "#fff"; spans[t].style.color = ""; continue; }
    const x = mode.scale(v);
    spans[t].style.background = `rgb(${interpolate(mode.stops, x).join(",")})`;
    const dark = state.mode === "act" ? Math.abs(2 * x - 1) > 0.65 : x > 0.55;
    spans[t].style.color = dark ? "#fff" : "";
  }
  $("legend-bar").style.background = `linear-gradient(to right, ${mode.stops.map(c => `rgb(${c})`).join(",")})`;
  $("legend-low").textContent = mode.low;
  $("legend-high").textContent = mode.high;
  $("legend-title").textContent = mode.title;
}

function fillUnitPicker() {
  const layer = LAYERS[state.layer];
  $("unit").innerHTML = "";
  layer.units.forEach((unit, i) => {
    const option = document.createElement("option");
    option.value = i;
    option.textContent = `${unit} (${(100 * layer.saturation[i]).toFixed(0)}% sat.)`;
    $("unit").appendChild(option);
  });
}

function unitName(layer, unit) { return `L${layer + 1} u${unit}`; }

function showInfo(t) {
  if (t === null) return;
  const layer = LAYERS[state.layer], unit = layer.units[state.unitIndex];
  const next = t + 1 < N ? CHARS[t + 1] : null;
  const rows = topFive(t).map(([ch, p]) =>
    `<tr><td><span class="char">${escapeHtml(shown(ch))}</span></td><td>${p.toFixed(3)}</td></tr>`).join("");
  $("info").innerHTML =
    `<div>position <b id="info-position">${DATA.meta.start + t}</b> (${t} in the span) ` +
    `<span class="char">${escapeHtml(shown(CHARS[t]))}</span>` +
    (UNKNOWN.has(t) ? " not in the vocabulary: read as the unknown symbol" : "") + `</div>` +
    `<div>${unitName(state.layer, unit)} activation <b id="info-activation">` +
    `${activation(state.layer, state.unitIndex, t).toFixed(3)}</b></div>` +
    (next === null ? "<div>last character: nothing to predict</div>" :
      `<div>next <span class="char">${escapeHtml(shown(next))}</span>: surprisal <b id="info-surprisal">` +
      `${SURPRISAL[t].toFixed(2)}</b> bits</div>`) +
    `<div>top 5 next characters:</div><table id="info-top5">${rows}</table>`;
}

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function buildRankings() {
  const root = $("rankings");
  for (const ranking of DATA.rankings) {
    const div = document.createElement("div");
    div.className = "ranking";
    const kind = ranking.binary ? "yes/no" : "count";
    div.innerHTML = `<h3>${escapeHtml(ranking.feature)} <small>(${kind}, ${ranking.positive} positions)</small></h3>`;
    if (ranking.skipped) {
      div.innerHTML += `<div class="skipped">skipped: ${escapeHtml(ranking.skipped)}</div>`;
    }
    for (const [layer, unit, r] of ranking.units) {
      const button = document.createElement("button");
      button.textContent = `${r >= 0 ? "+" : "\u2212"}${Math.abs(r).toFixed(2)} ${unitName(layer, unit)}`;
      button.title = `${r >= 0 ? "rises" : "falls"} with ${ranking.feature}: r = ${r.toFixed(3)}`;
      button.dataset.layer = layer;
      button.dataset.unit = unit;
      button.addEventListener("click", () => select(layer, LAYERS[layer].units.indexOf(unit), "act"));
      div.appendChild(button);
    }
    root.appendChild(div);
  }
}

function buildHeatmap() {
  const rows = DATA.heatmap, canvas = $("heatmap-canvas");
  canvas.width = N;
  canvas.height = rows.length;
  canvas.style.height = `${12 * rows.length}px`;
  const context = canvas.getContext("2d"), image = context.createImageData(N, rows.length);
  rows.forEach(([layer, unit], row) => {
    const unitIndex = LAYERS[layer].units.indexOf(unit);
    const label = document.createElement("li");
    label.textContent = unitName(layer, unit);
    label.addEventListener("click", () => select(layer, unitIndex, "act"));
    $("heatmap-labels").appendChild(label);
    for (let t = 0; t < N; t++) {
      const [r, g, b] = interpolate(PUOR, (activation(layer, unitIndex, t) + 1) / 2), p = 4 * (row * N + t);
      image.data.set([r, g, b, 255], p);
    }
  });
  context.putImageData(image, 0, 0);
  canvas.addEventListener("click", event => {
    const box = canvas.getBoundingClientRect();
    const [layer, unit] = rows[Math.min(rows.length - 1, Math.floor((event.clientY - box.top) / 12))];
    select(layer, LAYERS[layer].units.indexOf(unit), "act");
    const t = Math.floor((event.clientX - box.left) / box.width * N);
    $("text").children[t].scrollIntoView({ block: "center" });
  });
}

function markCurrent() {
  const unit = LAYERS[state.layer].units[state.unitIndex];
  document.querySelectorAll(".ranking button").forEach(b => b.classList.toggle("current",
    +b.dataset.layer === state.layer && +b.dataset.unit === unit));
  [...$("heatmap-labels").children].forEach((li, i) => li.classList.toggle("current",
    DATA.heatmap[i][0] === state.layer && DATA.heatmap[i][1] === unit));
}

function writeHash() {
  const hash = `#l=${state.layer + 1}&u=${LAYERS[state.layer].units[state.unitIndex]}&m=${state.mode}`;
  if (location.hash === hash) return;
  try {
    history.replaceState(null, "", hash);  // no new history entry per unit
  } catch (error) {
    location.hash = hash;  // where a browser refuses replaceState for file:// pages
  }
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const layer = Math.min(Math.max((parseInt(params.get("l"), 10) || 1) - 1, 0), LAYERS.length - 1);
  const unit = parseInt(params.get("u"), 10);
  const unitIndex = LAYERS[layer].units.indexOf(unit);
  const mode = MODES[params.get("m")] ? params.get("m") : "act";
  return [layer, unitIndex < 0 ? 0 : unitIndex, mode];
}

function select(layer, unitIndex, mode) {
  if (unitIndex < 0) return;  // a unit that is not embedded in this page
  const layerChanged = layer !== state.layer || !$("unit").options.length;
  Object.assign(state, { layer, unitIndex, mode });
  $("layer").value = layer;
  if (layerChanged) fillUnitPicker();
  $("unit").value = unitIndex;
  document.querySelector(`input[name=mode][value=${mode}]`).checked = true;
  const current = LAYERS[layer];
  $("unit-stats").textContent = `unit ${current.units[unitIndex]} of layer ${layer + 1}: saturated ` +
    `${(100 * current.saturation[unitIndex]).toFixed(1)}% of the time (|h| > 0.99; layer mean ` +
    `${(100 * current.meanSaturation).toFixed(1)}%)`;
  paintText();
  markCurrent();
  showInfo(state.selected);
  writeHash();
}

function step(delta) {
  const count = LAYERS[state.layer].units.length;
  select(state.layer, (state.unitIndex + delta + count) % count, state.mode);
}

function summary() {
  const m = DATA.meta;
  $("summary").textContent =
    `${m.checkpoint}: ${m.num_layers} x ${m.hidden_size} ${m.cell} tanh RNN, ${m.parameters.toLocaleString()} ` +
    `parameters, vocabulary ${m.vocab_size} | ${m.source}, characters ${m.start}\u2013${m.start + N} of ` +
    `${m.source_length.toLocaleString()} | ` +
    (m.mean_bpc === null ? "" : `mean ${m.mean_bpc.toFixed(3)} bits per character over the span | `) +
    `${LAYERS.map(l => l.units.length).join(" + ")} units embedded`;
}

function main() {
  summary();
  LAYERS.forEach((_, i) => {
    const option = document.createElement("option");
    option.value = i;
    option.textContent = `${i + 1}`;
    $("layer").appendChild(option);
  });
  buildText();
  buildRankings();
  buildHeatmap();
  $("layer").addEventListener("change", e => select(+e.target.value, 0, state.mode));
  $("unit").addEventListener("change", e => select(state.layer, +e.target.value, state.mode));
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  document.querySelectorAll("input[name=mode]").forEach(input =>
    input.addEventListener("change", () => select(state.layer, state.unitIndex, input.value)));
  const showAt = event => {
    if (event.target.dataset.t === undefined) return;
    state.selected = +event.target.dataset.t;
    document.querySelectorAll("#text span.selected").forEach(s => s.classList.remove("selected"));
    event.target.classList.add("selected");
    showInfo(state.selected);
  };
  $("text").addEventListener("mouseover", showAt);
  $("text").addEventListener("click", showAt);
  document.addEventListener("keydown", event => {
    if (event.target.closest("select, input")) return;  // the pickers handle their own keys
    const moves = { ArrowLeft: () => step(-1), ArrowRight: () => step(1),
                    ArrowUp: () => select((state.layer + LAYERS.length - 1) % LAYERS.length, 0, state.mode),
                    ArrowDown: () => select((state.layer + 1) % LAYERS.length, 0, state.mode) };
    if (moves[event.key]) { event.preventDefault(); moves[event.key](); }
  });
  window.addEventListener("hashchange", () => select(...readHash()));
  select(...readHash());
}

main();
