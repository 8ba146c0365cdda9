// The regime map's parameters: the float keywords an optimizer can sweep (betas as beta1 /
// beta2), a racer's value of one, the racer with it changed, and a range around it. Pure
// functions over the catalogue entries.

import { round } from "../shared/format.js";
import { valueOf } from "../shared/hyper.js";

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
  const name = param === "beta1" || param === "beta2" ? "betas" : param; // not Tiger's beta, Prodigy's beta3
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
