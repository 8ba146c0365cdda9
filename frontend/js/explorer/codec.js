// The explorer's scene <-> URL query string. Pure functions: no DOM, no globals. Reading a
// link checks every value (a bad one takes its default), and `fitCatalogue` drops what the
// API's catalogues do not know.
//
// A racer is written as one `r` parameter:
//   r=sgd,lr=0.02,momentum=0.9~inverse_power,power=0.3~noise=0.1,clip=1,batch=16,shuffle=0
// (optimizer and its keywords ~ schedule and its keywords ~ run extras). Pairs and lists
// use ':' (betas=0.9:0.999), null is `null`. Only values that differ from the defaults
// are written, so links stay short and readable.

import { decodeValue, encodeValue } from "../shared/codec.js";
import { acceptedValues, findInfo } from "../shared/hyper.js";

export function defaultRacer(opt = "sgd", hp = {}) {
  return { opt, hp: { ...hp }, sched: "constant", shp: {}, noise: 0, clip: null, batch: null, shuffle: true, hidden: false };
}

export const DEFAULT_OVERLAYS = { ghost: true, grad: true, mom: true, eff: true, eig: false };
export const DEFAULT_REGIME = { racer: 0, x: "lr", y: "momentum", x0: 0.001, x1: 0.1, y0: 0, y1: 0.98, xlog: true, ylog: false, nx: 24, ny: 16, metric: "loss" };
export const DEFAULT_BASINS = { racer: 0, n: 60 };

/** The scene a newcomer sees: a ravine, plain SGD against momentum against Adam. */
export function defaultScene() {
  return {
    surface: "ravine",
    expr: null,
    domain: null,
    start: null,
    steps: 150,
    stop: [1e-8, 0],
    seed: 0,
    racers: [
      defaultRacer("sgd", { lr: 0.02 }),
      defaultRacer("sgd", { lr: 0.02, momentum: 0.9 }),
      defaultRacer("adam", { lr: 0.3 }),
    ],
    focus: 1,
    t: 0,
    speed: 1,
    panel: "3d",
    ov: { ...DEFAULT_OVERLAYS },
    lesson: null,
    lang: "en",
    proj: false,
    cb: false,
    live: false,
    basins: { ...DEFAULT_BASINS },
    regime: { ...DEFAULT_REGIME },
    fair: null,
  };
}

function encodePairs(obj) {
  return Object.entries(obj).map(([k, v]) => `${k}=${encodeValue(v)}`);
}

function decodePairs(parts) {
  const out = {};
  for (const part of parts) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i)] = decodeValue(part.slice(i + 1));
  }
  return out;
}

// ---- racers ---------------------------------------------------------------

export function encodeRacer(r) {
  const groups = [[r.opt, ...encodePairs(r.hp)].join(",")];
  const extras = {};
  if (r.noise) extras.noise = r.noise;
  if (r.clip !== null && r.clip !== undefined) extras.clip = r.clip;
  if (r.batch !== null && r.batch !== undefined) extras.batch = r.batch;
  if (r.shuffle === false) extras.shuffle = 0;
  if (r.hidden) extras.hide = 1;
  const hasExtras = Object.keys(extras).length > 0;
  if (r.sched !== "constant" || Object.keys(r.shp).length || hasExtras) {
    groups.push([r.sched, ...encodePairs(r.shp)].join(","));
  }
  if (hasExtras) groups.push(encodePairs(extras).join(","));
  return groups.join("~");
}

export function decodeRacer(text) {
  const [optGroup = "", schedGroup = "", extraGroup = ""] = text.split("~");
  const [opt, ...hpParts] = optGroup.split(",");
  const r = defaultRacer(opt || "sgd", decodePairs(hpParts));
  if (schedGroup) {
    const [sched, ...sParts] = schedGroup.split(",");
    r.sched = sched || "constant";
    r.shp = decodePairs(sParts);
  }
  if (extraGroup) {
    const ex = decodePairs(extraGroup.split(","));
    if (typeof ex.noise === "number") r.noise = ex.noise;
    if (typeof ex.clip === "number") r.clip = ex.clip;
    if (typeof ex.batch === "number") r.batch = ex.batch;
    if (ex.shuffle === 0 || ex.shuffle === false) r.shuffle = false;
    if (ex.hide === 1 || ex.hide === true) r.hidden = true;
  }
  return r;
}

// ---- small objects (basins, regime, fair) -----------------------------------

// `key:value,key:value`; a value is one query value (lists joined by ':' as everywhere), so
// names with underscores (weight_decay) stay whole.
function encodeObject(obj) {
  return Object.entries(obj).map(([k, v]) => `${k}:${encodeValue(v)}`).join(",");
}

function decodeObject(text) {
  const out = {};
  for (const part of text.split(",")) {
    const i = part.indexOf(":");
    if (i > 0) out[part.slice(0, i)] = decodeValue(part.slice(i + 1));
  }
  return out;
}

