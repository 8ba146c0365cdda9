// The optimizer cards: optimizer menu, one control per torch keyword (built from the API's
// hyperparameter list), the lr schedule, gradient noise, clipping and batch size, and the
// run's status in words. Cards are rebuilt only when their structure changes; while a
// slider is dragged, only values are synced, so the drag is never interrupted.

import { racerColor } from "../palette.js";
import { defaultRacer } from "../codec.js";
import { findInfo, isPrimary, racerLabel, SLIDER_STEPS, sliderScale, valueOf } from "../hyper.js";
import { fmt, fmtValue } from "../numerics.js";
import { statusWord, t } from "../i18n.js";
import { setScene, state, updateRacer } from "../state.js";
import { stopMessage } from "./words.js";
import { h, options, syncValue } from "./dom.js";

const MAX_RACERS = 8;

// ---- one control per hyperparameter ------------------------------------------------------

function floatControl(i, kind, h0, value, comp = null) {
  const scale = sliderScale(h0, comp);
  const data = { i, kind, name: h0.name, comp: comp ?? "" };
  return [
    h("input", { type: "range", min: 0, max: SLIDER_STEPS, step: 1, value: String(scale.toPos(value ?? 0)), dataset: { ...data, role: "slider" }, "aria-label": `${h0.name}${comp === null ? "" : `[${comp}]`}` }),
    h("input", { type: "number", value: value === null ? "" : String(value), step: "any", dataset: { ...data, role: "num" }, placeholder: "None", "aria-label": `${h0.name} value` }),
  ];
}

function hpRow(i, kind, h0, value) {
  const title = `${h0.description}${h0.default !== undefined ? ` · default ${fmtValue(h0.default)}` : ""}`;
  const name = h("span", { title }, h0.name);
  if (h0.type === "bool") {
    return h("label", { class: "hp bool", title }, name, h("input", { type: "checkbox", checked: Boolean(value), dataset: { i, kind, name: h0.name, role: "bool" } }));
  }
  if (h0.type === "choice") {
    const sel = h("select", { dataset: { i, kind, name: h0.name, role: "choice" } });
    options(sel, h0.choices.map((c) => ({ value: c === null ? "null" : c, label: c === null ? "None" : c })), value === null ? "null" : value);
    return h("div", { class: "hp bool", title }, name, sel);
  }
  if (h0.type === "pair") {
    const v = value || [null, null];
    const [s0, n0] = floatControl(i, kind, h0, v[0], 0);
    const [s1, n1] = floatControl(i, kind, h0, v[1], 1);
    return h("div", { class: "hp pair", title }, name, h("div", { class: "pair-sliders" }, s0, s1), h("div", { class: "pair-numbers" }, n0, n1));
  }
  if (h0.type === "float") return h("div", { class: "hp", title }, name, ...floatControl(i, kind, h0, value));
  // int, int_list, nullable values: a text box (lists as 100, 200)
  const text = Array.isArray(value) ? value.join(", ") : value === null ? "" : String(value);
  return h("div", { class: "hp", title }, name, h("span"), h("input", { type: "text", value: text, placeholder: "None", dataset: { i, kind, name: h0.name, role: h0.type === "int_list" ? "list" : "int" } }));
}

// ---- a card -------------------------------------------------------------------------------

