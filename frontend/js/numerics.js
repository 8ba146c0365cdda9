// Numerics, apart from drawing: step records -> columns, log-spaced levels, arrow scales,
// number formatting, value grids. Pure functions; nothing here touches the DOM or Plotly.

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

// ---- value grids and levels ----------------------------------------------------

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
 * Log-spaced levels: t(f) = log10(f − fmin + δ). Contouring t with evenly spaced levels puts
 * the contours of f at log-spaced heights, so ravines and minima keep their lines.
 */
export function logTransform(z, log = true) {
  const [lo, hi] = finiteRange(z);
  if (!log) {
    const f = (v) => (v === null || !Number.isFinite(v) ? null : v);
    return { zt: z, lo, hi, delta: 0, f, t0: lo, t1: hi, inverse: (t) => t, tickvals: null, ticktext: null, log: false };
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

/** Round to 6 significant digits (values that travel in URLs and requests). */
export function round(v, digits = 6) {
  if (v === 0 || !Number.isFinite(v)) return v;
  return Number(v.toPrecision(digits));
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

// ---- formatting -----------------------------------------------------------------------

/** Compact number: 0.02, 1.5e-8, 2.4e+4; '—' for null / non-finite. */
export function fmt(v, digits = 3) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  let s;
  if (a >= 1e5 || a < 1e-3) {
    s = v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, "e").replace("e+", "e");
  } else {
    s = String(Number(v.toPrecision(digits)));
  }
  return s.replace("-", "−");
}

/** A hyperparameter value as a person writes it (pairs in parentheses). */
export function fmtValue(v) {
  if (Array.isArray(v)) return `(${v.map((x) => (x === null ? "None" : fmt(x, 4))).join(", ")})`;
  if (typeof v === "boolean") return v ? "True" : "False";
  if (v === null) return "None";
  if (typeof v === "number") return fmt(v, 4);
  return String(v);
}
