// Hyperparameters as the API describes them: slider scales, which to show first, the
// request body of a racer, and its label in torch's own words. Pure functions over the
// catalogue entries; the list of hyperparameters always comes from the API.

import { fmtValue, round } from "./numerics.js";

export const SLIDER_STEPS = 1000;

/** The catalogue entry of an optimizer / schedule id (or undefined). */
export const findInfo = (list, id) => (list || []).find((o) => o.id === id);

/** The value in effect: what the racer set, else the torch default. */
export function valueOf(set, h) {
  return Object.prototype.hasOwnProperty.call(set, h.name) ? set[h.name] : h.default;
}

/**
 * A slider's mapping for a float (or one component of a pair): `log` for step sizes and
 * tiny constants, `oneminus` (log of 1 − v) for averaging constants near 1, else linear.
 */
export function sliderScale(h, component = null) {
  const dflt = component === null ? h.default : (h.default || [])[component];
  const min = h.min ?? 0;
  const max = h.max ?? Math.max(1, Math.abs(dflt ?? 1) * 10);
  const hiOpen = h.exclusive_max ? max - 1e-4 * (max - min) : max;
  let kind = "lin";
  let lo = min;
  let hi = Math.min(max, Math.max(1, Math.abs(dflt ?? 0) * 10));
  if (h.exclusive_min && min === 0 && dflt > 0) {
    kind = "log";
    lo = Math.max(dflt / 1000, 1e-6);
    hi = Math.min(max, Math.max(10, dflt * 1000));
  } else if (min === 0 && max === 1 && dflt >= 0.9) {
    kind = "oneminus";
    lo = 1e-4; // smallest 1 − v
    hi = 1;
  } else if (min === 0 && dflt > 0 && dflt < 1e-3) {
    kind = "log";
    lo = Math.max(dflt / 1e4, 1e-12);
    hi = Math.min(max, dflt * 1e4);
  }
  if (kind === "lin") hi = Math.min(hi, hiOpen);
  const L = Math.log10;
  return {
    kind,
    toPos(v) {
      let p;
      if (kind === "log") p = (L(Math.max(v, lo)) - L(lo)) / (L(hi) - L(lo));
      else if (kind === "oneminus") p = 1 - (L(Math.max(1 - v, lo)) - L(lo)) / (L(hi) - L(lo));
      else p = (v - lo) / (hi - lo || 1);
      return Math.round(Math.max(0, Math.min(1, p)) * SLIDER_STEPS);
    },
    fromPos(pos) {
      const p = pos / SLIDER_STEPS;
      if (kind === "log") return round(10 ** (L(lo) + p * (L(hi) - L(lo))), 3);
      if (kind === "oneminus") return round(1 - 10 ** (L(lo) + (1 - p) * (L(hi) - L(lo))), 4);
      return round(lo + p * (hi - lo), 3);
    },
  };
}

/** Shown on the card at once; the rest go under "more" (tiny constants, big ranges). */
export function isPrimary(h) {
  if (h.name === "lr") return true;
  if (h.type === "bool" || h.type === "choice") return !h.nullable;
  if (h.type === "pair") return !h.nullable;
  if (h.type === "float") return (h.max ?? Infinity) <= 1 && (h.default === 0 || Math.abs(h.default) >= 1e-3);
  return false;
}

/** The optimizer part of a request: only the keywords the racer set (torch fills the rest). */
export function optimizerSpec(racer) {
  return { name: racer.opt, ...racer.hp };
}

export function scheduleSpec(racer) {
  return { name: racer.sched, ...racer.shp };
}

/** The surface part of a request: an id, or {expression, domain} for a custom formula. */
export function surfaceSpec(scene) {
  if (scene.surface !== "custom") return scene.surface;
  const d = scene.domain || [-3, 3, -3, 3];
  return { expression: scene.expr || "", domain: { x: [d[0], d[1]], y: [d[2], d[3]] } };
}

/** The start point in effect: the scene's, else the surface's suggestion. */
export function startOf(scene, surfaceInfo) {
  if (scene.start) return scene.start;
  if (surfaceInfo) return surfaceInfo.start;
  const d = scene.domain || [-3, 3, -3, 3];
  return [round(d[0] + 0.8 * (d[1] - d[0])), round(d[2] + 0.8 * (d[3] - d[2]))];
}