function card(i, racer, cat, lang, color, surface) {
  const opt = findInfo(cat.optimizers, racer.opt);
  const sched = findInfo(cat.schedules, racer.sched);
  const optSel = h("select", { dataset: { i, kind: "opt", role: "opt" }, "aria-label": "optimizer" });
  options(optSel, cat.optimizers.map((o) => ({ value: o.id, label: `${o.name}${o.batched ? "" : " " + t(lang, "not_batched")}` })), racer.opt);
  const hps = opt ? opt.hyperparameters : [];
  const primary = hps.filter(isPrimary).map((hh) => hpRow(i, "hp", hh, valueOf(racer.hp, hh)));
  const secondary = hps.filter((hh) => !isPrimary(hh)).map((hh) => hpRow(i, "hp", hh, valueOf(racer.hp, hh)));
  const schedSel = h("select", { dataset: { i, kind: "sched", role: "sched" }, "aria-label": "schedule" });
  options(schedSel, cat.schedules.map((s) => ({ value: s.id, label: s.id === "constant" ? s.name : `${s.name} (${s.class.split(".").pop()})` })), racer.sched);
  const schedRows = sched ? sched.hyperparameters.map((hh) => hpRow(i, "shp", hh, valueOf(racer.shp, hh))) : [];

  const extras = [
    h("div", { class: "hp", title: "gradient_noise" }, h("span", {}, t(lang, "noise")),
      h("input", { type: "range", min: 0, max: SLIDER_STEPS, value: String(Math.round((Math.min(racer.noise, 2) / 2) * SLIDER_STEPS)), dataset: { i, kind: "noise", role: "noise-slider" }, "aria-label": "gradient noise" }),
      h("input", { type: "number", min: 0, step: "any", value: String(racer.noise), dataset: { i, kind: "noise", role: "noise" }, "aria-label": "gradient noise value" })),
    h("div", { class: "hp", title: "clip_grad_norm" },
      h("label", { class: "toggle" }, h("input", { type: "checkbox", checked: racer.clip !== null, dataset: { i, kind: "clip", role: "clip-on" } }), h("span", {}, t(lang, "clip_on"))),
      h("span", { class: "hint" }, t(lang, "clip")),
      h("input", { type: "number", min: 0, step: "any", value: racer.clip === null ? "1" : String(racer.clip), disabled: racer.clip === null, dataset: { i, kind: "clip", role: "clip" }, "aria-label": "clip value" })),
  ];
  if (surface && surface.n_samples) {
    const sizes = [];
    for (let b = 1; b < surface.n_samples; b *= 2) sizes.push(b);
    const batchSel = h("select", { dataset: { i, kind: "batch", role: "batch" }, "aria-label": "batch size" });
    options(batchSel, [{ value: "", label: `${t(lang, "full_batch")} (${surface.n_samples})` }, ...sizes.map((b) => ({ value: String(b), label: String(b) })), ...(racer.batch && !sizes.includes(racer.batch) && racer.batch !== null ? [{ value: String(racer.batch), label: String(racer.batch) }] : [])], racer.batch === null ? "" : racer.batch);
    extras.push(h("div", { class: "hp bool" }, h("span", {}, t(lang, "batch")),
      h("div", { class: "row" }, batchSel, h("label", { class: "toggle" }, h("input", { type: "checkbox", checked: racer.shuffle !== false, dataset: { i, kind: "shuffle", role: "shuffle" } }), t(lang, "shuffle")))));
  }

  const el = h("div", { class: "racer", style: { borderLeftColor: color }, dataset: { card: i } },
    h("div", { class: "racer-head" },
      h("span", { class: "swatch", style: { background: color } }),
      optSel,
      h("button", { type: "button", class: "icon-btn", title: racer.hidden ? t(lang, "show") : t(lang, "hide"), dataset: { i, role: "hide" } }, racer.hidden ? "◌" : "◉"),
      h("button", { type: "button", class: "icon-btn", title: t(lang, "remove"), dataset: { i, role: "remove" }, disabled: false }, "✕")),
    h("div", { class: "racer-label", dataset: { role: "label" } }, racerLabel(racer, opt, sched)),
    h("div", { class: "sub" }, primary,
      h("div", { class: "hp bool" }, h("span", {}, t(lang, "schedule")), schedSel), schedRows),
    h("div", { class: "sub extras" }, extras),
    secondary.length ? h("details", { class: "more" }, h("summary", {}, `${t(lang, "more")} (${secondary.map((x) => x.firstChild.textContent).join(", ")})`), h("div", { class: "sub" }, secondary)) : null,
    h("div", { class: "racer-status", dataset: { role: "status" } }));
  return el;
}

// ---- events -----------------------------------------------------------------------------------

function paramInfo(el) {
  const i = Number(el.dataset.i);
  const racer = state.scene.racers[i];
  const cat = state.runtime.catalogue;
  const list = el.dataset.kind === "shp" ? findInfo(cat.schedules, racer.sched) : findInfo(cat.optimizers, racer.opt);
  return { i, racer, info: list && list.hyperparameters.find((x) => x.name === el.dataset.name) };
}

