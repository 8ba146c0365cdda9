// The loss (and accuracy) on the straight line L((1 − α)·w₀ + α·w₁), α from −0.5 to 1.5:
// from the initial to the final weights of one run, or between two runs' final weights.
// Rules mark α = 0 and α = 1.

import { t } from "../../shared/i18n.js";
import { FRACTION_TICKS, config } from "../../shared/plots.js";

/** `ends`: the names of α = 0 and α = 1. */
export function drawInterpolation(gd, data, th, lang, ends) {
  const { train: lossColor, accuracy: accColor } = th.c;
  const hasAcc = Array.isArray(data.accuracy) && data.accuracy.some((v) => v !== null);
  const axis = { gridcolor: th.grid, zerolinecolor: th.grid, tickfont: { size: th.small }, linecolor: th.axis, automargin: true };
  const rule = (x, text) => ({
    shape: { type: "line", xref: "x", yref: "paper", x0: x, x1: x, y0: 0, y1: 1, line: { color: th.axis, width: 1.2, dash: "dot" } },
    note: { x, xref: "x", y: 1, yref: "paper", yanchor: "top", xanchor: "left", xshift: 2, text, showarrow: false, font: { size: th.small, color: th.ink }, bgcolor: th.c.veil },
  });
  const rules = [rule(0, ends[0]), rule(1, ends[1])];
  Plotly.react(gd, [
    { type: "scatter", mode: "lines+markers", name: t(lang, "loss"), x: data.alpha, y: data.loss, line: { color: lossColor, width: th.lineWidth }, marker: { size: th.proj ? 5 : 3 }, hovertemplate: "α = %{x:.2f}: L = %{y:.4g}<extra></extra>" },
    { type: "scatter", mode: "lines", name: t(lang, "accuracy"), x: data.alpha, y: hasAcc ? data.accuracy : [], yaxis: "y2", visible: hasAcc, line: { color: accColor, width: th.lineWidth * 0.8, dash: "dot" }, hovertemplate: "α = %{x:.2f}: %{y:.1%}<extra></extra>" },
  ], {
    margin: { l: 52, r: 46, t: 22, b: 34 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
    xaxis: { ...axis, title: { text: "α", font: { size: th.small }, standoff: 2 } },
    yaxis: { ...axis, type: "log", nticks: 6, exponentformat: "power", title: { text: t(lang, "loss"), font: { size: th.small }, standoff: 2 } },
    yaxis2: { ...axis, overlaying: "y", side: "right", range: [0, 1.02], tickformat: ".0%", tickvals: FRACTION_TICKS, showgrid: false, visible: hasAcc },
    shapes: rules.map((r) => r.shape), annotations: rules.map((r) => r.note),
    legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: th.small } },
    hovermode: "closest",
  }, config("descent-lab-interpolation"));
}
