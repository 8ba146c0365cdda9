// What the explorer's plots share: the log-transformed grid (memoised per grid object), its
// domain, and a mouse event in data coordinates.

import { logTransform, wantsLog } from "../../shared/levels.js";

const transforms = new WeakMap();

/**
 * The grid's level transform, computed once per grid: log-spaced levels when the surface
 * has a minimum to read (or is a custom formula), plain levels for saddles, which have
 * none and are unbounded below.
 */
export function transformed(grid, surface = null) {
  const log = !(surface && surface.minima.length === 0);
  const key = log ? "log" : "lin";
  let memo = transforms.get(grid);
  if (!memo) {
    memo = {};
    transforms.set(grid, memo);
  }
  if (!memo[key]) memo[key] = { ...logTransform(grid.z, log), log3d: log && wantsLog(grid.z) };
  return memo[key];
}

/** The domain of the scene as [x0, x1, y0, y1] (the grid's own extent). */
export function gridDomain(grid) {
  return [grid.x[0], grid.x[grid.x.length - 1], grid.y[0], grid.y[grid.y.length - 1]];
}

/** Plot coordinates (data units) of a mouse event over a cartesian plot, or null. */
export function eventToData(gd, event) {
  const layout = gd._fullLayout; // Plotly's resolved axes: p2d maps pixels to data
  const drag = gd.querySelector(".nsewdrag");
  if (!layout || !drag || !event) return null;
  const rect = drag.getBoundingClientRect();
  const px = event.clientX - rect.left;
  const py = event.clientY - rect.top;
  if (px < 0 || py < 0 || px > rect.width || py > rect.height) return null;
  return [layout.xaxis.p2d(px), layout.yaxis.p2d(py)];
}
