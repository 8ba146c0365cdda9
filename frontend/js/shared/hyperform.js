// The hyperparameter form of both pages: one control per torch keyword, built from the API's
// hyperparameter list (slider scales and the "primary" rule from hyper.js). Floats get a
// slider and a number box (a pair or a triple: one of each per component), ints and lists a
// text box, bools a checkbox, choices a menu. Inputs carry data-kind (the scene field: "hp" |
// "shp"), data-name, data-role and data-comp, and whatever the page adds (the explorer: its
// card's data-i). Under an optimizer's menu, `optimizerNote`: its update rule and paper.

import { fmtValue } from "./format.js";
import { h, options, syncValue } from "./dom.js";
import { t } from "./i18n.js";
import { isPrimary, SLIDER_STEPS, sliderScale, tupleLength, valueOf } from "./hyper.js";

const shown = (v) => (v === null || v === undefined ? "" : String(v));

function floatControls(lang, info, value, data, comp = null) {
  const scale = sliderScale(info, comp);
  const name = comp === null ? info.name : `${info.name}[${comp}]`;
  return [
    h("input", { type: "range", min: 0, max: SLIDER_STEPS, step: 1, value: String(scale.toPos(value ?? 0)), dataset: data("slider", comp), "aria-label": name }),
    h("input", { type: "number", step: "any", value: shown(value), placeholder: "None", dataset: data("num", comp), "aria-label": t(lang, "hp_value", { name }) }),
  ];
}

/** A keyword's name that may break after its underscores (weight_ | decay) rather than be cut short. */
function breakable(name) {
  return name.split(/(?<=_)/).flatMap((part, k) => (k ? [h("wbr"), part] : [part]));
}

function row(lang, kind, info, value, extra) {
  const title = `${info.description}${info.default !== undefined ? ` · ${t(lang, "default_is", { value: fmtValue(info.default) })}` : ""}`;
  const data = (role, comp = null) => ({ ...extra, kind, name: info.name, role, comp: comp ?? "" });
  const name = h("span", { title }, breakable(info.name));
  if (info.type === "bool") {
    return h("label", { class: "hp bool", title }, name, h("input", { type: "checkbox", checked: Boolean(value), dataset: data("bool") }));
  }
  if (info.type === "choice") {
    const sel = h("select", { dataset: data("choice"), "aria-label": info.name });
    options(sel, info.choices.map((c) => ({ value: c === null ? "null" : c, label: c === null ? "None" : c })), value === null ? "null" : value);
    return h("div", { class: "hp bool", title }, name, sel);
  }
  if (info.type === "pair" || info.type === "triple") {
    const v = value || [];
    const parts = Array.from({ length: tupleLength(info) }, (_, c) => floatControls(lang, info, v[c] ?? null, data, c));
    return h("div", { class: "hp pair", title }, name, h("div", { class: "pair-sliders" }, parts.map(([sl]) => sl)), h("div", { class: "pair-numbers" }, parts.map(([, n]) => n)));
  }
  if (info.type === "float") return h("div", { class: "hp", title }, name, ...floatControls(lang, info, value, data));
  // int, int_list: a text box (lists as 100, 200)
  const text = Array.isArray(value) ? value.join(", ") : shown(value);
  return h("div", { class: "hp", title }, name, h("span"),
    h("input", { type: "text", value: text, placeholder: "None", dataset: data(info.type === "int_list" ? "list" : "int"), "aria-label": info.name }));
}

/**
 * The rows of keywords `hps` with `values` set, as `[shown, more]`, in language `lang`. With
 * `more`, the keywords that are not primary go in a collapsed box that names them;
 * otherwise every row is shown and `more` is null. `data` goes into every input's dataset.
 */
export function hpRows(lang, kind, hps, values, { more = false, data = {} } = {}) {
  const rowOf = (x) => row(lang, kind, x, valueOf(values, x), data);
  if (!more) return [hps.map(rowOf), null];
  const rest = hps.filter((x) => !isPrimary(x));
  const box = rest.length
    ? h("details", { class: "more" }, h("summary", {}, `${t(lang, "more")} (${rest.map((x) => x.name).join(", ")})`), h("div", { class: "sub" }, rest.map(rowOf)))
    : null;
  return [hps.filter(isPrimary).map(rowOf), box];
}

/** What optimizer `o` does, under its menu: the update rule (its description as the title)
 * and a link to its paper. */
export function optimizerNote(lang, o) {
  if (!o) return null;
  return h("p", { class: "hint opt-note", title: o.description, dataset: { role: "opt-note" } },
    h("code", {}, o.update_rule),
    o.paper ? [" · ", h("a", { href: o.paper.url, target: "_blank", rel: "noopener", title: o.paper.cite }, `${t(lang, "paper")}: ${o.paper.cite}`)] : null);
}

/** A number as typed: undefined when it is not one (`None` or empty is null if allowed). */
export function parseNumber(text, nullable) {
  const s = text.trim();
  if (s === "" || s.toLowerCase() === "none") return nullable ? null : undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * The new value of keyword `info` after an event on its control `el` (undefined: ignore it):
 * sliders on "input" (`live`), typed values on "change". Values out of range go through:
 * the server's message says what is allowed.
 */
export function readHp(el, info, values, live) {
  const role = el.dataset.role;
  if ((role === "slider") !== live) return undefined;
  const comp = el.dataset.comp === "" ? null : Number(el.dataset.comp);
  let v;
  if (role === "slider") v = sliderScale(info, comp).fromPos(Number(el.value));
  else if (role === "num") v = parseNumber(el.value, info.nullable || info.type === "pair" || info.type === "triple");
  else if (role === "int") {
    v = parseNumber(el.value, info.nullable);
    if (v !== undefined && v !== null) v = Math.round(v);
  } else if (role === "list") v = el.value.split(/[,\s]+/).filter(Boolean).map(Number).filter(Number.isFinite);
  else if (role === "bool") v = el.checked;
  else if (role === "choice") v = el.value === "null" ? null : el.value;
  if (v === undefined || comp === null) return v;
  const pair = [...(valueOf(values, info) || Array(tupleLength(info)).fill(null))];
  pair[comp] = v;
  return pair;
}

/** Bring every control under `root` of kind `kind` to `values` (inputs being typed in stay). */
export function syncHp(root, kind, hps, values) {
  for (const el of root.querySelectorAll(`[data-kind="${kind}"][data-name]`)) {
    const info = hps.find((x) => x.name === el.dataset.name);
    if (!info) continue;
    const comp = el.dataset.comp === "" ? null : Number(el.dataset.comp);
    let v = valueOf(values, info);
    if (comp !== null && Array.isArray(v)) v = v[comp];
    const role = el.dataset.role;
    if (role === "slider") syncValue(el, sliderScale(info, comp).toPos(v ?? 0));
    else if (role === "bool") el.checked = Boolean(v);
    else if (role === "choice") syncValue(el, v === null ? "null" : v);
    else if (role === "list") syncValue(el, (v || []).join(", "));
    else syncValue(el, shown(v));
  }
}
