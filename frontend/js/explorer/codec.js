// The explorer's scene <-> URL query string. Pure functions: no DOM, no globals.
//
// A racer is written as one `r` parameter:
//   r=sgd,lr=0.02,momentum=0.9~inverse_power,power=0.3~noise=0.1,clip=1,batch=16,shuffle=0
// (optimizer and its keywords ~ schedule and its keywords ~ run extras). Pairs and lists
// use ':' (betas=0.9:0.999), null is `null`. Only values that differ from the defaults
// are written, so links stay short and readable.

import { decodeValue, encodeValue } from "../shared/codec.js";

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

function encodeObject(obj) {
  return Object.entries(obj)
    .map(([k, v]) => `${k}:${Array.isArray(v) ? v.map(encodeValue).join("_") : encodeValue(v)}`)
    .join(",");
}

function decodeObject(text, template) {
  const out = { ...template };
  for (const part of text.split(",")) {
    const i = part.indexOf(":");
    if (i <= 0) continue;
    const key = part.slice(0, i);
    const raw = part.slice(i + 1);
    out[key] = raw.includes("_") ? raw.split("_").map(decodeValue) : decodeValue(raw);
  }
  return out;
}

function changed(obj, base) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (JSON.stringify(v) !== JSON.stringify(base[k])) out[k] = v;
  return out;
}

const numList = (s) => s.split(",").map(Number).filter((v) => Number.isFinite(v));

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

/** The scene described by a query string; anything missing takes its default. */
export function decodeScene(query) {
  const p = new URLSearchParams(query);
  const s = defaultScene();
  // How the page looks travels even in a bare link (from the networks page, say).
  s.lang = p.get("lang") || "en";
  s.proj = p.get("proj") === "1";
  s.cb = p.get("cb") === "1";
  if (!p.has("surface") && !p.has("r")) return s;
  if (p.has("surface")) s.surface = p.get("surface");
  if (p.has("expr")) s.expr = p.get("expr");
  if (p.has("domain")) {
    const d = numList(p.get("domain"));
    if (d.length === 4) s.domain = d;
  }
  if (p.has("start")) {
    const v = numList(p.get("start"));
    if (v.length === 2) s.start = v;
  }
  if (p.has("steps")) s.steps = Math.max(1, Math.round(Number(p.get("steps"))) || s.steps);
  if (p.has("stop")) {
    const v = numList(p.get("stop"));
    if (v.length === 2) s.stop = v;
  }
  if (p.has("seed")) s.seed = Number(p.get("seed")) || 0;
  const racers = p.getAll("r").map(decodeRacer);
  if (racers.length) s.racers = racers;
  s.focus = Math.min(Number(p.get("focus")) || 0, s.racers.length - 1);
  s.t = Math.max(0, Number(p.get("t")) || 0);
  if (p.has("speed")) s.speed = Number(p.get("speed")) || 1;
  if (p.has("panel")) s.panel = p.get("panel");
  if (p.has("ov")) {
    const on = new Set(p.get("ov").split(","));
    for (const k of Object.keys(s.ov)) s.ov[k] = on.has(k);
  }
  s.lesson = p.get("lesson") || null;
  s.live = p.get("live") === "1";
  if (p.has("basins")) s.basins = decodeObject(p.get("basins"), DEFAULT_BASINS);
  if (p.has("regime")) s.regime = decodeObject(p.get("regime"), DEFAULT_REGIME);
  if (p.has("fair")) {
    const f = decodeObject(p.get("fair"), {});
    if (f.lrs !== undefined && !Array.isArray(f.lrs)) f.lrs = [f.lrs];
    s.fair = f;
  }
  return s;
}
