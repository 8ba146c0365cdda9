// Tiny DOM helpers: build elements without innerHTML (values from links and the API are
// never parsed as HTML), and keep the keyboard focus when a view rebuilds its controls.

/** h("div", {class: "x", onclick: fn}, child, "text", [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "style" && typeof v === "object") Object.assign(el.style, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** <select> options from [{value, label, group}]; items with a `group` go under an
 * <optgroup> of that label, in order of first appearance. Keeps `selected`. */
export function options(select, items, selected) {
  const sig = JSON.stringify(items);
  if (select.dataset.sig !== sig) {
    const option = (it) => h("option", { value: it.value }, it.label);
    const groups = [...new Set(items.map((it) => it.group))];
    fill(select, groups.some((g) => g !== undefined)
      ? groups.map((g) => h("optgroup", { label: g ?? "" }, items.filter((it) => it.group === g).map(option)))
      : items.map(option));
    select.dataset.sig = sig;
  }
  if (selected !== undefined && select.value !== String(selected)) select.value = String(selected);
}

/** Set an input's value unless the user is typing in it. */
export function syncValue(input, value) {
  if (document.activeElement === input && input.type !== "range") return;
  const v = String(value);
  if (input.value !== v) input.value = v;
}

/** Text with {placeholders} filled by DOM nodes or strings. */
export function template(text, values) {
  const out = [];
  let last = 0;
  text.replace(/\{([\w.]+)\}/g, (m, key, offset) => {
    out.push(text.slice(last, offset));
    out.push(key in values ? values[key] : m);
    last = offset + m.length;
    return m;
  });
  out.push(text.slice(last));
  return out;
}

/**
 * Run `rebuild()`, which replaces the children of `root`, and give the keyboard focus back
 * to the new control that stands where the focused one stood (the same data-* attributes),
 * so changing a menu with the arrow keys does not drop the focus to the page.
 */
export function keepFocus(root, rebuild) {
  const el = document.activeElement;
  const had = el && el !== root && root.contains(el) ? Object.entries(el.dataset) : null;
  rebuild();
  if (!had || !had.length) return;
  const selector = had.map(([k, v]) => `[data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${CSS.escape(v)}"]`).join("");
  const again = root.querySelector(selector);
  if (again) again.focus();
}
