// The optimizer cards: optimizer menu, one control per torch keyword (the shared
// hyperparameter form), the lr schedule, gradient noise, clipping and batch size, and the
// run's status in words. Cards are rebuilt only when their structure changes; while a
// slider is dragged, only values are synced, so the drag is never interrupted.

import { fill, h, keepFocus, options, syncValue } from "../../shared/dom.js";
import { failureNote } from "../../shared/failure.js";
import { findInfo, optimizerItems, racerLabel, SLIDER_STEPS } from "../../shared/hyper.js";
import { hpRows, optimizerNote, parseNumber, readHp, syncHp } from "../../shared/hyperform.js";
import { statusWord, t } from "../../shared/i18n.js";
import { racerColor } from "../../shared/palette.js";
import { queuedWords } from "../../shared/queue.js";
import { defaultRacer } from "../codec.js";
import { retryTrajectories, startLive } from "../compute.js";
import { stopMessage } from "../outcome.js";
import { setScene, state, surfaceInfo, updateRacer } from "../state.js";

const MAX_RACERS = 8;
const SAID_BY_MESSAGE = new Set(["diverged", "cancelled"]); // stop reasons whose message names the status

// ---- a card -------------------------------------------------------------------------------

function card(i, racer, cat, lang, color, surface) {
  const opt = findInfo(cat.optimizers, racer.opt);
  const sched = findInfo(cat.schedules, racer.sched);
  const optSel = h("select", { dataset: { i, kind: "opt", role: "opt" }, "aria-label": t(lang, "optimizer") });
  options(optSel, optimizerItems(lang, cat.optimizers, (o) => `${o.name}${o.batched ? "" : " " + t(lang, "not_batched")}`), racer.opt);
  const [primary, more] = hpRows(lang, "hp", opt ? opt.hyperparameters : [], racer.hp, { more: true, data: { i } });
  const schedSel = h("select", { dataset: { i, kind: "sched", role: "sched" }, "aria-label": t(lang, "schedule") });
  options(schedSel, cat.schedules.map((s) => ({ value: s.id, label: s.id === "constant" ? s.name : `${s.name} (${s.class.split(".").pop()})` })), racer.sched);
  const [schedRows] = hpRows(lang, "shp", sched ? sched.hyperparameters : [], racer.shp, { data: { i } });

  const extras = [
    h("div", { class: "hp", title: "gradient_noise" }, h("span", {}, t(lang, "noise")),
      h("input", { type: "range", min: 0, max: SLIDER_STEPS, value: String(Math.round((Math.min(racer.noise, 2) / 2) * SLIDER_STEPS)), dataset: { i, kind: "noise", role: "noise-slider" }, "aria-label": t(lang, "noise") }),
      h("input", { type: "number", min: 0, step: "any", value: String(racer.noise), dataset: { i, kind: "noise", role: "noise" }, "aria-label": t(lang, "hp_value", { name: t(lang, "noise") }) })),
    h("div", { class: "hp clip", title: "clip_grad_norm" },
      h("label", { class: "toggle" }, h("input", { type: "checkbox", checked: racer.clip !== null, dataset: { i, kind: "clip", role: "clip-on" } }), h("span", {}, t(lang, "clip"))),
      h("input", { type: "number", min: 0, step: "any", value: racer.clip === null ? "1" : String(racer.clip), disabled: racer.clip === null, dataset: { i, kind: "clip", role: "clip" }, "aria-label": t(lang, "hp_value", { name: t(lang, "clip") }) })),
  ];
  if (surface && surface.n_samples) {
    const sizes = [];
    for (let b = 1; b < surface.n_samples; b *= 2) sizes.push(b);
    const batchSel = h("select", { dataset: { i, kind: "batch", role: "batch" }, "aria-label": t(lang, "batch") });
    options(batchSel, [{ value: "", label: `${t(lang, "full_batch")} (${surface.n_samples})` }, ...sizes.map((b) => ({ value: String(b), label: String(b) })), ...(racer.batch && !sizes.includes(racer.batch) && racer.batch !== null ? [{ value: String(racer.batch), label: String(racer.batch) }] : [])], racer.batch === null ? "" : racer.batch);
    extras.push(h("div", { class: "hp bool" }, h("span", {}, t(lang, "batch")),
      h("div", { class: "row" }, batchSel, h("label", { class: "toggle" }, h("input", { type: "checkbox", checked: racer.shuffle !== false, dataset: { i, kind: "shuffle", role: "shuffle" } }), t(lang, "shuffle")))));
  }

  const glyph = (role, label, text) => h("button", { type: "button", class: "icon-btn", title: label, "aria-label": label, dataset: { i, role } }, h("span", { "aria-hidden": "true" }, text));
  // A card is a group named by its number; its label opens it (the controls of the other
  // cards are folded away), as focusing any of its controls does.
  const el = h("div", { class: "racer", role: "group", "aria-label": t(lang, "racer_n", { n: i + 1 }), style: { borderLeftColor: color }, dataset: { card: i } },
    h("div", { class: "racer-head" },
      h("span", { class: "swatch", style: { background: color } }),
      optSel,
      glyph("hide", racer.hidden ? t(lang, "show") : t(lang, "hide"), racer.hidden ? "◌" : "◉"),
      glyph("remove", t(lang, "remove"), "✕")),
    h("button", { type: "button", class: "racer-label", "aria-expanded": "false", dataset: { role: "label" } }, racerLabel(racer, opt, sched)),
    h("div", { class: "sub" }, optimizerNote(lang, opt), primary,
      h("div", { class: "hp bool" }, h("span", {}, t(lang, "schedule")), schedSel), schedRows),
    h("div", { class: "sub extras" }, extras),
    more,
    h("div", { class: "racer-status", dataset: { role: "status" } }));
  return el;
}

