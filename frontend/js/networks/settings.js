// The settings form: data, model, optimizer and schedule (the shared hyperparameter
// form), batch size with GD / SGD / mini-batch buttons, epochs, shuffling,
// early stopping and the landscape. The form is rebuilt only when its structure changes;
// otherwise values are synced, so typing and dragging are never interrupted.

import { fill, h, keepFocus, options, syncValue } from "../shared/dom.js";
import { findInfo, optimizerItems } from "../shared/hyper.js";
import { hpRows, optimizerNote, readHp, syncHp } from "../shared/hyperform.js";
import { t } from "../shared/i18n.js";
import { batchesPerEpoch, modelsFor } from "./spec.js";
import { setScene, state } from "./state.js";

const MINI_BATCH = 32;

const num = (role, attrs = {}) => h("input", { type: "number", step: "any", dataset: { role }, ...attrs });
const check = (role, label) => h("label", { class: "toggle" }, h("input", { type: "checkbox", dataset: { role } }), label);
/** A labelled row of the grid; a lone control is named by the label for screen readers. */
function field(label, ...control) {
  if (control.length === 1) control[0].setAttribute("aria-label", label);
  return [h("span", { class: "field-label" }, label), h("div", { class: "row" }, ...control)];
}

function section(title, ...body) {
  return h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, title)), ...body);
}

function build(root, scene, cat) {
  const lang = scene.lang;
  const ds = findInfo(cat.datasets, scene.ds);
  const model = findInfo(cat.models, scene.model);
  const opt = findInfo(cat.optimizers, scene.opt);
  const sched = findInfo(cat.schedules, scene.sched);
  const sel = (role, items, value, label) => {
    const s = h("select", { dataset: { role }, "aria-label": label });
    options(s, items, value);
    return s;
  };
  const [optRows, optMore] = opt ? hpRows(lang, "hp", opt.hyperparameters, scene.hp, { more: true }) : [[], null];
  const [schedRows] = sched ? hpRows(lang, "shp", sched.hyperparameters, scene.shp) : [[]];
  const takesHidden = model && model.max_layers > 0 && model.default_hidden.length > 0;
  const generated = ds && ds.default_noise !== null;

  fill(root,
    section(t(lang, "data"),
      h("div", { class: "settings-grid" },
        field(t(lang, "dataset"), sel("ds", cat.datasets.map((d) => ({ value: d.id, label: d.name })), scene.ds)),
        field(t(lang, "n_samples"), num("n", { min: 1, step: 1, placeholder: ds && ds.default_samples !== null ? String(ds.default_samples) : t(lang, "all") })),
        generated ? field(t(lang, "noise"), num("noise", { min: 0, placeholder: String(ds.default_noise) })) : null,
        field(t(lang, "split"), num("val", { min: 0, max: 0.5, step: 0.05, "aria-label": t(lang, "split_val") }), num("test", { min: 0, max: 0.5, step: 0.05, "aria-label": t(lang, "split_test") })),
        field(t(lang, "seed"), num("seed", { min: 0, step: 1 }))),
      scene.ds === "csv"
        ? h("div", { class: "sub" },
            h("label", { class: "hint" }, t(lang, "csv_text")),
            h("textarea", { rows: 4, spellcheck: false, dataset: { role: "csv" }, placeholder: "x0,x1,y\n0.1,2.3,0\n…", "aria-label": t(lang, "csv_text") }),
            // the browser's own file button speaks the browser's language ("Choose File"): this one, the page's
            h("label", { class: "hint file-pick" }, t(lang, "csv_file"), " ",
              h("input", { type: "file", class: "visually-hidden", accept: ".csv,text/csv,text/plain", dataset: { role: "csv-file" } }),
              h("span", { class: "btn", "aria-hidden": "true" }, t(lang, "csv_choose")), " ",
              h("span", { dataset: { role: "csv-file-name" } })))
        : null,
      h("p", { class: "hint desc" }, ds ? ds.description : "")),
    section(t(lang, "model"),
      h("div", { class: "settings-grid" },
        field(t(lang, "model_kind"), sel("model", modelsFor(cat, scene.ds).map((m) => ({ value: m.id, label: m.name })), scene.model)),
        takesHidden ? field(t(lang, scene.model === "cnn" ? "hidden_cnn" : "hidden"), h("input", { type: "text", dataset: { role: "hidden" }, placeholder: model.default_hidden.join(",") })) : null,
        takesHidden && model.activations.length ? field(t(lang, "activation"), sel("act", model.activations.map((a) => ({ value: a, label: a })), scene.act)) : null),
      h("p", { class: "hint desc" }, model ? model.description : "")),
    section(t(lang, "optimizer"),
      sel("opt", optimizerItems(lang, cat.optimizers), scene.opt, t(lang, "optimizer")),
      optimizerNote(lang, opt),
      h("div", { class: "sub" }, optRows),
      optMore,
      h("div", { class: "hp bool" }, h("span", {}, t(lang, "schedule")),
        sel("sched", cat.schedules.map((s) => ({ value: s.id, label: s.name })), scene.sched, t(lang, "schedule"))),
      h("div", { class: "sub" }, schedRows)),
    section(t(lang, "training_box"),
      h("div", { class: "settings-grid" },
        field(t(lang, "batch_size"), num("batch", { min: 1, step: 1 })),
        h("span"), h("div", { class: "row quick" },
          h("button", { type: "button", class: "btn small", dataset: { role: "quick", batch: "gd" } }, t(lang, "quick_gd")),
          h("button", { type: "button", class: "btn small", dataset: { role: "quick", batch: "1" } }, t(lang, "quick_sgd")),
          h("button", { type: "button", class: "btn small", dataset: { role: "quick", batch: String(MINI_BATCH) } }, t(lang, "quick_mini"))),
        h("span"), h("span", { class: "hint", dataset: { role: "batch-hint" } }),
        field(t(lang, "epochs"), num("epochs", { min: 1, step: 1 }))),
      check("shuffle", t(lang, "shuffle"))),
    section(t(lang, "early"),
      check("es", t(lang, "early_on")),
      scene.es ? h("div", { class: "settings-grid" },
        field(t(lang, "patience"), num("patience", { min: 1, step: 1 })),
        field(t(lang, "min_delta"), num("min_delta", { min: 0 }))) : null,
      scene.es ? check("restore", t(lang, "restore_best")) : null),
    section(t(lang, "stop_rules"),
      h("div", { class: "settings-grid" },
        field(t(lang, "stop_grad"), num("stopg", { min: 0, placeholder: t(lang, "off") })),
        field(t(lang, "stop_step"), num("stopw", { min: 0, placeholder: t(lang, "off") }))),
      h("p", { class: "hint" }, t(lang, "stop_hint"))),
    section(t(lang, "landscape"),
      check("ls", t(lang, "landscape_on")),
      scene.ls ? h("div", { class: "settings-grid" },
        field(t(lang, "directions"), sel("dirs", ["random", "pca", "hessian"].map((d) => ({ value: d, label: t(lang, `dir_${d}`) })), scene.dirs)),
        field(t(lang, "resolution"), num("res", { min: 3, max: 101, step: 2 })),
        field(t(lang, "span"), num("span", { min: 0, step: 0.25 }))) : null,
      scene.ls && scene.dirs === "random" ? check("fnorm", t(lang, "filter_normalize")) : null),
  );
}

