// The data before training: a scatter of a 2-D dataset coloured by class (or by target
// value for regression), marker symbol by split; for digits, a gallery of 8×8 images with
// their labels. `pointTraces` is shared with the decision-boundary plot.

import { h } from "../../shared/dom.js";
import { t } from "../../shared/i18n.js";
import { racerColor } from "../../shared/palette.js";
import { config } from "../../shared/plots.js";

export const SPLITS = ["train", "val", "test"];
const SYMBOLS = { train: "circle", val: "triangle-up", test: "square" };
export const SYMBOL_TEXT = { train: "●", val: "▲", test: "■" }; // the same shapes in the page's legend

/** The colour of class `k`. */
export const classColor = (k, cb) => racerColor(k, cb);

/** One scatter trace per split: per-point colours by class (or a colour scale by value). */
export function pointTraces(points, task, th, lang, cb) {
  const traces = [];
  const finite = points.label.filter(Number.isFinite);
  const range = [Math.min(...finite), Math.max(...finite)]; // one colour scale over all splits
  for (const split of SPLITS) {
    const idx = [];
    points.split.forEach((s, i) => {
      if (s === split) idx.push(i);
    });
    if (!idx.length) continue;
    const labels = idx.map((i) => points.label[i]);
    const color = task === "regression" ? labels : labels.map((k) => classColor(k, cb));
    traces.push({
      type: "scatter", mode: "markers", name: t(lang, `split_${split}`), showlegend: false,
      x: idx.map((i) => points.x0[i]), y: idx.map((i) => points.x1[i]), customdata: labels,
      marker: {
        symbol: SYMBOLS[split], size: th.proj ? 9 : 7, color, line: { color: th.paper, width: 0.8 },
        ...(task === "regression" ? { colorscale: th.c.values, cmin: range[0], cmax: range[1], showscale: split === "train", colorbar: { thickness: 8, len: 0.8, tickfont: { size: th.small } } } : {}),
      },
      hovertemplate: `${t(lang, `split_${split}`)} · ${task === "regression" ? "y" : t(lang, "class")} %{customdata}<br>(%{x:.3g}, %{y:.3g})<extra></extra>`,
    });
  }
  return traces;
}

/** Axes for a 2-D data plot: equal units, quiet grid (the legend is the page's, below). */
export function dataLayout(th, names) {
  const axis = { gridcolor: th.grid, zerolinecolor: th.grid, tickfont: { size: th.small }, linecolor: th.axis, automargin: true };
  return {
    margin: { l: 40, r: 12, t: 6, b: 34 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
    xaxis: { ...axis, title: { text: names[0], font: { size: th.small }, standoff: 2 }, constrain: "domain" },
    yaxis: { ...axis, title: { text: names[1], font: { size: th.small }, standoff: 2 }, scaleanchor: "x", constrain: "domain" },
    showlegend: false, hovermode: "closest",
  };
}

/** The scatter of a preview with points. */
export function drawPreview(gd, preview, th, lang, cb) {
  Plotly.react(gd, pointTraces(preview.points, preview.task, th, lang, cb), dataLayout(th, preview.feature_names), config("descent-lab-data"));
}

/** A gallery of digits: one canvas per image (ink dark on white) with its label. */
export function drawGallery(root, images) {
  root.replaceChildren(...images.map((img) => {
    const canvas = h("canvas", { width: 8, height: 8, class: "digit", "aria-label": `digit ${img.label}` });
    const ctx = canvas.getContext("2d");
    const data = ctx.createImageData(8, 8);
    img.pixels.forEach((v, i) => {
      const g = Math.round(255 * (1 - Math.max(0, Math.min(1, v))));
      data.data.set([g, g, g, 255], 4 * i);
    });
    ctx.putImageData(data, 0, 0);
    return h("figure", { class: "digit-cell" }, canvas, h("figcaption", {}, String(img.label)));
  }));
}