function changed(obj, base) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (JSON.stringify(v) !== JSON.stringify(base[k])) out[k] = v;
  return out;
}

/** "1.5,-2" → [1.5, -2]; anything that is not a list of numbers → []. */
function numList(text) {
  const parts = text.split(",");
  return parts.every((x) => x.trim() !== "" && Number.isFinite(Number(x))) ? parts.map(Number) : [];
}

// ---- the scene ---------------------------------------------------------------

/** The query string (without '?') that reproduces `scene`. */
export function encodeScene(scene) {
  const d = defaultScene();
  const q = [];
  const put = (k, v) => q.push(`${k}=${safe(v)}`);
  put("surface", scene.surface);
  if (scene.surface === "custom") {
    put("expr", scene.expr || "");
    if (scene.domain) put("domain", scene.domain.join(","));
  }
  if (scene.start) put("start", scene.start.join(","));
  put("steps", scene.steps);
  if (scene.stop[0] !== d.stop[0] || scene.stop[1] !== d.stop[1]) put("stop", scene.stop.join(","));
  if (scene.seed) put("seed", scene.seed);
  for (const r of scene.racers) put("r", encodeRacer(r));
  if (scene.focus) put("focus", scene.focus);
  if (scene.t) put("t", scene.t);
  if (scene.speed !== 1) put("speed", scene.speed);
  if (scene.panel !== d.panel) put("panel", scene.panel);
  const ov = Object.keys(scene.ov).filter((k) => scene.ov[k]);
  if (JSON.stringify(scene.ov) !== JSON.stringify(d.ov)) put("ov", ov.join(",") || "none");
  if (scene.lesson) put("lesson", scene.lesson);
  if (scene.lang !== "en") put("lang", scene.lang);
  if (scene.proj) put("proj", 1);
  if (scene.cb) put("cb", 1);
  if (scene.live) put("live", 1);
  const b = changed(scene.basins, d.basins);
  if (Object.keys(b).length) put("basins", encodeObject(b));
  const g = changed(scene.regime, d.regime);
  if (Object.keys(g).length) put("regime", encodeObject(g));
  if (scene.fair) put("fair", encodeObject(scene.fair));
  return q.join("&");
}

/** Keep the separators of our mini-syntax readable in the address bar. */
function safe(v) {
  return encodeURIComponent(String(v))
    .replace(/%2C/g, ",")
    .replace(/%3A/g, ":")
    .replace(/%3D/g, "=")
    .replace(/%7E/g, "~");
}

// ---- reading a link: every value checked, an invalid one replaced by its default ---------

const PANELS = ["3d", "basins", "regime"];
const SPEEDS = [0.25, 0.5, 1, 2, 4, 8];
export const BASIN_SIZES = [30, 40, 60, 80, 100];
const METRICS = ["loss", "steps", "status"];
const ID = /^[a-z][\w-]*$/i; // a catalogue id or keyword name

const count = (v, lo = 0, hi = Infinity) => Number.isInteger(v) && v >= lo && v <= hi;
const finite = (v) => typeof v === "number" && Number.isFinite(v);
const finiteList = (v, n) => Array.isArray(v) && v.length === n && v.every(finite);
/** `value` when `ok(value)`, else `fallback`. */
const checked = (value, ok, fallback) => (ok(value) ? value : fallback);

/** Keyword values as written: names that could be keywords, values a query can hold. */
function plainValues(values) {
  const ok = (v) => v === null || typeof v === "boolean" || finite(v) || (typeof v === "string" && ID.test(v))
    || (Array.isArray(v) && v.every((x) => x === null || finite(x)));
  return Object.fromEntries(Object.entries(values).filter(([k, v]) => ID.test(k) && ok(v)));
}

function validRacer(r) {
  const d = defaultRacer();
  return {
    opt: checked(r.opt, (v) => ID.test(v), d.opt),
    hp: plainValues(r.hp),
    sched: checked(r.sched, (v) => ID.test(v), d.sched),
    shp: plainValues(r.shp),
    noise: checked(r.noise, (v) => finite(v) && v >= 0, d.noise),
    clip: checked(r.clip, (v) => v === null || (finite(v) && v > 0), d.clip),
    batch: checked(r.batch, (v) => v === null || count(v, 1), d.batch),
    shuffle: r.shuffle !== false,
    hidden: r.hidden === true,
  };
}

function validBasins(b, nRacers) {
  return {
    racer: checked(b.racer, (v) => count(v, 0, nRacers - 1), DEFAULT_BASINS.racer),
    n: checked(b.n, (v) => BASIN_SIZES.includes(v), DEFAULT_BASINS.n),
  };
}