// ---- events -----------------------------------------------------------------------------------

/** The keyword an input of card `i` edits, and the scene field it lives in ("hp" | "shp"). */
function paramInfo(el) {
  const i = Number(el.dataset.i);
  const racer = state.scene.racers[i];
  const cat = state.runtime.catalogue;
  const field = el.dataset.kind;
  const list = field === "shp" ? findInfo(cat.schedules, racer.sched) : findInfo(cat.optimizers, racer.opt);
  return { i, racer, field, info: list && list.hyperparameters.find((x) => x.name === el.dataset.name) };
}

/** A keyword's control changed: its new value into the racer (live: while dragging). */
function editParam(el, live) {
  const { i, racer, field, info } = paramInfo(el);
  const v = info ? readHp(el, info, racer[field], live) : undefined;
  if (v !== undefined) updateRacer(i, (r) => ({ ...r, [field]: { ...r[field], [info.name]: v } }));
}

// Removing a focused input fires "change" on it; events from cards being replaced are stale.
let rebuilding = false;
const stale = (el) => rebuilding || !state.scene.racers[Number(el.dataset.i)];

function onInput(ev) {
  const el = ev.target;
  if (!el.dataset.role || stale(el)) return;
  if (el.dataset.name) editParam(el, true);
  else if (el.dataset.role === "noise-slider") {
    const v = Number(((Number(el.value) / SLIDER_STEPS) * 2).toPrecision(2));
    updateRacer(Number(el.dataset.i), (r) => ({ ...r, noise: v }));
  }
}