/** The request body of one racer's surface run. */
export function runBody(scene, racer, surfaceInfo, extra = {}) {
  const body = {
    kind: "surface",
    surface: surfaceSpec(scene),
    optimizer: optimizerSpec(racer),
    schedule: scheduleSpec(racer),
    start: startOf(scene, surfaceInfo),
    steps: scene.steps,
    stop: { grad_norm: scene.stop[0], step_norm: scene.stop[1] },
    gradient_noise: racer.noise || 0,
    clip_grad_norm: racer.clip ?? null,
    seed: scene.seed,
  };
  if (surfaceInfo && surfaceInfo.n_samples) {
    body.batch_size = racer.batch ?? null;
    body.shuffle = racer.shuffle !== false;
  }
  return { ...body, ...extra };
}

/** `SGD(lr=0.02, momentum=0.9)` — what a person would type in PyTorch. */
export function racerLabel(racer, optInfo, schedInfo) {
  const name = optInfo ? optInfo.name : racer.opt;
  const args = [];
  const lr = optInfo ? valueOf(racer.hp, optInfo.hyperparameters.find((h) => h.name === "lr") || { name: "lr", default: racer.hp.lr }) : racer.hp.lr;
  if (lr !== undefined) args.push(`lr=${fmtValue(lr)}`);
  for (const [k, v] of Object.entries(racer.hp)) {
    if (k === "lr") continue;
    const h = optInfo && optInfo.hyperparameters.find((e) => e.name === k);
    if (h && JSON.stringify(h.default) === JSON.stringify(v)) continue;
    args.push(`${k}=${fmtValue(v)}`);
  }
  let label = `${name}(${args.join(", ")})`;
  if (racer.sched !== "constant") {
    const sname = schedInfo ? schedInfo.name : racer.sched;
    const sargs = Object.entries(racer.shp).map(([k, v]) => `${k}=${fmtValue(v)}`);
    // Nothing set: name the schedule's main keyword with its default, so the label says it.
    const first = schedInfo && schedInfo.hyperparameters[0];
    if (!sargs.length && first) sargs.push(`${first.name}=${fmtValue(first.default)}`);
    label += ` + ${sname}(${sargs.join(", ")})`;
  }
  const extras = [];
  if (racer.batch) extras.push(`batch ${racer.batch}`);
  if (racer.noise) extras.push(`σ=${fmtValue(racer.noise)}`);
  if (racer.clip) extras.push(`clip ${fmtValue(racer.clip)}`);
  if (extras.length) label += ` · ${extras.join(" · ")}`;
  return label;
}

/** The float keywords that a regime map can sweep (betas split into beta1 / beta2). */
export function sweepableParams(optInfo) {
  if (!optInfo) return [];
  const out = [];
  for (const h of optInfo.hyperparameters) {
    if (h.type === "float") out.push(h.name);
    if (h.name === "betas") out.push("beta1", "beta2");
  }
  return out;
}

/** The value a racer uses for a sweepable parameter name. */
export function sweepValue(racer, optInfo, param) {
  const hs = optInfo ? optInfo.hyperparameters : [];
  if (param === "beta1" || param === "beta2") {
    const h = hs.find((e) => e.name === "betas");
    const v = h ? valueOf(racer.hp, h) : [0.9, 0.999];
    return v[param === "beta1" ? 0 : 1];
  }
  const h = hs.find((e) => e.name === param);
  return h ? valueOf(racer.hp, h) : undefined;
}

/** The racer with a sweepable parameter set to `value`. */
export function withSweepValue(racer, optInfo, param, value) {
  if (param === "beta1" || param === "beta2") {
    const h = optInfo.hyperparameters.find((e) => e.name === "betas");
    const v = [...valueOf(racer.hp, h)];
    v[param === "beta1" ? 0 : 1] = value;
    return { ...racer, hp: { ...racer.hp, betas: v } };
  }
  return { ...racer, hp: { ...racer.hp, [param]: value } };
}

/** A sensible sweep range for a parameter: around the racer's value, inside the API bounds. */
export function sweepRange(optInfo, param, current) {
  const name = param.startsWith("beta") ? "betas" : param;
  const h = optInfo.hyperparameters.find((e) => e.name === name);
  const min = h ? h.min ?? 0 : 0;
  const max = h ? h.max ?? 1 : 1;
  if (h && h.exclusive_min && min === 0) {
    const c = current > 0 ? current : 0.01;
    return { lo: round(c / 30, 2), hi: Math.min(max, round(c * 30, 2)), log: true };
  }
  if (max <= 1) return { lo: min, hi: round(Math.min(max, 0.99), 2), log: false };
  return { lo: min, hi: Math.min(max, Math.max(1, (current || 0) * 4)), log: false };
}
