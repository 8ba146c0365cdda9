// The networks scene <-> URL query string. Pure functions: no DOM, no globals.
//
//   ?ds=spirals&n=400&model=mlp&hidden=32,32&opt=adam&o.lr=0.01&o.betas=0.9:0.99&sched=step&s.step_size=10
//
// Optimizer keywords travel as `o.<name>`, schedule keywords as `s.<name>` (torch's own
// names); pairs and lists use ':' and null is `null`. Only values that differ from the
// defaults are written. A CSV's text is not written: links stay short. `lesson=<id>` names
// a ready lesson; with no settings beside it (`?lesson=early_stopping&lang=ru`) the page
// opens that lesson's scene.

import { decodeValue, encodeValue } from "../shared/codec.js";

/** What a newcomer sees: two moons, a small tanh MLP, SGD with momentum, early stopping. */
export function defaultScene() {
  return {
    ds: "moons",
    n: null, // null: the dataset's default
    noise: null,
    csv: "",
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
  // A lesson with every setting at its default still names one, so the link keeps them.
  if (scene.lesson && out.every((p) => NOT_SETTINGS.includes(p.split("=")[0]))) out.unshift(part("ds", scene.ds));
  return out.join("&");
}

/** The scene of a query string; unknown keys are ignored, missing ones take defaults. */
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
      const v = raw === "null" ? null : Number(raw);
      if (v === null || Number.isFinite(v)) scene[k] = v;
    } else if (TEXTS.includes(k)) scene[k] = raw;
  }
  if (Object.keys(hp).length || scene.opt !== defaultScene().opt) scene.hp = hp;
  scene.shp = shp;
  if (scene.lang !== "ru") scene.lang = "en";
  return scene;
}

/** The lesson a query names when it names no settings (null otherwise). */
export function bareLesson(search) {
  const q = new URLSearchParams(search);
  return q.get("lesson") && [...q.keys()].every((k) => NOT_SETTINGS.includes(k)) ? q.get("lesson") : null;
}
