// The loss landscape: a 2-D slice L(w* + a·u + b·v) around the final weights w* = (0, 0)
// as a contour map (log-spaced levels) and a 3D surface, with the training path projected
// onto the plane (points labelled by epoch); for classifiers the same slice of accuracy
// instead, on request. Drawn progressively: the coarse preview at once, then the refined
// grids, then the finished one.
//
// Narrow API: update(run, ..., value) redraws when the grid, the path or the value shown
// changed; contourTrace and landscapeAxes are shared with the comparison plot.

import { t } from "../../shared/i18n.js";
import { finiteRange, logTransform, wantsLog } from "../../shared/levels.js";
import { config } from "../../shared/plots.js";

const MAX_LABELS = 8; // epoch labels along a path

/** Whether a grid message carries an accuracy grid (classifiers). */
export function hasAccuracy(grid) {
  return Boolean(grid && Array.isArray(grid.accuracy) && grid.accuracy.some((row) => row.some((v) => v !== null)));
}

/** Per cell [loss, accuracy] (accuracy null for regression): what a hover reads. */
function cells(grid) {
  const acc = hasAccuracy(grid) ? grid.accuracy : null;
  return grid.loss.map((row, j) => row.map((l, i) => [l, acc ? acc[j][i] : null]));
}

/** Hover lines of a grid cell: a, b, then loss and accuracy (the value shown first). */
function hoverText(lang, accuracyFirst, withAccuracy) {
  const loss = "L = %{customdata[0]:.4g}";
  const acc = withAccuracy ? `${t(lang, "accuracy")} = %{customdata[1]:.1%}` : null;
  const values = accuracyFirst ? [acc, loss] : [loss, acc];
  return `${["a = %{x:.3f}", "b = %{y:.3f}", ...values].filter(Boolean).join("<br>")}<extra></extra>`;
}

const colorbar = (th) => ({ thickness: 8, len: 0.9, outlinewidth: 0, tickfont: { size: th.small }, x: 1.01, xpad: 2 });

/** Accuracy levels: a step of 5% (2% when the grid spans less than 30%) between whole
 * steps around the grid's range. */
export function accuracyLevels(accuracy) {
  const [lo, hi] = finiteRange(accuracy);
  const size = hi - lo < 0.3 ? 0.02 : 0.05;
  const start = Math.max(0, Math.floor(lo / size) * size);
  return { start, end: Math.min(1, Math.max(Math.ceil(hi / size) * size, start + size)), size };
}

/** The contour of a loss grid (log-spaced levels; raw values in customdata for hover), or with
 * value "accuracy" of its accuracy grid (linear levels, the colours reversed so that the
 * good region is light in both). */
export function contourTrace(grid, th, lang, value = "loss") {
  const line = { color: th.contourLine, width: th.proj ? 1 : 0.6, smoothing: 0.8 };
  const base = { type: "contour", x: grid.a, y: grid.b, customdata: cells(grid), colorscale: th.colorscale, hoverongaps: false, line };
  if (value === "accuracy" && hasAccuracy(grid)) {
    const levels = accuracyLevels(grid.accuracy);
    return {
      ...base, z: grid.accuracy, zmin: levels.start, zmax: levels.end, reversescale: true,
      contours: { coloring: "heatmap", showlines: true, ...levels },
      colorbar: { ...colorbar(th), tickformat: ".0%", title: { text: "%", side: "top", font: { size: th.small } } },
      hovertemplate: hoverText(lang, true, true),
    };
  }
  const tr = logTransform(grid.loss, true);
  return {
    ...base, z: tr.zt,
    contours: { coloring: "heatmap", showlines: true, start: tr.t0, end: tr.t1, size: (tr.t1 - tr.t0) / 20 },
    colorbar: { ...colorbar(th), tickvals: tr.tickvals, ticktext: tr.ticktext, title: { text: "L", side: "top", font: { size: th.small } } },
    hovertemplate: hoverText(lang, false, hasAccuracy(grid)),
  };
}