function setParam(el, value) {
  const { i, racer, info } = paramInfo(el);
  const field = el.dataset.kind === "shp" ? "shp" : "hp";
  let v = value;
  if (el.dataset.comp !== "" && el.dataset.comp !== undefined && info && info.type === "pair") {
    v = [...valueOf(racer[field], info)];
    v[Number(el.dataset.comp)] = value;
  }
  updateRacer(i, (r) => ({ ...r, [field]: { ...r[field], [el.dataset.name]: v } }));
}

function parseNumber(text, nullable) {
  const s = text.trim();
  if (s === "" || s.toLowerCase() === "none") return nullable ? null : undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

// Removing a focused input fires "change" on it; events from cards being replaced are stale.
let rebuilding = false;
const stale = (el) => rebuilding || !state.scene.racers[Number(el.dataset.i)];

function onInput(ev) {
  const el = ev.target;
  const role = el.dataset.role;
  if (!role || stale(el)) return;
  const i = Number(el.dataset.i);
  if (role === "slider") {
    const { info } = paramInfo(el);
    if (!info) return;
    const comp = el.dataset.comp === "" ? null : Number(el.dataset.comp);
    setParam(el, sliderScale(info, comp).fromPos(Number(el.value)));
  } else if (role === "noise-slider") {
    const v = Number(((Number(el.value) / SLIDER_STEPS) * 2).toPrecision(2));
    updateRacer(i, (r) => ({ ...r, noise: v }));
  }
}

function onChange(ev) {
  const el = ev.target;
  const role = el.dataset.role;
  if (!role || stale(el)) return;
  const i = Number(el.dataset.i);
  const cat = state.runtime.catalogue;
  if (role === "num" || role === "int") {
    const { info } = paramInfo(el);
    const v = parseNumber(el.value, info && info.nullable);
    if (v !== undefined) setParam(el, role === "int" && v !== null ? Math.round(v) : v);
  } else if (role === "list") {
    const v = el.value.split(/[,\s]+/).filter(Boolean).map(Number).filter(Number.isFinite);
    setParam(el, v);
  } else if (role === "bool") setParam(el, el.checked);
  else if (role === "choice") setParam(el, el.value === "null" ? null : el.value);
  else if (role === "opt") {
    const lr = state.scene.racers[i].hp.lr;
    updateRacer(i, (r) => ({ ...r, opt: el.value, hp: lr !== undefined ? { lr } : {} }));
  } else if (role === "sched") updateRacer(i, (r) => ({ ...r, sched: el.value, shp: {} }));
  else if (role === "noise") {
    const v = parseNumber(el.value, false);
    if (v !== undefined && v >= 0) updateRacer(i, (r) => ({ ...r, noise: v }));
  } else if (role === "clip-on") updateRacer(i, (r) => ({ ...r, clip: el.checked ? 1 : null }));
  else if (role === "clip") {
    const v = parseNumber(el.value, false);
    if (v !== undefined && v > 0) updateRacer(i, (r) => ({ ...r, clip: v }));
  } else if (role === "batch") updateRacer(i, (r) => ({ ...r, batch: el.value === "" ? null : Number(el.value) }));
  else if (role === "shuffle") updateRacer(i, (r) => ({ ...r, shuffle: el.checked }));
  void cat;
}

function onClick(ev) {
  const el = ev.target.closest("[data-role]");
  const cardEl = ev.target.closest("[data-card]");
  if (cardEl && Number(cardEl.dataset.card) !== state.scene.focus && !(el && el.dataset.role === "remove")) {
    setScene({ focus: Number(cardEl.dataset.card) });
  }
  if (!el) return;
  const i = Number(el.dataset.i);
  if (el.dataset.role === "remove") {
    const racers = state.scene.racers.filter((_, j) => j !== i);
    if (!racers.length) return;
    setScene({ racers, focus: Math.min(state.scene.focus, racers.length - 1), fair: null });
  } else if (el.dataset.role === "hide") {
    updateRacer(i, (r) => ({ ...r, hidden: !r.hidden }));
  }
}

export function addRacer() {
  const { racers } = state.scene;
  if (racers.length >= MAX_RACERS) return;
  const cat = state.runtime.catalogue;
  const used = new Set(racers.map((r) => r.opt));
  const next = cat.optimizers.find((o) => !used.has(o.id) && o.batched) || cat.optimizers[0];
  const last = racers[racers.length - 1];
  const lr = last ? last.hp.lr ?? findInfo(cat.optimizers, last.opt)?.hyperparameters.find((x) => x.name === "lr")?.default : undefined;
  const r = defaultRacer(next.id, lr !== undefined ? { lr } : {});
  setScene({ racers: [...racers, r], focus: racers.length });
}

// ---- render -------------------------------------------------------------------------------------

export function createRacersView(root) {
  root.addEventListener("input", onInput);
  root.addEventListener("change", onChange);
  root.addEventListener("click", onClick);
  let signature = null;

  function render() {
    const { scene, runtime } = state;
    const cat = runtime.catalogue;
    if (!cat) return;
    const surface = cat.surfaces.find((s) => s.id === scene.surface) || null;
    const sig = JSON.stringify([scene.racers.map((r) => [r.opt, r.sched, r.hidden, r.clip === null, r.batch]), scene.lang, scene.cb, surface && surface.n_samples]);
    if (sig !== signature) {
      signature = sig;
      rebuilding = true;
      try {
        root.replaceChildren(...scene.racers.map((r, i) => card(i, r, cat, scene.lang, racerColor(i, scene.cb), surface)));
      } finally {
        rebuilding = false;
      }
    }
    scene.racers.forEach((r, i) => syncCard(root.children[i], i, r, cat, scene, runtime));
  }

  return { render };
}

function syncCard(el, i, racer, cat, scene, runtime) {
  if (!el) return;
  el.classList.toggle("focus", i === scene.focus && scene.racers.length > 1);
  // Only the focused card shows its controls; click another card to edit it.
  el.classList.toggle("collapsed", i !== scene.focus);
  const opt = findInfo(cat.optimizers, racer.opt);
  const sched = findInfo(cat.schedules, racer.sched);
  el.querySelector('[data-role="label"]').textContent = racerLabel(racer, opt, sched);
  for (const input of el.querySelectorAll("input[data-name], select[data-name]")) {
    const list = input.dataset.kind === "shp" ? sched : opt;
    const info = list && list.hyperparameters.find((x) => x.name === input.dataset.name);
    if (!info) continue;
    let v = valueOf(input.dataset.kind === "shp" ? racer.shp : racer.hp, info);
    const comp = input.dataset.comp;
    if (comp !== undefined && comp !== "" && Array.isArray(v)) v = v[Number(comp)];
    const role = input.dataset.role;
    if (role === "slider") syncValue(input, sliderScale(info, comp === "" ? null : Number(comp)).toPos(v ?? 0));
    else if (role === "num" || role === "int") syncValue(input, v === null ? "" : v);
    else if (role === "list") syncValue(input, (v || []).join(", "));
    else if (role === "bool") input.checked = Boolean(v);
    else if (role === "choice") syncValue(input, v === null ? "null" : v);
  }
  const noise = el.querySelector('[data-role="noise"]');
  if (noise) syncValue(noise, racer.noise);
  const noiseSlider = el.querySelector('[data-role="noise-slider"]');
  if (noiseSlider) syncValue(noiseSlider, Math.round((Math.min(racer.noise, 2) / 2) * SLIDER_STEPS));
  const clip = el.querySelector('[data-role="clip"]');
  if (clip && racer.clip !== null) syncValue(clip, racer.clip);
  const status = el.querySelector('[data-role="status"]');
  const tr = runtime.traj[i];
  const lang = scene.lang;
  status.className = "racer-status";
  if (scene.live && runtime.liveStale) {
    status.textContent = t(lang, "live_hint");
  } else if (tr && tr.error) {
    status.classList.add("error");
    status.textContent = `${t(lang, "error")}: ${tr.error}`;
  } else if (!tr || (runtime.pending[i] && !tr.summary)) {
    status.textContent = t(lang, "computing");
  } else if (tr.summary) {
    status.classList.add(tr.status);
    status.textContent = `● ${statusWord(lang, tr.status)} — ${stopMessage(lang, tr.summary, scene)}${runtime.pending[i] ? ` (${t(lang, "computing")})` : ""}`;
  } else {
    status.textContent = `${statusWord(lang, tr.status)} · ${t(lang, "step")} ${Math.max(0, tr.cols.n - 1)}`;
  }
  void fmt;
}
