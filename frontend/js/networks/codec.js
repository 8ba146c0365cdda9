// The networks scene <-> URL query string. Pure functions: no DOM, no globals.
//
//   ?ds=spirals&n=400&model=mlp&hidden=32,32&opt=adam&o.lr=0.01&o.betas=0.9:0.99&sched=step&s.step_size=10
//
// Optimizer keywords travel as `o.<name>`, schedule keywords as `s.<name>` (torch's own
// names); pairs and lists use ':' and null is `null`. Only values that differ from the
// defaults are written. A CSV travels by its id, never its text (links stay short): the
// server stores the text by its SHA-256 (POST /api/datasets/csv) and `ds=csv&csvid=<64 hex>`
// names it (csvlink.js uploads and fetches it). `lesson=<id>` names a ready lesson; with no
// settings beside it (`?lesson=early_stopping&lang=ru`) the page opens that lesson's scene.

import { decodeValue, encodeValue } from "../shared/codec.js";
import { acceptedValues, findInfo } from "../shared/hyper.js";
import { modelsFor } from "./spec.js";

/** What a newcomer sees: two moons, a small tanh MLP, SGD with momentum, early stopping. */
export function defaultScene() {
  return {
    ds: "moons",
    n: null, // null: the dataset's default
    noise: null,
    csv: "",
    csvid: null, // the server's id of the CSV's text (SHA-256, 64 hex); null: not stored (yet)
    val: 0.2,
    test: 0.2,
    seed: 0,
    model: "mlp",
    hidden: null, // text as typed ("32,32"); null: the model's default
    act: "tanh",
    opt: "sgd",
    hp: { lr: 0.1, momentum: 0.9 },
    sched: "constant",
    shp: {},
    batch: 32,
    epochs: 40,
    shuffle: true,
    es: true,
    patience: 5,
    min_delta: 0,
    restore: true,
    stopg: null, // stop when a step's ‖∇L‖ < this (null: off)
    stopw: null, // stop when a step's ‖w_k − w_{k−1}‖ < this (null: off)
    ls: true,
    dirs: "pca",
    res: 31,
    span: 1,
    fnorm: true,
    lang: "en",
    proj: false,
    cb: false,
    lesson: null, // a ready lesson's id (lessons.js): its card is shown
  };
}