export function landscapeAxes(th) {
  const axis = { gridcolor: th.grid, zerolinecolor: th.grid, tickfont: { size: th.small }, linecolor: th.axis, automargin: true };
  return {
    margin: { l: 40, r: 50, t: 6, b: 34 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
    xaxis: { ...axis, title: { text: "a", font: { size: th.small }, standoff: 2 } },
    yaxis: { ...axis, title: { text: "b", font: { size: th.small }, standoff: 2 } },
    legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: th.small } },
    hovermode: "closest",
  };
}

/** Every k-th point's epoch as text (at most MAX_LABELS, the last always). */
export function epochLabels(epochs) {
  const n = epochs.length;
  const k = Math.max(1, Math.ceil(n / MAX_LABELS));
  return epochs.map((e, i) => (i % k === 0 || i === n - 1 ? String(e) : ""));
}

/** Bilinear value at (a, b) of `values` z[ib][ia] on the grid's axes (null outside). */
function bilinear(grid, values, a, b) {
  const { a: xs, b: ys } = grid;
  const fx = ((a - xs[0]) / (xs[xs.length - 1] - xs[0])) * (xs.length - 1);
  const fy = ((b - ys[0]) / (ys[ys.length - 1] - ys[0])) * (ys.length - 1);
  if (!(fx >= 0 && fy >= 0 && fx <= xs.length - 1 && fy <= ys.length - 1)) return null;
  const i = Math.min(Math.floor(fx), xs.length - 2);
  const j = Math.min(Math.floor(fy), ys.length - 2);
  const u = fx - i;
  const v = fy - j;
  const z = [values[j][i], values[j][i + 1], values[j + 1][i], values[j + 1][i + 1]];
  if (z.some((q) => q === null)) return null;
  return (1 - v) * ((1 - u) * z[0] + u * z[1]) + v * ((1 - u) * z[2] + u * z[3]);
}

