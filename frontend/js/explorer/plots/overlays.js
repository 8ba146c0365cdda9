// Geometry of the overlays drawn at the focused racer's head, in data coordinates:
// −∇L and the first moment as arrows on one shared scale, the per-axis effective step as an
// axis-aligned ellipse, and the Hessian's eigen-directions (curving up, and curving down).

import { arrowEnd, ellipse } from "../numerics.js";

const NONE = [[], []];

/**
 * `cols`: the racer's columns; `k`: its step index (-1: none); `scale`: {scale, effMax} of
 * its trajectory; `f`: {ov, curvature}; `span`: [x span, y span] of the domain.
 * Returns {grad, mom, eff, eig1, eig2}, each [xs, ys] (empty when not shown).
 */
export function overlayShapes(cols, k, scale, f, [spanX, spanY]) {
  const out = { grad: NONE, mom: NONE, eff: NONE, eig1: NONE, eig2: NONE };
  if (!cols || k < 0) return out;
  const x = cols.x[k];
  const y = cols.y[k];
  const small = Math.min(spanX, spanY);
  const cap = 0.3 * small;
  if (f.ov.grad && cols.gx[k] !== null && scale.scale > 0) {
    const [ex, ey] = arrowEnd(x, y, cols.gx[k], cols.gy[k], scale.scale, cap);
    out.grad = [[x, ex], [y, ey]];
  }
  if (f.ov.mom && cols.mx[k] !== null && scale.scale > 0) {
    const [ex, ey] = arrowEnd(x, y, cols.mx[k], cols.my[k], scale.scale, cap);
    out.mom = [[x, ex], [y, ey]];
  }
  if (f.ov.eff && cols.ex[k] !== null && scale.effMax > 0) {
    // Radii relative to the largest step of the run, per axis span: a circle on screen
    // means equal steps along x and y.
    out.eff = ellipse(x, y, (0.09 * spanX * cols.ex[k]) / scale.effMax, (0.09 * spanY * cols.ey[k]) / scale.effMax);
  }
  const cv = f.curvature;
  if (f.ov.eig && cv && !cv.error && cv.point[0] === x && cv.point[1] === y && cv.eigenvalues[1] !== null) {
    const lmax = Math.max(Math.abs(cv.eigenvalues[0]), Math.abs(cv.eigenvalues[1])) || 1;
    const pos = [[], []];
    const neg = [[], []];
    for (const j of [0, 1]) {
      const v = cv.eigenvectors[j];
      const len = 0.04 * small + (0.12 * small * Math.abs(cv.eigenvalues[j])) / lmax;
      const target = cv.eigenvalues[j] >= 0 ? pos : neg;
      if (target[0].length) {
        target[0].push(null);
        target[1].push(null);
      }
      target[0].push(x - v[0] * len, x + v[0] * len);
      target[1].push(y - v[1] * len, y + v[1] * len);
    }
    out.eig1 = pos;
    out.eig2 = neg;
  }
  return out;
}
