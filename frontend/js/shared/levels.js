// Value grids and their contour levels: the finite range, log-spaced levels with labels
// that tell neighbours apart, and whether a grid reads better on a log scale. Pure functions.

import { fmt } from "./format.js";

/** Smallest and largest finite value of a 2-D array (nulls skipped). */
export function finiteRange(z) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of z) {
    for (const v of row) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/**
 * Round values in [lo, hi] for a colour bar: multiples of 1, 2 or 5 × 10^k, about `count` of
 * them. Left to itself Plotly ticks a contour's colour bar on its levels (−3.33, −1.67, 0...).
 */
export function roundTicks(lo, hi, count = 5) {
  const raw = (hi - lo) / count;
  if (!(raw > 0) || !Number.isFinite(raw)) return [lo];
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let k = Math.ceil(lo / step); k * step <= hi; k++) ticks.push(Number((k * step).toPrecision(12)));
  return ticks;
}

/**
 * Log-spaced levels: t(f) = log10(f − fmin + δ). Contouring t with evenly spaced levels puts
 * the contours of f at log-spaced heights, so ravines and minima keep their lines.
 */
export function logTransform(z, log = true) {
  const [lo, hi] = finiteRange(z);
  if (!log) {
    const f = (v) => (v === null || !Number.isFinite(v) ? null : v);
    return { zt: z, lo, hi, delta: 0, f, t0: lo, t1: hi, inverse: (t) => t, tickvals: roundTicks(lo, hi), ticktext: null, log: false };
  }
  const delta = Math.max((hi - lo) * 1e-5, 1e-12);
  const f = (v) => (v === null || !Number.isFinite(v) ? null : Math.log10(Math.max(v - lo, 0) + delta));
  const zt = z.map((row) => row.map(f));
  const t0 = f(lo);
  const t1 = f(hi);
  // Ticks where f − fmin is a power of ten, labelled with f itself.
  const powers = [];
  for (let k = Math.ceil(Math.log10(delta)) + 1; k <= Math.floor(Math.log10(hi - lo || 1)); k++) powers.push(10 ** k);
  const ticks = powers.map((p) => Math.log10(p + delta));
  return {
    zt, lo, hi, delta, f, t0, t1,
    inverse: (t) => 10 ** t - delta + lo,
    tickvals: ticks,
    ticktext: distinctLabels(powers.map((p) => lo + p)),
    log: true,
  };
}

/** Labels with just enough digits that neighbours differ (levels crowd near the minimum). */
export function distinctLabels(values) {
  for (let digits = 2; digits <= 7; digits++) {
    const labels = values.map((v) => fmt(v, digits));
    if (new Set(labels).size === labels.length) return labels;
  }
  return values.map((v) => fmt(v, 8));
}

/** Whether a grid spans so many orders of magnitude that a log view reads better. */
export function wantsLog(z) {
  const [lo, hi] = finiteRange(z);
  const vals = [];
  for (let i = 0; i < z.length; i += 3) for (let j = 0; j < z[i].length; j += 3) if (z[i][j] !== null) vals.push(z[i][j] - lo);
  vals.sort((a, b) => a - b);
  const median = vals[Math.floor(vals.length / 2)] || 0;
  return median > 0 && (hi - lo) / median > 15; // Rosenbrock, Beale, Goldstein–Price; not bowls
}