export function createLandscape(contourGd, surfaceGd) {
  const nothing = { grid: null, path: null, report: null, theme: null, value: null, surfaceGrid: null };
  let drawn = nothing;

  /** The path's epochs: the report's or summary's checkpoint epochs, else 0, 1, 2, … */
  function pathEpochs(run) {
    const e = (run.report && run.report.checkpoint_epochs) || (run.summary && run.summary.checkpoint_epochs);
    return e && e.length === run.trajectory.length ? e : run.trajectory.map((_, i) => i);
  }

  function drawContour(run, th, lang, color, value) {
    const grid = run.landscape;
    const path = run.trajectory || [];
    const epochs = pathEpochs(run);
    Plotly.react(contourGd, [
      contourTrace(grid, th, lang, value),
      {
        type: "scatter", mode: "lines+markers+text", name: t(lang, "path"), x: path.map((p) => p[0]), y: path.map((p) => p[1]),
        text: epochLabels(epochs), textposition: "top right", textfont: { size: th.small, color: th.ink }, customdata: epochs,
        line: { color, width: th.lineWidth }, marker: { color, size: th.proj ? 8 : 6, line: { color: th.paper, width: 1 } },
        hovertemplate: `${t(lang, "epoch")} %{customdata}<br>(%{x:.3g}, %{y:.3g})<extra></extra>`,
      },
      {
        type: "scatter", mode: "markers", name: t(lang, "final_weights"), x: [0], y: [0],
        marker: { symbol: "star", size: th.proj ? 20 : 15, color: th.c.minimum, line: { color: th.ink, width: 1.2 } },
        hovertemplate: `${t(lang, "final_weights")}<extra></extra>`,
      },
    ], { ...landscapeAxes(th), showlegend: false, uirevision: run.id }, config("descent-lab-landscape"));
  }

  /** The surface's z, its axis title and the path's heights, for the value shown. */
  function heights(run, value, lang) {
    const grid = run.landscape;
    const path = run.trajectory || [];
    if (value === "accuracy" && hasAccuracy(grid)) {
      const levels = accuracyLevels(grid.accuracy);
      const pz = path.map((p) => bilinear(grid, grid.accuracy, p[0], p[1]));
      return { z: grid.accuracy, title: t(lang, "accuracy"), pz, extra: { cmin: levels.start, cmax: levels.end, reversescale: true } };
    }
    const log = wantsLog(grid.loss);
    const tr = logTransform(grid.loss, true);
    const height = (v) => (v === null ? null : log ? tr.f(v) : v);
    const sliceLoss = run.report && run.report.slice_loss.length === path.length ? run.report.slice_loss : null;
    const pz = path.map((p, i) => height(sliceLoss ? sliceLoss[i] : bilinear(grid, grid.loss, p[0], p[1])));
    return { z: log ? tr.zt : grid.loss, title: log ? "log L" : "L", pz, extra: {} };
  }

  function drawSurface(run, th, lang, color, value) {
    const grid = run.landscape;
    const path = run.trajectory || [];
    const epochs = pathEpochs(run);
    const { z, title, pz, extra } = heights(run, value, lang);
    const axis = (text) => ({ title: { text, font: { size: th.small } }, showspikes: false, nticks: 5, gridcolor: th.grid, tickfont: { size: th.small - 1 } });
    Plotly.react(surfaceGd, [
      {
        type: "surface", x: grid.a, y: grid.b, z, customdata: cells(grid), colorscale: th.colorscale, showscale: false, opacity: 0.92, ...extra,
        contours: { z: { show: true, usecolormap: false, color: th.contourLine, width: 1, highlight: false } },
        hovertemplate: hoverText(lang, value === "accuracy" && hasAccuracy(grid), hasAccuracy(grid)),
        lighting: { ambient: 0.75, diffuse: 0.5, specular: 0.05, roughness: 0.9 },
      },
      {
        type: "scatter3d", mode: "lines+markers", x: path.map((p) => p[0]), y: path.map((p) => p[1]), z: pz, customdata: epochs,
        line: { color, width: th.proj ? 9 : 6 }, marker: { color, size: th.proj ? 5 : 3 },
        hovertemplate: `${t(lang, "epoch")} %{customdata}<extra></extra>`, showlegend: false,
      },
    ], {
      margin: { l: 0, r: 0, t: 0, b: 0 }, font: th.font, paper_bgcolor: th.paper,
      scene: {
        xaxis: axis("a"), yaxis: axis("b"), zaxis: { ...axis(title), ...(value === "accuracy" ? { tickformat: ".0%" } : {}) },
        aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.6 }, camera: { eye: { x: -1.4, y: -1.4, z: 1.0 } },
      },
      uirevision: run.id,
    }, config("descent-lab-landscape-3d"));
    drawn.surfaceGrid = grid;
  }

  /** Redraw what changed: the grid (every message), the path labels and heights (report),
   * the value shown ("loss" | "accuracy"). */
  function update(run, th, lang, color, value = "loss") {
    if (!run || !run.landscape) {
      drawn = nothing;
      return;
    }
    const theme = `${th.proj}|${th.colorBlind}|${lang}`;
    const restyled = theme !== drawn.theme || value !== drawn.value;
    const changed = run.landscape !== drawn.grid || run.trajectory !== drawn.path || run.report !== drawn.report || restyled;
    if (!changed) return;
    drawContour(run, th, lang, color, value);
    // WebGL redraws are dear: the 3D view takes the preview, the finished grid and the report.
    const stage = run.landscape.stage;
    if (stage !== "refine" || !drawn.surfaceGrid || restyled) drawSurface(run, th, lang, color, value);
    drawn = { ...drawn, grid: run.landscape, path: run.trajectory, report: run.report, theme, value };
  }

  return { update };
}