// Scalar keys and how they read back from the query.
const BOOLS = ["shuffle", "es", "restore", "ls", "fnorm", "proj", "cb"];
const NUMBERS = ["n", "noise", "val", "test", "seed", "batch", "epochs", "patience", "min_delta", "stopg", "stopw", "res", "span"];
const TEXTS = ["ds", "model", "hidden", "act", "opt", "sched", "dirs", "lang", "lesson"];
// Keys that are not settings: a link with a lesson and only these opens the lesson's scene.
const NOT_SETTINGS = ["lesson", "lang", "proj", "cb"];

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const part = (k, v) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ",").replace(/%3A/g, ":")}`;

/** The query string (without '?') of a scene. */
export function encodeScene(scene) {
  const d = defaultScene();
  const out = [];
  for (const k of [...TEXTS, ...NUMBERS, ...BOOLS]) {
    if (k === "hidden" && scene.hidden === null) continue;
    if (!same(scene[k], d[k])) out.push(part(k, BOOLS.includes(k) ? (scene[k] ? "1" : "0") : encodeValue(scene[k])));
  }
  // Keywords are written whenever the optimizer or schedule differs, so a link is exact.
  const hpDefault = scene.opt === d.opt ? d.hp : {};
  if (!same(scene.hp, hpDefault)) for (const [k, v] of Object.entries(scene.hp)) out.push(part(`o.${k}`, encodeValue(v)));
  for (const [k, v] of Object.entries(scene.shp)) out.push(part(`s.${k}`, encodeValue(v)));
  if (scene.ds === "csv" && scene.csvid !== null) out.push(part("csvid", scene.csvid));
  // A lesson with every setting at its default still names one, so the link keeps them.
  if (scene.lesson && out.every((p) => NOT_SETTINGS.includes(p.split("=")[0]))) out.unshift(part("ds", scene.ds));
  return out.join("&");
}

// What each number may be; a value outside it is replaced by the default.
const count = (lo) => (v) => Number.isInteger(v) && v >= lo;
const positive = (v) => v > 0;
const NUMBER_OK = {
  n: (v) => v === null || count(1)(v),
  noise: (v) => v === null || v >= 0,
  val: (v) => v >= 0 && v <= 0.5,
  test: (v) => v >= 0 && v <= 0.5,
  seed: count(0),
  batch: count(1),
  epochs: count(1),
  patience: count(1),
  min_delta: (v) => v >= 0,
  stopg: (v) => v === null || positive(v),
  stopw: (v) => v === null || positive(v),
  res: count(3),
  span: positive,
};
const ID = /^[a-z][\w-]*$/i;
const CSV_ID = /^[0-9a-f]{64}$/; // SHA-256 of the CSV's UTF-8 text, lower-case hex
const DIRECTIONS = ["random", "pca", "hessian"];

/** The scene of a query string; unknown keys are ignored, missing or invalid ones take defaults. */
export function decodeScene(search) {
  const q = new URLSearchParams(search);
  const scene = defaultScene();
  const hp = {};
  const shp = {};
  for (const [k, raw] of q) {
    if (k.startsWith("o.")) hp[k.slice(2)] = decodeValue(raw);
    else if (k.startsWith("s.")) shp[k.slice(2)] = decodeValue(raw);
    else if (BOOLS.includes(k)) scene[k] = raw === "1" || raw === "true";
    else if (NUMBERS.includes(k)) {
      const v = raw === "null" ? null : raw.trim() === "" ? NaN : Number(raw);
      if (v === null ? NUMBER_OK[k](null) : Number.isFinite(v) && NUMBER_OK[k](v)) scene[k] = v;
    } else if (k === "hidden" || k === "csv") scene[k] = raw;
    else if (k === "csvid" && CSV_ID.test(raw)) scene.csvid = raw;
    else if (TEXTS.includes(k) && ID.test(raw)) scene[k] = raw;
  }
  if (Object.keys(hp).length || scene.opt !== defaultScene().opt) scene.hp = hp;
  scene.shp = shp;
  if (scene.lang !== "ru") scene.lang = "en";
  if (!DIRECTIONS.includes(scene.dirs)) scene.dirs = defaultScene().dirs;
  return scene;
}

/**
 * The scene with what the catalogues do not know replaced by defaults: the dataset, a model
 * that does not fit it, the activation, the optimizer and schedule, and keywords they do not
 * take (or values they do not accept). Returns only the changed parts.
 */
export function fitCatalogue(scene, { datasets, models, optimizers, schedules }) {
  const d = defaultScene();
  const patch = {};
  const ds = findInfo(datasets, scene.ds) ? scene.ds : d.ds;
  if (ds !== scene.ds) patch.ds = ds;
  const fits = modelsFor({ datasets, models }, ds);
  const model = fits.find((m) => m.id === scene.model) || fits.find((m) => m.id === d.model) || fits[0];
  if (model.id !== scene.model) Object.assign(patch, { model: model.id, hidden: null });
  if (model.activations.length && !model.activations.includes(scene.act)) patch.act = model.activations[0];
  const opt = findInfo(optimizers, scene.opt) || findInfo(optimizers, d.opt);
  if (opt.id !== scene.opt) patch.opt = opt.id;
  const hp = acceptedValues(scene.hp, opt.hyperparameters);
  if (JSON.stringify(hp) !== JSON.stringify(scene.hp)) patch.hp = hp;
  const sched = findInfo(schedules, scene.sched) || findInfo(schedules, d.sched);
  if (sched.id !== scene.sched) patch.sched = sched.id;
  const shp = acceptedValues(scene.shp, sched.hyperparameters);
  if (JSON.stringify(shp) !== JSON.stringify(scene.shp)) patch.shp = shp;
  return patch;
}

/** The lesson a query names when it names no settings (null otherwise). */
export function bareLesson(search) {
  const q = new URLSearchParams(search);
  return q.get("lesson") && [...q.keys()].every((k) => NOT_SETTINGS.includes(k)) ? q.get("lesson") : null;
}