function onChange(ev) {
  const el = ev.target;
  const role = el.dataset.role;
  if (!role || stale(el)) return;
  if (el.dataset.name) return editParam(el, false);
  const i = Number(el.dataset.i);
  if (role === "opt") {
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
}

/** Keyboard focus entering a card makes its racer the focused one (its controls unfold). */
function onFocusIn(ev) {
  const cardEl = ev.target.closest("[data-card]");
  if (!cardEl || ev.target.dataset.role === "remove" || rebuilding) return;
  const i = Number(cardEl.dataset.card);
  if (i !== state.scene.focus && state.scene.racers[i]) setScene({ focus: i });
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
  root.addEventListener("focusin", onFocusIn);
  let signature = null;
  let builtFrom = null;

  function render() {
    const { scene, runtime } = state;
    const cat = runtime.catalogue;
    if (!cat) return;
    const surface = surfaceInfo(scene);
    const sig = JSON.stringify([scene.racers.map((r) => [r.opt, r.sched, r.hidden, r.clip === null, r.batch]), scene.lang, scene.cb, surface && surface.n_samples]);
    // Rebuilt too when the catalogue is another (its texts came in another language).
    if (sig !== signature || cat !== builtFrom) {
      signature = sig;
      builtFrom = cat;
      rebuilding = true;
      try {
        keepFocus(root, () => root.replaceChildren(...scene.racers.map((r, i) => card(i, r, cat, scene.lang, racerColor(i, scene.cb), surface))));
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
  el.querySelector('[data-role="label"]').setAttribute("aria-expanded", String(i === scene.focus));
  const opt = findInfo(cat.optimizers, racer.opt);
  const sched = findInfo(cat.schedules, racer.sched);
  el.querySelector('[data-role="label"]').textContent = racerLabel(racer, opt, sched);
  if (opt) syncHp(el, "hp", opt.hyperparameters, racer.hp);
  if (sched) syncHp(el, "shp", sched.hyperparameters, racer.shp);
  const noise = el.querySelector('[data-role="noise"]');
  if (noise) syncValue(noise, racer.noise);
  const noiseSlider = el.querySelector('[data-role="noise-slider"]');
  if (noiseSlider) syncValue(noiseSlider, Math.round((Math.min(racer.noise, 2) / 2) * SLIDER_STEPS));
  const clip = el.querySelector('[data-role="clip"]');
  if (clip && racer.clip !== null) syncValue(clip, racer.clip);
  renderStatus(el.querySelector('[data-role="status"]'), runtime.traj[i], runtime.pending[i], scene, runtime.liveStale);
}

/** The run's state in words; an error says what failed and, when trying again can help, offers Retry. */
function renderStatus(el, tr, pending, scene, liveStale) {
  const lang = scene.lang;
  const steps = tr ? `${t(lang, "step")} ${Math.max(0, tr.cols.n - 1)}` : "";
  let cls = "";
  let text;
  let retry = null;
  if (scene.live && liveStale) text = t(lang, "live_hint");
  else if (tr && tr.link === "reconnecting") {
    cls = "reconnecting";
    text = `${t(lang, "reconnecting")} · ${steps}`;
  } else if (tr && tr.error) {
    cls = "error";
    text = tr.error;
    if (tr.live) retry = startLive;
    else if (tr.passing) retry = retryTrajectories;
  } else if (tr && tr.live && !tr.summary) {
    text = tr.status === "queued" ? queuedWords(lang, tr.ahead) : `${statusWord(lang, tr.status)} · ${steps}`;
  } else if (!tr || (pending && !tr.summary)) text = t(lang, "computing");
  else if (tr.summary) {
    cls = tr.status;
    // "diverged at step 51" and "cancelled at step 9" already say the status
    const word = SAID_BY_MESSAGE.has(tr.summary.stop_reason) ? "" : `${statusWord(lang, tr.status)} — `;
    text = `● ${word}${stopMessage(lang, tr.summary, scene)}${pending ? ` (${t(lang, "computing")})` : ""}`;
  } else text = `${statusWord(lang, tr.status)} · ${steps}`;
  const sig = JSON.stringify([cls, text, Boolean(retry), lang]);
  if (el.dataset.sig === sig) return;
  el.dataset.sig = sig;
  el.className = `racer-status ${cls}`;
  if (cls === "error") fill(el, failureNote(lang, text, retry));
  else el.textContent = text;
}
