// The loss landscape: a 2-D slice L(w* + a·u + b·v) around the final weights w* = (0, 0)
// as a contour map (log-spaced levels) and a 3D surface, with the training path projected
// onto the plane (points labelled by epoch). Drawn progressively: the coarse preview at
// once, then the refined grids, then the finished one.
//
// Narrow API: update(run, ...) redraws when the grid or the path changed; contourTrace and
// landscapeAxes are shared with the comparison plot.

import { logTransform, wantsLog } from "../../numerics.js";
import { config } from "../../plots/common.js";
import { t } from "../words.js";

const MAX_LABELS = 8; // epoch labels along a path

/** The contour of a loss grid (log-spaced levels; raw values in customdata for hover). */
export function contourTrace(grid, th) {
  const tr = logTransform(grid.loss, true);
  return {
    type: "contour", x: grid.a, y: grid.b, z: tr.zt, customdata: grid.loss, colorscale: th.colorscale, hoverongaps: false,
    contours: { coloring: "heatmap", showlines: true, start: tr.t0, end: tr.t1, size: (tr.t1 - tr.t0) / 20 },
    line: { color: th.contourLine, width: th.proj ? 1 : 0.6, smoothing: 0.8 },
    colorbar: { thickness: 8, len: 0.9, outlinewidth: 0, tickvals: tr.tickvals, ticktext: tr.ticktext, tickfont: { size: th.small }, title: { text: "L", side: "top", font: { size: th.small } }, x: 1.01, xpad: 2 },
    hovertemplate: "a = %{x:.3f}<br>b = %{y:.3f}<br>L = %{customdata:.4g}<extra></extra>",
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

/** Bilinear value of grid z[ib][ia] at (a, b) (null outside). */
function bilinear(grid, a, b) {
  const { a: xs, b: ys, loss } = grid;
  const fx = ((a - xs[0]) / (xs[xs.length - 1] - xs[0])) * (xs.length - 1);
  const fy = ((b - ys[0]) / (ys[ys.length - 1] - ys[0])) * (ys.length - 1);
  if (!(fx >= 0 && fy >= 0 && fx <= xs.length - 1 && fy <= ys.length - 1)) return null;
  const i = Math.min(Math.floor(fx), xs.length - 2);
  const j = Math.min(Math.floor(fy), ys.length - 2);
  const u = fx - i;
  const v = fy - j;
  const z = [loss[j][i], loss[j][i + 1], loss[j + 1][i], loss[j + 1][i + 1]];
  if (z.some((q) => q === null)) return null;
  return (1 - v) * ((1 - u) * z[0] + u * z[1]) + v * ((1 - u) * z[2] + u * z[3]);
}

export function createLandscape(contourGd, surfaceGd) {
  let drawn = { grid: null, path: null, report: null, theme: null, surfaceGrid: null };

  /** The path's epochs: the report's or summary's checkpoint epochs, else 0, 1, 2, … */
  function pathEpochs(run) {
    const e = (run.report && run.report.checkpoint_epochs) || (run.summary && run.summary.checkpoint_epochs);
    return e && e.length === run.trajectory.length ? e : run.trajectory.map((_, i) => i);
  }

  function drawContour(run, th, lang, color) {
    const grid = run.landscape;
    const path = run.trajectory || [];
    const epochs = pathEpochs(run);
    Plotly.react(contourGd, [
      contourTrace(grid, th),
      {
        type: "scatter", mode: "lines+markers+text", name: t(lang, "path"), x: path.map((p) => p[0]), y: path.map((p) => p[1]),
        text: epochLabels(epochs), textposition: "top right", textfont: { size: th.small, color: th.ink }, customdata: epochs,
        line: { color, width: th.lineWidth }, marker: { color, size: th.proj ? 8 : 6, line: { color: "#ffffff", width: 1 } },
        hovertemplate: `${t(lang, "epoch")} %{customdata}<br>(%{x:.3g}, %{y:.3g})<extra></extra>`,
      },
      {
        type: "scatter", mode: "markers", name: t(lang, "final_weights"), x: [0], y: [0],
        marker: { symbol: "star", size: th.proj ? 20 : 15, color: "#facc15", line: { color: "#111827", width: 1.2 } },
        hovertemplate: `${t(lang, "final_weights")}<extra></extra>`,
      },
    ], { ...landscapeAxes(th), showlegend: false, uirevision: run.id }, config("descent-lab-landscape"));
  }

  function drawSurface(run, th, lang, color) {
    const grid = run.landscape;
    const log = wantsLog(grid.loss);
    const tr = logTransform(grid.loss, true);
    const height = (v) => (v === null ? null : log ? tr.f(v) : v);
    const path = run.trajectory || [];
    const epochs = pathEpochs(run);
    const sliceLoss = run.report && run.report.slice_loss.length === path.length ? run.report.slice_loss : null;
    const pz = path.map((p, i) => height(sliceLoss ? sliceLoss[i] : bilinear(grid, p[0], p[1])));
    const axis = (title) => ({ title: { text: title, font: { size: th.small } }, showspikes: false, nticks: 5, gridcolor: th.grid, tickfont: { size: th.small - 1 } });
    Plotly.react(surfaceGd, [
      {
        type: "surface", x: grid.a, y: grid.b, z: log ? tr.zt : grid.loss, customdata: grid.loss, colorscale: th.colorscale, showscale: false, opacity: 0.92,
        contours: { z: { show: true, usecolormap: false, color: th.contourLine, width: 1, highlight: false } },
        hovertemplate: "a = %{x:.3f}<br>b = %{y:.3f}<br>L = %{customdata:.4g}<extra></extra>",
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
        xaxis: axis("a"), yaxis: axis("b"), zaxis: axis(log ? "log L" : "L"),
        aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.6 }, camera: { eye: { x: -1.4, y: -1.4, z: 1.0 } },
      },
      uirevision: run.id,
    }, config("descent-lab-landscape-3d"));
    drawn.surfaceGrid = grid;
  }

  /** Redraw what changed: the grid (every message), the path labels and heights (report). */
  function update(run, th, lang, color) {
    if (!run || !run.landscape) {
      drawn = { grid: null, path: null, report: null, theme: null, surfaceGrid: null };
      return;
    }
    const theme = `${th.proj}|${th.colorBlind}|${lang}`;
    const changed = run.landscape !== drawn.grid || run.trajectory !== drawn.path || run.report !== drawn.report || theme !== drawn.theme;
    if (!changed) return;
    drawContour(run, th, lang, color);
    // WebGL redraws are dear: the 3D view takes the preview, the finished grid and the report.
    const stage = run.landscape.stage;
    if (stage !== "refine" || !drawn.surfaceGrid || theme !== drawn.theme) drawSurface(run, th, lang, color);
    drawn = { ...drawn, grid: run.landscape, path: run.trajectory, report: run.report, theme };
  }

  return { update };
}
