// What every plot of both pages shares: Plotly itself (a deferred script the modules wait
// for), the theme (projector mode, palette), a plot's text alternative and Plotly's config.

import { invalidate } from "./frame.js";
import { palette } from "./palette.js";

/**
 * Resolves once the deferred /vendor/plotly.min.js has run; rejects when the page has
 * loaded without it (the script failed to load or to run).
 */
export function waitForPlotly() {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (window.Plotly) resolve();
      else reject(new Error("/vendor/plotly.min.js did not load"));
    };
    // Deferred scripts run before "load"; module scripts may start before or after it.
    if (document.readyState === "complete") check();
    else window.addEventListener("load", check, { once: true });
  });
}

/**
 * Every plot in `boxes` (a plot, or an element holding plots) takes its box's new size whenever
 * the box changes: a caption that wraps, a tab or a row shown, projector type, the window.
 * Plotly keeps the size it drew at, and a plot taller than its box paints over what is below.
 */
export function observePlotBoxes(boxes) {
  const changed = new Set();
  const observer = new ResizeObserver((entries) => {
    for (const { target } of entries) changed.add(target);
    invalidate("plot-boxes", () => {
      for (const box of changed) {
        for (const gd of box.matches(".js-plotly-plot") ? [box] : box.querySelectorAll(".js-plotly-plot")) {
          if (gd.data && gd.offsetParent) Plotly.Plots.resize(gd);
        }
      }
      changed.clear();
    });
  });
  for (const box of boxes) observer.observe(box);
}

/**
 * Ticks of a fraction axis (accuracy, residual) shown in %. Such an axis overlays a loss axis,
 * and an overlaying axis left to Plotly puts its ticks at the other axis's heights (`tickmode:
 * "sync"`): 4%, 10%, 14%... beside a log loss axis.
 */
export const FRACTION_TICKS = [0, 0.25, 0.5, 0.75, 1];

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/**
 * Sizes and colours for the current display mode: `c` is the palette (every named colour,
 * shared/palette.js); the most used ones are repeated at the top level.
 */
export function theme(scene) {
  const proj = Boolean(scene.proj);
  const c = palette(scene.cb, proj);
  return {
    proj,
    colorBlind: Boolean(scene.cb),
    c,
    font: { family: FONT, size: proj ? 16 : 12, color: c.text },
    small: proj ? 14 : 11,
    paper: c.paper,
    grid: c.grid,
    axis: c.axis,
    ink: c.ink,
    contourLine: c.contourLine,
    colorscale: c.surface,
    lineWidth: proj ? 4 : 2.4,
    ghostWidth: proj ? 2 : 1.3,
    headSize: proj ? 18 : 13,
  };
}

/**
 * A plot's text alternative: the graph is a figure named by `text` (what it shows and its
 * numbers now), so a screen reader says that instead of reading Plotly's SVG. (A figure, not
 * an image: Plotly's mode-bar buttons inside it stay reachable.)
 */
export function describePlot(el, text) {
  if (el.getAttribute("aria-label") === text) return;
  el.setAttribute("role", "figure");
  el.setAttribute("aria-label", text);
}

/** Plotly config: no logo, no cloud, PNG export at double resolution. */
export function config(filename) {
  return {
    displaylogo: false,
    responsive: true,
    scrollZoom: false,
    // Plotly's cloud button would send the chart to a server: the page stays offline.
    modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines", "sendChartToCloud"],
    toImageButtonOptions: { format: "png", filename, scale: 2 },
  };
}
