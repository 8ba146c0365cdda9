// Side plots against the step: loss gap (log y), gradient norm, step length and the lr the
// optimizer actually used (schedules visible; the focused adaptive racer adds its
// per-coordinate effective step). A dot per racer and a rule mark the playhead.
//
// drawScene: Plotly.react; drawFrame: one Plotly.update (dots + rules).

import { config } from "../../shared/plots.js";
import { frameIndex } from "../numerics.js";

const PANELS = 4;
const NARROW = 480; // px: below this the panels go two by two
const GAP_FLOOR = 1e-16; // log axes cannot show 0: an exact hit of f* is drawn here

function domains(n, gap) {
  const w = (1 - gap * (n - 1)) / n;
  return Array.from({ length: n }, (_, i) => [i * (w + gap), i * (w + gap) + w]);
}

const pos = (v) => (v === null || !(v > 0) ? null : v);

export function createSeries(gd, labels) {
  let current = null;

  function seriesFor(p, fStar) {
    const c = p.cols;
    const loss = fStar === null ? c.loss.slice() : c.loss.map((v) => (v === null ? null : Math.max(v - fStar, GAP_FLOOR)));
    return [loss, c.gnorm.map(pos), c.steplen.map(pos), c.lr.map(pos)];
  }

  function drawScene(s, f) {
    const { paths, th, fStar, focus } = s;
    const data = [];
    const values = paths.map((p) => seriesFor(p, fStar));
    paths.forEach((p, r) => {
      for (let k = 0; k < PANELS; k++) {
        data.push({
          type: "scatter", mode: "lines", x: p.cols.step.slice(), y: values[r][k], name: p.label, visible: !p.hidden,
          xaxis: k ? `x${k + 1}` : "x", yaxis: k ? `y${k + 1}` : "y", showlegend: false,
          line: { color: p.color, width: th.proj ? 2.6 : 1.6 }, hovertemplate: `%{y:.3g}<extra>${labels.short[r]}</extra>`,
        });
      }
    });
    const fp = paths[focus];
    if (fp && !fp.hidden) {
      const c = fp.cols;
      if (c.batchLoss.some((v) => v !== null)) {
        data.push({
          // A mini-batch loss can dip below f*: those points leave gaps rather than fake values.
          type: "scatter", mode: "lines", x: c.step.slice(), y: fStar === null ? c.batchLoss.slice() : c.batchLoss.map((v) => (v === null || v <= fStar ? null : v - fStar)),
          xaxis: "x", yaxis: "y", showlegend: false, line: { color: fp.color, width: 1, dash: "dot" }, opacity: 0.6,
          hovertemplate: `${labels.batch} %{y:.3g}<extra></extra>`,
        });
      }
      if (c.ex.some((v) => v !== null)) {
        for (const [col, name, dash] of [[c.ex, labels.effX, "dot"], [c.ey, labels.effY, "dash"]]) {
          data.push({
            type: "scatter", mode: "lines", x: c.step.slice(), y: col.map(pos), xaxis: "x4", yaxis: "y4", showlegend: false,
            line: { color: fp.color, width: th.proj ? 2.2 : 1.4, dash }, hovertemplate: `${name} %{y:.3g}<extra></extra>`,
          });
        }
      }
    }
    // Per panel: a dotted rule at the playhead (spanning the data's range), then a dot per racer.
    const dotsAt = data.length;
    const spans = [];
    for (let k = 0; k < PANELS; k++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of values) for (const y of v[k]) if (y !== null && Number.isFinite(y)) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
      spans.push(lo <= hi ? [lo, hi] : [0, 1]);
      data.push({
        type: "scatter", mode: "lines", x: [], y: [], xaxis: k ? `x${k + 1}` : "x", yaxis: k ? `y${k + 1}` : "y",
        showlegend: false, hoverinfo: "skip", line: { color: th.c.rule, width: 1, dash: "dot" },
      });
      data.push({
        type: "scatter", mode: "markers", x: [], y: [], xaxis: k ? `x${k + 1}` : "x", yaxis: k ? `y${k + 1}` : "y",
        showlegend: false, hoverinfo: "skip", marker: { size: th.proj ? 11 : 8, color: paths.map((p) => p.color), line: { color: th.paper, width: 1.5 } },
      });
    }
    const layout = {
      margin: { l: 44, r: 8, t: 22, b: 30 }, font: { ...th.font, size: th.small }, paper_bgcolor: th.paper, plot_bgcolor: th.paper,
      hovermode: "closest", showlegend: false, annotations: [],
    };
    // Log axes spanning few decades label every digit (2, 3, ... 9): keep 1-2-5 instead.
    const decades = (k) => {
      let lo = Infinity;
      let hi = 0;
      for (const v of values) for (const y of v[k]) if (y > 0) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
      return hi > 0 ? Math.log10(hi / lo) : 0;
    };
    const titles = [fStar === null ? labels.lossLin : labels.loss, labels.grad, labels.steplen, labels.lr];
    // Room between panels for the next panel's tick labels (about 50 px, more in projector mode).
    // A narrow plot (a phone) holds the four panels as two rows of two.
    const width = Math.max(gd.clientWidth, 300);
    const cols = gd.clientWidth < NARROW ? 2 : PANELS;
    const gap = Math.min(0.12 * (PANELS / cols), (th.proj ? 62 : 48) / width);
    const xDomains = domains(cols, gap);
    const yDomains = domains(PANELS / cols, 0.22).reverse();
    for (let k = 0; k < PANELS; k++) {
      const dom = xDomains[k % cols];
      const yDom = yDomains[Math.floor(k / cols)];
      const sx = k ? `xaxis${k + 1}` : "xaxis";
      const sy = k ? `yaxis${k + 1}` : "yaxis";
      layout[sx] = { domain: dom, anchor: k ? `y${k + 1}` : "y", gridcolor: th.grid, zeroline: false, linecolor: th.axis, tickfont: { size: th.small }, nticks: th.proj ? 3 : 4, tickangle: 0 };
      layout[sy] = {
        domain: yDom, anchor: k ? `x${k + 1}` : "x", type: k === 0 && fStar === null ? "linear" : "log", gridcolor: th.grid,
        linecolor: th.axis, tickfont: { size: th.small }, exponentformat: "power", nticks: 5, zeroline: false,
      };
      if (layout[sy].type === "log" && decades(k) < 2.5) Object.assign(layout[sy], { dtick: "D2", tickformat: "~g" });
      layout.annotations.push({
        text: `<b>${titles[k]}</b>`, xref: "paper", yref: "paper", x: (dom[0] + dom[1]) / 2, y: yDom[1], yanchor: "bottom",
        showarrow: false, font: { size: th.font.size },
      });
    }
    current = { ...s, values, dotsAt, spans };
    const { xs, ys, idx } = frameData(f);
    idx.forEach((i, j) => {
      data[i].x = xs[j];
      data[i].y = ys[j];
    });
    return Plotly.react(gd, data, layout, config("descent-lab-series"));
  }

  function frameData(f) {
    const { paths, values, dotsAt, spans } = current;
    const xs = [];
    const ys = [];
    const idx = [];
    for (let k = 0; k < PANELS; k++) {
      const x = [];
      const y = [];
      paths.forEach((p, r) => {
        if (p.hidden || !p.cols.n) return;
        const i = frameIndex(f.t, p.cols.n);
        x.push(p.cols.step[i]);
        y.push(values[r][k][i]);
      });
      idx.push(dotsAt + 2 * k, dotsAt + 2 * k + 1);
      xs.push([f.t, f.t], x);
      ys.push(spans[k], y);
    }
    return { xs, ys, idx };
  }

  /** The playhead: one restyle of the rules and dots (no relayout, no recalculated axes). */
  function drawFrame(f) {
    if (!current || !gd.data) return;
    const { xs, ys, idx } = frameData(f);
    return Plotly.restyle(gd, { x: xs, y: ys }, idx);
  }

  return { drawScene, drawFrame };
}