function validRegime(g, nRacers) {
  const d = DEFAULT_REGIME;
  return {
    racer: checked(g.racer, (v) => count(v, 0, nRacers - 1), d.racer),
    x: checked(g.x, (v) => typeof v === "string" && ID.test(v), d.x),
    y: checked(g.y, (v) => v === null || (typeof v === "string" && ID.test(v)), d.y),
    x0: checked(g.x0, finite, d.x0),
    x1: checked(g.x1, finite, d.x1),
    y0: checked(g.y0, finite, d.y0),
    y1: checked(g.y1, finite, d.y1),
    xlog: checked(g.xlog, (v) => typeof v === "boolean", d.xlog),
    ylog: checked(g.ylog, (v) => typeof v === "boolean", d.ylog),
    nx: checked(g.nx, (v) => count(v, 1, 200), d.nx),
    ny: checked(g.ny, (v) => count(v, 1, 200), d.ny),
    metric: checked(g.metric, (v) => METRICS.includes(v), d.metric),
  };
}

/** The fair race's terms, or null when any of them is not a number (lrs: a number or null each). */
function validFair(f) {
  const numbers = ["trials", "lo", "hi", "steps", "seed", "sx", "sy"].every((k) => finite(f[k]));
  const lrs = Array.isArray(f.lrs) ? f.lrs : [f.lrs];
  return numbers && lrs.every((v) => v === null || finite(v)) ? { ...f, lrs } : null;
}

/** The scene described by a query string; anything missing or invalid takes its default. */
export function decodeScene(query) {
  const p = new URLSearchParams(query);
  const s = defaultScene();
  const num = (key) => (p.has(key) ? decodeValue(p.get(key)) : undefined);
  // How the page looks travels even in a bare link (from the networks page, say).
  s.lang = p.get("lang") === "ru" ? "ru" : "en";
  s.proj = p.get("proj") === "1";
  s.cb = p.get("cb") === "1";
  if (!p.has("surface") && !p.has("r")) return s;
  s.surface = checked(p.get("surface"), (v) => v !== null && ID.test(v), s.surface);
  if (s.surface === "custom") {
    s.expr = p.get("expr");
    s.domain = checked(numList(p.get("domain") || ""), (d) => d.length === 4 && d[0] < d[1] && d[2] < d[3], null);
  }
  s.start = checked(numList(p.get("start") || ""), (v) => v.length === 2, null);
  s.steps = checked(num("steps"), (v) => count(v, 1), s.steps);
  s.stop = checked(numList(p.get("stop") || ""), (v) => v.length === 2 && v.every((x) => x >= 0), s.stop);
  s.seed = checked(num("seed"), (v) => count(v), s.seed);
  const racers = p.getAll("r").map((text) => validRacer(decodeRacer(text)));
  if (racers.length) s.racers = racers;
  const n = s.racers.length;
  s.focus = checked(num("focus") ?? 0, (v) => count(v, 0, n - 1), 0);
  s.t = checked(num("t") ?? 0, (v) => count(v), 0);
  s.speed = checked(num("speed") ?? 1, (v) => SPEEDS.includes(v), 1);
  s.panel = checked(p.get("panel") || s.panel, (v) => PANELS.includes(v), s.panel);
  if (p.has("ov")) {
    const on = new Set(p.get("ov").split(","));
    for (const k of Object.keys(s.ov)) s.ov[k] = on.has(k);
  }
  s.lesson = checked(p.get("lesson"), (v) => v !== null && ID.test(v), null);
  s.live = p.get("live") === "1";
  s.basins = validBasins({ ...DEFAULT_BASINS, ...decodeObject(p.get("basins") || "") }, n);
  s.regime = validRegime({ ...DEFAULT_REGIME, ...decodeObject(p.get("regime") || "") }, n);
  s.fair = p.has("fair") ? validFair(decodeObject(p.get("fair"))) : null;
  return s;
}

/**
 * The scene with what the catalogues do not know replaced: an unknown surface, optimizer or
 * schedule by the default, keywords the optimizer or schedule does not take (or values it
 * does not accept) dropped, so the torch default applies. Returns only the changed parts.
 */
export function fitCatalogue(scene, { surfaces, optimizers, schedules }) {
  const patch = {};
  if (scene.surface !== "custom" && !surfaces.some((x) => x.id === scene.surface)) {
    Object.assign(patch, { surface: defaultScene().surface, start: null });
  }
  const racers = scene.racers.map((r) => {
    const opt = findInfo(optimizers, r.opt) || findInfo(optimizers, "sgd");
    const sched = findInfo(schedules, r.sched) || findInfo(schedules, "constant");
    return { ...r, opt: opt.id, hp: acceptedValues(r.hp, opt.hyperparameters), sched: sched.id, shp: acceptedValues(r.shp, sched.hyperparameters) };
  });
  if (JSON.stringify(racers) !== JSON.stringify(scene.racers)) patch.racers = racers;
  return patch;
}
