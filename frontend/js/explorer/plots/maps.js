// The two heat maps: basins of attraction (each start coloured by the minimum it reaches)
// and the regime map (final loss / steps / outcome over two hyperparameters).

import { fmt } from "../../shared/format.js";
import { basinColor } from "../../shared/palette.js";
import { config } from "../../shared/plots.js";
import { eventToData, transformed } from "./common.js";

/** A stepped colour scale for integer codes 0..k-1. */
function discreteScale(colors) {
  const k = colors.length;
  const scale = [];
  colors.forEach((c, i) => {
    scale.push([i / k, c], [(i + 1) / k, c]);
  });
  return scale;
}

export function createBasins(gd, { onPick, labels }) {
  let listening = false;

  function draw(s) {
    const { basins, grid, surface, start, th } = s;
    const minima = (surface && surface.minima) || [];
    const colors = [th.c.basinDiverged, th.c.basinNone, ...minima.map((_, i) => basinColor(i, th.colorBlind))];
    const names = [labels.diverged, labels.none, ...minima.map((m, i) => `${labels.minimum} ${i + 1}: (${fmt(m.x)}, ${fmt(m.y)})`)];
    // code: 0 diverged, 1 no minimum, 2 + i minimum i; z[iy][ix]
    const n = basins.n;
    const z = [];
    const text = [];
    for (let iy = 0; iy < n; iy++) {
      const row = [];
      const trow = [];
      for (let ix = 0; ix < n; ix++) {
        const j = iy * n + ix;
        const code = basins.status[j] === "diverged" ? 0 : basins.minimum[j] === null ? 1 : 2 + basins.minimum[j];
        row.push(code);
        trow.push(names[code]);
      }
      z.push(row);
      text.push(trow);
    }
    const tr = transformed(grid, surface);
    const data = [
      {
        type: "heatmap", x: basins.x, y: basins.y, z, text, zmin: -0.5, zmax: colors.length - 0.5,
        colorscale: discreteScale(colors), showscale: false, hovertemplate: "(%{x:.3g}, %{y:.3g})<br>%{text}<extra></extra>",
      },
      {
        type: "contour", x: grid.x, y: grid.y, z: tr.zt, showscale: false, hoverinfo: "skip",
        contours: { coloring: "lines", start: tr.t0, end: tr.t1, size: (tr.t1 - tr.t0) / 16 },
        line: { width: 0.7, color: th.contourLine }, colorscale: [[0, th.ink], [1, th.ink]],
      },
      {
        type: "scatter", mode: "markers+text", x: minima.map((m) => m.x), y: minima.map((m) => m.y),
        text: minima.map((_, i) => String(i + 1)), textposition: "top center", textfont: { size: th.small, color: th.ink },
        marker: { symbol: "star", size: th.proj ? 18 : 13, color: th.c.minimum, line: { color: th.ink, width: 1.2 } },
        hoverinfo: "skip", showlegend: false,
      },
      {
        type: "scatter", mode: "markers", x: [start[0]], y: [start[1]], hoverinfo: "skip", showlegend: false,
        marker: { symbol: "circle-open", size: th.proj ? 18 : 14, color: th.ink, line: { width: 2.5 } },
      },
    ];
    const dom = [basins.x[0], basins.x[n - 1], basins.y[0], basins.y[n - 1]];
    const hx = (dom[1] - dom[0]) / (2 * (n - 1));
    const hy = (dom[3] - dom[2]) / (2 * (n - 1));
    const layout = {
      margin: { l: 44, r: 8, t: 6, b: 36 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
      xaxis: { range: [dom[0] - hx, dom[1] + hx], showgrid: false, zeroline: false, title: { text: "x", standoff: 2 } },
      yaxis: { range: [dom[2] - hy, dom[3] + hy], showgrid: false, zeroline: false, title: { text: "y", standoff: 2 } },
      showlegend: false, hovermode: "closest", uirevision: s.key,
    };
    const done = Plotly.react(gd, data, layout, config("descent-lab-basins"));
    if (!listening && gd.on) {
      listening = true;
      gd.on("plotly_click", (ev) => {
        const xy = eventToData(gd, ev.event) || [ev.points[0].x, ev.points[0].y];
        onPick(xy);
      });
    }
    return done;
  }

  return { draw };
}

export function createRegime(gd, { onPick, labels }) {
  let listening = false;
  let shown = null;

  function draw(s) {
    const { regime, th, metric, current, xlog, ylog, xName, yName } = s;
    const rows = regime.final_loss.length;
    const y = regime.y || [0];
    let z;
    let colorbar;
    let colorscale;
    let zmin;
    let zmax;
    if (metric === "status") {
      const code = { converged: 2, finished: 1, diverged: 0 };
      z = regime.status.map((row) => row.map((v) => code[v] ?? 0));
      colorscale = discreteScale([th.c.regimeGap, th.c.regimeFinished, th.c.regimeConverged]);
      zmin = -0.5;
      zmax = 2.5;
      colorbar = { tickvals: [0, 1, 2], ticktext: [labels.diverged, labels.finished, labels.converged], thickness: 10 };
    } else if (metric === "steps") {
      z = regime.steps.map((row, iy) => row.map((v, ix) => (regime.status[iy][ix] === "diverged" ? null : v)));
      colorscale = th.c.regimeSteps;
      colorbar = { title: { text: labels.steps, side: "right" }, thickness: 10 };
    } else {
      z = regime.final_loss.map((row, iy) => row.map((v, ix) => (v === null || regime.status[iy][ix] === "diverged" ? null : Math.log10(Math.max(v - s.fStar, 1e-16)))));
      let lo = Infinity;
      let hi = -Infinity;
      for (const row of z) for (const v of row) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const ticks = [];
      for (let k = Math.ceil(lo); k <= Math.floor(hi); k += Math.max(1, Math.ceil((hi - lo) / 6))) ticks.push(k);
      colorbar = { title: { text: labels.loss, side: "right" }, thickness: 10, tickvals: ticks, ticktext: ticks.map((k) => fmt(10 ** k, 1)) };
      colorscale = th.c.regimeLoss;
    }
    const text = regime.status.map((row, iy) => row.map((st, ix) => `${labels.status[st] || st} · ${labels.loss} ${fmt(regime.final_loss[iy][ix])} · ${labels.steps} ${regime.steps[iy][ix]}`));
    const data = [
      {
        type: "heatmap", x: regime.x, y, z, text, colorscale, zmin, zmax, hoverongaps: true,
        colorbar: { ...colorbar, outlinewidth: 0, tickfont: { size: th.small }, len: 0.9 },
        hovertemplate: `${xName} = %{x:.4g}${regime.y ? `<br>${yName} = %{y:.4g}` : ""}<br>%{text}<extra></extra>`,
      },
      {
        type: "scatter", mode: "markers", x: [current[0]], y: [regime.y ? current[1] : 0], hoverinfo: "skip", showlegend: false,
        marker: { symbol: "circle-open", size: th.proj ? 20 : 15, color: th.c.current, line: { width: 3 } },
      },
    ];
    const layout = {
      // Cells without a value (diverged runs) show the background: a light grey, unlike any
      // colour of the scale.
      margin: { l: 52, r: 8, t: 6, b: 40 }, font: th.font, paper_bgcolor: th.paper, plot_bgcolor: th.c.regimeGap,
      xaxis: { type: xlog ? "log" : "linear", title: { text: xName, standoff: 2 }, showgrid: false, zeroline: false },
      yaxis: { type: ylog ? "log" : "linear", title: { text: regime.y ? yName : "", standoff: 2 }, showgrid: false, zeroline: false, visible: rows > 1 || Boolean(regime.y) },
      showlegend: false, hovermode: "closest", uirevision: s.key,
    };
    shown = regime;
    const done = Plotly.react(gd, data, layout, config("descent-lab-regime"));
    if (!listening && gd.on) {
      listening = true;
      gd.on("plotly_click", (ev) => {
        const pt = ev.points.find((p) => p.curveNumber === 0);
        if (!pt || !shown) return;
        const [iy, ix] = Array.isArray(pt.pointNumber) ? pt.pointNumber : [pt.pointIndex[0], pt.pointIndex[1]];
        onPick(shown.x[ix], shown.y ? shown.y[iy] : null);
      });
    }
    return done;
  }

  return { draw };
}
