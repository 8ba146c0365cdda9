// The explorer's numerics, apart from drawing: step records -> columns, a lighter 3D mesh,
// arrow scales, sweep ranges, the fair-race pick and the record at the playhead. Pure
// functions; nothing here touches the DOM or Plotly.

import { round } from "../shared/format.js";

const MOMENTUM_KEYS = ["momentum_buffer", "exp_avg"]; // torch state names of a first moment

/** Norm of a 2-vector that may hold nulls (null if any part is). */
export function norm2(v) {
  if (!v || v[0] === null || v[1] === null || v[0] === undefined) return null;
  return Math.hypot(v[0], v[1]);
}

/** An empty column set; `append` fills it. */
export function emptyColumns() {
  return {
    n: 0, step: [], x: [], y: [], loss: [], gx: [], gy: [], gnorm: [], steplen: [], lr: [],
    mx: [], my: [], ex: [], ey: [], batchLoss: [], epoch: [], records: [],
  };
}

/** Append single-start step records (as the API sends them) to `cols`, in place. */
export function append(cols, steps) {
  for (const s of steps) {
    const [x, y] = s.params ?? [null, null];
    const [gx, gy] = s.grad ?? [null, null];
    const i = cols.n;
    const px = i > 0 ? cols.x[i - 1] : null;
    const py = i > 0 ? cols.y[i - 1] : null;
    cols.step.push(s.step);
    cols.x.push(x);
    cols.y.push(y);
    cols.loss.push(s.loss);
    cols.gx.push(gx);
    cols.gy.push(gy);
    cols.gnorm.push(norm2([gx, gy]));
    cols.steplen.push(i > 0 && px !== null && x !== null ? Math.hypot(x - px, y - py) : null);
    cols.lr.push(s.lr);
    const key = MOMENTUM_KEYS.find((k) => s.state && k in s.state);
    const m = key ? s.state[key] : null;
    cols.mx.push(m ? m[0] : null);
    cols.my.push(m ? m[1] : null);
    const e = s.effective_lr;
    cols.ex.push(e ? e[0] : null);
    cols.ey.push(e ? e[1] : null);
    cols.batchLoss.push(s.batch_loss ?? null);
    cols.epoch.push(s.epoch ?? null);
    cols.records.push(s);
    cols.n += 1;
  }
  return cols;
}

export const columns = (steps) => append(emptyColumns(), steps);

/** Every `stride`-th row and column of a grid (a lighter mesh for the 3D view). */
export function subsample(grid, stride) {
  if (stride <= 1) return grid;
  const keep = (a) => a.filter((_, i) => i % stride === 0 || i === a.length - 1);
  return { x: keep(grid.x), y: keep(grid.y), z: keep(grid.z).map(keep) };
}

// ---- overlays -------------------------------------------------------------------

/** A robust magnitude of a column pair: the 90th percentile of the norms (ignoring nulls). */
export function typicalNorm(ax, ay) {
  const v = [];
  for (let i = 0; i < ax.length; i++) if (ax[i] !== null && ay[i] !== null) v.push(Math.hypot(ax[i], ay[i]));
  if (!v.length) return 0;
  v.sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(0.9 * v.length))];
}

/**
 * One arrow scale for −∇L and the first moment of a trajectory, so their lengths compare:
 * the larger typical norm maps to `fraction` of the domain's smaller side.
 */
export function arrowScale(cols, span, fraction = 0.14) {
  const m = Math.max(typicalNorm(cols.gx, cols.gy), typicalNorm(cols.mx, cols.my));
  return m > 0 ? (fraction * span) / m : 0;
}

/** End point of an arrow from (x, y) along −v·scale, its length capped at `cap`. */
export function arrowEnd(x, y, vx, vy, scale, cap) {
  let dx = -vx * scale;
  let dy = -vy * scale;
  const len = Math.hypot(dx, dy);
  if (len > cap) {
    dx *= cap / len;
    dy *= cap / len;
  }
  return [x + dx, y + dy];
}

/** Closed polyline of an axis-aligned ellipse. */
export function ellipse(cx, cy, rx, ry, n = 40) {
  const xs = [];
  const ys = [];
  for (let i = 0; i <= n; i++) {
    const a = (2 * Math.PI * i) / n;
    xs.push(cx + rx * Math.cos(a));
    ys.push(cy + ry * Math.sin(a));
  }
  return [xs, ys];
}

/** Largest finite value of a column. */
export function maxFinite(a) {
  let m = 0;
  for (const v of a) if (v !== null && Number.isFinite(v) && v > m) m = v;
  return m;
}

// ---- ranges and choices -----------------------------------------------------------------

export function linspace(lo, hi, n) {
  if (n === 1) return [lo];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

export function logspace(lo, hi, n) {
  return linspace(Math.log10(lo), Math.log10(hi), n).map((v) => round(10 ** v));
}

/**
 * The fair-race pick from a one-axis sweep: the lowest final loss among runs that did not
 * diverge, ties (within 1e-12 relative) going to fewer steps. Returns the index or null.
 */
export function bestCell(finalLoss, steps, status) {
  let best = null;
  for (let i = 0; i < finalLoss.length; i++) {
    const f = finalLoss[i];
    if (f === null || !Number.isFinite(f) || status[i] === "diverged" || status[i] === "failed") continue;
    if (best === null) {
      best = i;
      continue;
    }
    const fb = finalLoss[best];
    const tie = Math.abs(f - fb) <= 1e-12 * Math.max(1, Math.abs(fb));
    if ((!tie && f < fb) || (tie && steps[i] < steps[best])) best = i;
  }
  return best;
}

/** Index of the step shown at playhead `t` for a trajectory with `n` records. */
export const frameIndex = (t, n) => Math.max(0, Math.min(n - 1, Math.floor(t)));
