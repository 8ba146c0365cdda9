// What every plot shares: the theme (projector mode, palette), Plotly's config, and the
// log-transformed grid (memoised per grid object).

import { logTransform, wantsLog } from "../numerics.js";
import { contourScale } from "../palette.js";

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** Sizes and colours for the current display mode. */
export function theme(scene) {
  const proj = Boolean(scene.proj);
  return {
    proj,
    colorBlind: Boolean(scene.cb),
    font: { family: FONT, size: proj ? 16 : 12, color: proj ? "#000000" : "#1f2937" },
    small: proj ? 14 : 11,
    paper: "#ffffff",
    grid: proj ? "#9ca3af" : "#e5e7eb",
    axis: proj ? "#111827" : "#6b7280",
    lineWidth: proj ? 4 : 2.4,
    ghostWidth: proj ? 2 : 1.3,
    headSize: proj ? 18 : 13,
    contourLine: proj ? "rgba(0,0,0,0.55)" : "rgba(30,41,59,0.30)",
    colorscale: contourScale(scene.cb, proj),
    ink: proj ? "#000000" : "#111827",
  };
}

/** Plotly config: no logo, no cloud, PNG export at double resolution. */
export function config(filename) {
  return {
    displaylogo: false,
    responsive: true,
    scrollZoom: false,
    modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines"],
    toImageButtonOptions: { format: "png", filename, scale: 2 },
  };
}

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
