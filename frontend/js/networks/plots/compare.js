// Several runs from one start on one plane: the loss around the shared initial weights
// (0, 0), the plane spanned by the top-2 PCA directions of all their checkpoints, each
// run's path in its colour, its end marked.

import { t } from "../../shared/i18n.js";
import { config } from "../../shared/plots.js";
import { contourTrace, epochLabels, landscapeAxes } from "./landscape.js";

/** `runs`: [{id, label, color}] in the order of `data.runs`; `value`: "loss" | "accuracy". */
export function drawComparison(gd, data, runs, th, lang, value) {
  const traces = [contourTrace(data, th, lang, value)];
  data.runs.forEach((r, i) => {
    const info = runs[i] || { label: r.id, color: th.ink };
    const path = r.trajectory;
    traces.push({
      type: "scatter", mode: "lines+markers+text", name: info.label, x: path.map((p) => p[0]), y: path.map((p) => p[1]),
      text: epochLabels(r.epochs), textposition: "top right", textfont: { size: th.small - 1, color: info.color }, customdata: r.epochs,
      line: { color: info.color, width: th.lineWidth }, marker: { color: info.color, size: th.proj ? 7 : 5, line: { color: th.paper, width: 1 } },
      hovertemplate: `${info.label}<br>${t(lang, "epoch")} %{customdata}<extra></extra>`,
    });
  });
  traces.push({
    type: "scatter", mode: "markers", name: t(lang, "start"), x: [0], y: [0], showlegend: false,
    marker: { symbol: "circle-open", size: th.proj ? 20 : 15, color: th.ink, line: { width: 2.5 } },
    hovertemplate: `${t(lang, "start")}<extra></extra>`,
  });
  const layout = landscapeAxes(th);
  Plotly.react(gd, traces, { ...layout, showlegend: true, legend: { ...layout.legend, y: 1.0 }, margin: { ...layout.margin, t: 26 } }, config("descent-lab-compare"));
}
