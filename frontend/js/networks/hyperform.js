// One control per torch keyword, built from the API's hyperparameter list (the explorer's
// slider scales and "primary" rule from hyper.js): floats get a slider and a number box,
// ints and lists a text box, bools a checkbox, choices a menu, pairs two number boxes.
// Inputs carry data-kind ("hp" | "shp"), data-name, data-role and data-comp.

import { isPrimary, SLIDER_STEPS, sliderScale, valueOf } from "../hyper.js";
import { fmtValue } from "../numerics.js";
import { h, options, syncValue } from "../views/dom.js";

const shown = (v) => (v === null || v === undefined ? "" : String(v));

function row(kind, info, value) {
  const title = `${info.description} · default ${fmtValue(info.default)}`;
  const data = (role, comp = "") => ({ kind, name: info.name, role, comp });
  const name = h("span", { title }, info.name);
  if (info.type === "bool") {
    return h("label", { class: "hp bool", title }, name, h("input", { type: "checkbox", checked: Boolean(value), dataset: data("bool") }));
  }
  if (info.type === "choice") {
    const sel = h("select", { dataset: data("choice"), "aria-label": info.name });
    options(sel, info.choices.map((c) => ({ value: c === null ? "null" : c, label: c === null ? "None" : c })), value === null ? "null" : value);
    return h("div", { class: "hp bool", title }, name, sel);
  }
  if (info.type === "pair") {
    const v = value || [null, null];
    return h("div", { class: "hp bool", title }, name,
      h("div", { class: "pair-inputs" }, [0, 1].map((c) => h("input", { type: "number", step: "any", value: shown(v[c]), placeholder: "None", dataset: data("num", c), "aria-label": `${info.name}[${c}]` }))));
  }
  if (info.type === "float") {
    const scale = sliderScale(info);
    return h("div", { class: "hp", title }, name,
      h("input", { type: "range", min: 0, max: SLIDER_STEPS, step: 1, value: String(scale.toPos(value ?? 0)), dataset: data("slider"), "aria-label": info.name }),
      h("input", { type: "number", step: "any", value: shown(value), placeholder: "None", dataset: data("num"), "aria-label": `${info.name} value` }));
  }
  const text = Array.isArray(value) ? value.join(", ") : shown(value);
  return h("div", { class: "hp", title }, name, h("span"),
    h("input", { type: "text", value: text, placeholder: "None", dataset: data(info.type === "int_list" ? "list" : "int"), "aria-label": info.name }));
}

/** Rows for `hps` with `values` set: [primary rows, the rest] (the rest go under "more"). */
export function hpRows(kind, hps, values) {
  const primary = hps.filter((x) => kind === "shp" || isPrimary(x));
  const rest = hps.filter((x) => !primary.includes(x));
  return [primary.map((x) => row(kind, x, valueOf(values, x))), rest.map((x) => row(kind, x, valueOf(values, x)))];
}

function parseNumber(text, nullable) {
  const s = text.trim();
  if (s === "" || s.toLowerCase() === "none") return nullable ? null : undefined;
  const v = Number(s);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * The new value of keyword `info` after an input event on `el` (undefined: ignore it).
 * Values out of range go through: the server's message says what is allowed.
 */
export function readHp(el, info, values, live) {
  const role = el.dataset.role;
  let v;
  if (role === "slider") v = sliderScale(info).fromPos(Number(el.value));
  else if (live) return undefined; // typing: wait for "change"
  else if (role === "num") v = parseNumber(el.value, info.nullable || info.type === "pair");
  else if (role === "int") {
    v = parseNumber(el.value, info.nullable);
    if (v !== undefined && v !== null) v = Math.round(v);
  } else if (role === "list") v = el.value.split(/[,\s]+/).filter(Boolean).map(Number).filter(Number.isFinite);
  else if (role === "bool") v = el.checked;
  else if (role === "choice") v = el.value === "null" ? null : el.value;
  if (v === undefined || el.dataset.comp === "") return v;
  const pair = [...(valueOf(values, info) || [null, null])];
  pair[Number(el.dataset.comp)] = v;
  return pair;
}

/** Bring every control under `root` of kind `kind` to `values` (inputs being typed in stay). */
export function syncHp(root, kind, hps, values) {
  for (const el of root.querySelectorAll(`[data-kind="${kind}"][data-name]`)) {
    const info = hps.find((x) => x.name === el.dataset.name);
    if (!info) continue;
    let v = valueOf(values, info);
    if (el.dataset.comp !== "" && Array.isArray(v)) v = v[Number(el.dataset.comp)];
    const role = el.dataset.role;
    if (role === "slider") syncValue(el, sliderScale(info).toPos(v ?? 0));
    else if (role === "bool") el.checked = Boolean(v);
    else if (role === "choice") syncValue(el, v === null ? "null" : v);
    else if (role === "list") syncValue(el, (v || []).join(", "));
    else syncValue(el, shown(v));
  }
}