function sync(root, scene, cat, nTrain) {
  const val = (role, v) => {
    const el = root.querySelector(`[data-role="${role}"]`);
    if (el) syncValue(el, v === null || v === undefined ? "" : v);
  };
  for (const k of ["n", "noise", "val", "test", "seed", "batch", "epochs", "patience", "min_delta", "stopg", "stopw", "res", "span", "ds", "model", "act", "opt", "sched", "dirs"]) val(k, scene[k]);
  val("hidden", scene.hidden);
  val("csv", scene.csv);
  for (const k of ["shuffle", "es", "restore", "ls", "fnorm"]) {
    const el = root.querySelector(`[data-role="${k}"]`);
    if (el) el.checked = Boolean(scene[k]);
  }
  const opt = findInfo(cat.optimizers, scene.opt);
  const sched = findInfo(cat.schedules, scene.sched);
  if (opt) syncHp(root, "hp", opt.hyperparameters, scene.hp);
  if (sched) syncHp(root, "shp", sched.hyperparameters, scene.shp);
  const hint = root.querySelector('[data-role="batch-hint"]');
  const lang = scene.lang;
  if (nTrain) {
    const k = batchesPerEpoch(nTrain, scene.batch);
    hint.textContent = scene.batch >= nTrain ? t(lang, "batch_gd") : scene.batch === 1 ? t(lang, "batch_sgd") : t(lang, "batch_mini", { b: scene.batch, k });
  } else hint.textContent = "";
  for (const b of root.querySelectorAll('[data-role="quick"]')) {
    const want = b.dataset.batch === "gd" ? nTrain !== null && scene.batch >= nTrain : Number(b.dataset.batch) === scene.batch;
    b.classList.toggle("active", Boolean(want));
  }
}

