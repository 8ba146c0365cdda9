// Hyperparameters as the API describes them: the value in effect, which values a keyword
// takes, slider scales, which to show first, and an optimizer with its schedule in torch's
// own words. Pure functions over the catalogue entries; the list of hyperparameters always
// comes from the API.

import { fmtValue, round } from "./format.js";
import { t } from "./i18n.js";

export const SLIDER_STEPS = 1000;

/** The catalogue entry of an optimizer / schedule id (or undefined). */
export const findInfo = (list, id) => (list || []).find((o) => o.id === id);

/** The value in effect: what the racer set, else the torch default. */
export function valueOf(set, h) {
  return Object.prototype.hasOwnProperty.call(set, h.name) ? set[h.name] : h.default;
}

/** Whether keyword `h` takes value `v`: its type, inside its range, null only where allowed. */
export function accepts(h, v) {
  if (v === null) return Boolean(h.nullable) || (h.choices || []).includes(null);
  const inRange = (x) => typeof x === "number" && Number.isFinite(x)
    && (h.min === null || h.min === undefined || (h.exclusive_min ? x > h.min : x >= h.min))
    && (h.max === null || h.max === undefined || (h.exclusive_max ? x < h.max : x <= h.max));
  if (h.type === "float") return inRange(v);
  if (h.type === "int") return Number.isInteger(v) && inRange(v);
  if (h.type === "bool") return typeof v === "boolean";
  if (h.type === "choice") return h.choices.includes(v);
  if (h.type === "pair" || h.type === "triple") {
    return Array.isArray(v) && v.length === tupleLength(h) && v.every((x) => (x === null ? h.nullable : inRange(x)));
  }
  if (h.type === "int_list") return Array.isArray(v) && v.every((x) => Number.isInteger(x) && inRange(x));
  return false;
}

/** Components of a tuple keyword: 2 for a pair (betas, etas), 3 for a triple (Adan's betas). */
export const tupleLength = (h) => (h.type === "triple" ? 3 : 2);

/** The optimizer menu: torch.optim's classes, then the community's, each under its family. */
export function optimizerItems(lang, optimizers, label = (o) => o.name) {
  const family = (o) => (o.family === "community" ? "community" : "torch");
  return ["torch", "community"].flatMap((f) => optimizers.filter((o) => family(o) === f)
    .map((o) => ({ value: o.id, label: label(o), group: t(lang, `family_${f}`) })));
}

/** The entries of `values` that keywords `hps` take (unknown names and invalid values go). */
export function acceptedValues(values, hps) {
  const out = {};
  for (const [name, v] of Object.entries(values)) {
    const h = hps.find((x) => x.name === name);
    if (h && accepts(h, v)) out[name] = v;
  }
  return out;
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
  if (h.type === "pair" || h.type === "triple") return !h.nullable;
  if (h.type === "float") return (h.max ?? Infinity) <= 1 && (h.default === 0 || Math.abs(h.default) >= 1e-3);
  return false;
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
