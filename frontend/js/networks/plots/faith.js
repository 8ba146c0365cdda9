// How far to trust the 2-D slice: per checkpoint, the true loss of the weights against the
// slice's loss at their projection, and the residual (how far the checkpoint lies off the
// plane: ‖d − a·u − b·v‖ / ‖d‖, a fraction) on a second axis. The numbers beside it (explained variance, eigenvalues,
// evaluation samples) are written by the landscape view.

import { t } from "../../shared/i18n.js";
import { FRACTION_TICKS, config } from "../../shared/plots.js";

export function drawFaithfulness(gd, report, th, lang) {
  const x = report.checkpoint_epochs;
  const { train: trueColor, slice: sliceColor, residual } = th.c;
  const axis = { gridcolor: th.grid, zerolinecolor: th.grid, tickfont: { size: th.small }, linecolor: th.axis, automargin: true };
  Plotly.react(gd, [
    { type: "scatter", mode: "lines+markers", name: t(lang, "faith_true"), x, y: report.true_loss, line: { color: trueColor, width: th.lineWidth }, marker: { size: th.proj ? 7 : 5 } },
    { type: "scatter", mode: "lines+markers", name: t(lang, "faith_slice"), x, y: report.slice_loss, line: { color: sliceColor, width: th.lineWidth, dash: "dash" }, marker: { size: th.proj ? 7 : 5, symbol: "diamond" } },
    { type: "bar", name: t(lang, "faith_residual"), x, y: report.residual, yaxis: "y2", marker: { color: residual } },
  ], {
    margin: { l: 52, r: 52, t: 6, b: 34 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
    xaxis: { ...axis, title: { text: t(lang, "epoch"), font: { size: th.small }, standoff: 2 } },
    yaxis: { ...axis, type: "log", nticks: 6, exponentformat: "power", title: { text: t(lang, "loss"), font: { size: th.small }, standoff: 2 } },
    yaxis2: { ...axis, overlaying: "y", side: "right", range: [0, 1], tickformat: ".0%", tickvals: FRACTION_TICKS, showgrid: false, title: { text: t(lang, "faith_residual"), font: { size: th.small }, standoff: 2 } },
    legend: { orientation: "h", x: 0, y: 1, yanchor: "bottom", font: { size: th.small } },
    barmode: "overlay", hovermode: "x unified",
  }, config("descent-lab-faithfulness"));
}