const NUMBER_KEYS = { n: "int", noise: "float", val: "float", test: "float", seed: "int", batch: "int", epochs: "int", patience: "int", min_delta: "float", stopg: "float", stopw: "float", res: "int", span: "float" };
const OPTIONAL = ["n", "noise", "stopg", "stopw"]; // cleared: null (the dataset's default, or off)

function onEdit(ev, live) {
  const el = ev.target;
  const role = el.dataset.role;
  const s = state.scene;
  const cat = state.runtime.catalogue;
  if (!role || !cat) return;
  if (el.dataset.kind) {
    const list = el.dataset.kind === "shp" ? findInfo(cat.schedules, s.sched) : findInfo(cat.optimizers, s.opt);
    const info = list && list.hyperparameters.find((x) => x.name === el.dataset.name);
    const field = el.dataset.kind;
    const v = info ? readHp(el, info, s[field], live) : undefined;
    if (v !== undefined) setScene({ [field]: { ...s[field], [info.name]: v } });
    return;
  }
  // The CSV's text is the scene's as it is typed or pasted; an edit drops its stored id at
  // once (csvlink.js stores the new text and sets the new id), so a link never names older text.
  if (role === "csv") {
    if (el.value !== s.csv) setScene({ csv: el.value, csvid: null });
    return;
  }
  if (live) return;
  if (role in NUMBER_KEYS) {
    const text = el.value.trim();
    if (text === "" && OPTIONAL.includes(role)) return setScene({ [role]: null });
    const v = Number(text);
    if (text === "" || !Number.isFinite(v)) return;
    setScene({ [role]: NUMBER_KEYS[role] === "int" ? Math.round(v) : v });
  } else if (role === "ds") {
    const fits = modelsFor(cat, el.value);
    const model = fits.some((m) => m.id === s.model) ? s.model : (fits.find((m) => m.id === "mlp") || fits[0]).id;
    setScene({ ds: el.value, n: null, noise: null, model, hidden: model === s.model ? s.hidden : null });
  } else if (role === "model") setScene({ model: el.value, hidden: null });
  else if (role === "hidden") setScene({ hidden: el.value.trim() === "" ? null : el.value.trim() });
  else if (role === "act" || role === "dirs") setScene({ [role]: el.value });
  else if (role === "opt") setScene({ opt: el.value, hp: s.hp.lr !== undefined ? { lr: s.hp.lr } : {} });
  else if (role === "sched") setScene({ sched: el.value, shp: {} });
  else if (role === "csv-file" && el.files[0]) {
    el.parentElement.querySelector('[data-role="csv-file-name"]').textContent = el.files[0].name;
    el.files[0].text().then((text) => setScene((now) => (text === now.csv ? {} : { csv: text, csvid: null })));
  }
  else if (["shuffle", "es", "restore", "ls", "fnorm"].includes(role)) setScene({ [role]: el.checked });
}

export function createSettings(root) {
  root.addEventListener("input", (ev) => onEdit(ev, true));
  root.addEventListener("change", (ev) => onEdit(ev, false));
  root.addEventListener("click", (ev) => {
    const b = ev.target.closest('[data-role="quick"]');
    if (!b) return;
    // Full batch: the training split's size (before the preview: the largest dataset).
    const p = state.runtime.preview;
    const ds = findInfo(state.runtime.catalogue.datasets, state.scene.ds);
    const nTrain = p && p.data ? p.data.n_train : ds.max_samples;
    setScene({ batch: b.dataset.batch === "gd" ? nTrain : Number(b.dataset.batch) });
  });
  let signature = null;
  let builtFrom = null;

  function render() {
    const { scene, runtime } = state;
    const cat = runtime.catalogue;
    if (!cat) return;
    const sig = JSON.stringify([scene.lang, scene.ds, scene.model, scene.opt, scene.sched, scene.es, scene.ls, scene.dirs]);
    // Rebuilt too when the catalogue is another (its texts came in another language).
    if (sig !== signature || cat !== builtFrom) {
      signature = sig;
      builtFrom = cat;
      keepFocus(root, () => build(root, scene, cat));
    }
    const p = runtime.preview;
    sync(root, scene, cat, p && p.data ? p.data.n_train : null);
  }

  return { render };
}
