// The contour map: surface (log-spaced levels), known minima and saddles, the start, and per
// racer a ghost of the whole path, the trail so far, a fading comet and the head; overlays
// (−∇L, momentum, per-axis step, Hessian axes: solid where f curves up, dashed where it
// curves down) for the focused racer.
//
// Two stacked Plotly graphs with identical axes: the map (contour, minima, saddles, start)
// is drawn once per scene; the transparent layer on top holds everything that moves, so a
// frame restyles only cheap scatter traces and never recomputes the contour.
//
// Narrow API: drawScene(scene) rebuilds both with Plotly.react; drawFrame(frame) moves the
// dynamic traces with one Plotly.restyle; extendPaths(paths) appends streamed points with
// Plotly.extendTraces.

import { config } from "../../shared/plots.js";
import { saveUrl } from "../export.js";
import { arrowScale, frameIndex, maxFinite } from "../numerics.js";
import { eventToData, gridDomain, transformed } from "./common.js";
import { overlayShapes } from "./overlays.js";

const COMET = 24; // steps in the fading comet
const PER_RACER = 4; // ghost, trail, comet, head
const FIXED = 0; // the moving layer starts with the racers
const OVERLAYS = 5; // grad arrow, momentum arrow, per-axis ellipse, two Hessian axes

/** Last index ≤ k whose point is finite (a diverged path ends in nulls). */
function lastFinite(cols, k) {
  for (let i = k; i >= 0; i--) if (cols.x[i] !== null && cols.y[i] !== null) return i;
  return -1;
}

const MARGIN = { l: 48, r: 66, t: 6, b: 40 };
// Projector mode's larger ticks: the fixed margins (both layers must line up) hold the axis titles clear of them.
const PROJECTOR_MARGIN = { l: 62, r: 66, t: 6, b: 54 };

export function createContour(container, { onPick, labels }) {
  const map = document.createElement("div");
  const gd = document.createElement("div");
  map.id = "contour-map";
  gd.id = "contour-paths";
  map.className = "layer";
  gd.className = "layer top";
  const hover = document.createElement("div");
  hover.className = "map-hover";
  container.append(map, gd, hover);
  let current = null; // {scene} last drawn with react
  let dyn = null; // per-racer arrow scales etc., derived from the scene
  let drawnN = []; // points of each ghost path already handed to Plotly
  let lastLengths = {}; // trace index -> points drawn at the last frame
  let mapDrawn = null; // what the map layer shows now

  function fixedTraces(s) {
    const { grid, surface, start, th } = s;
    const tr = transformed(grid, surface);
    const minima = (surface && surface.minima) || [];
    const saddles = (surface && surface.saddles) || [];
    return [
      {
        type: "contour", x: grid.x, y: grid.y, z: tr.zt, customdata: grid.z,
        hovertemplate: "x = %{x:.3f}<br>y = %{y:.3f}<br>f = %{customdata:.4g}<extra></extra>",
        colorscale: th.colorscale, showscale: true, hoverongaps: false,
        contours: { coloring: "heatmap", showlines: true, start: tr.t0, end: tr.t1, size: (tr.t1 - tr.t0) / 24 },
        line: { color: th.contourLine, width: th.proj ? 1 : 0.6, smoothing: 0.8 },
        colorbar: {
          thickness: 8, len: 0.92, outlinewidth: 0, tickvals: tr.tickvals, ticktext: tr.ticktext,
          tickfont: { size: th.small }, title: { text: "f", side: "top", font: { size: th.small } }, x: 1.01, xanchor: "left", xpad: 2,
        },
      },
      {
        type: "scatter", mode: "markers", x: minima.map((m) => m.x), y: minima.map((m) => m.y),
        marker: { symbol: "star", size: th.proj ? 20 : 15, color: th.c.minimum, line: { color: th.ink, width: 1.2 } },
        hovertemplate: `${labels.minimum}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`, showlegend: false,
      },
      {
        type: "scatter", mode: "markers", x: saddles.map((m) => m.x), y: saddles.map((m) => m.y),
        marker: { symbol: "x-thin-open", size: th.proj ? 16 : 12, color: th.ink, line: { width: 2.5 } },
        hovertemplate: `${labels.saddle}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`, showlegend: false,
      },
      {
        type: "scatter", mode: "markers", x: [start[0]], y: [start[1]],
        marker: { symbol: "circle-open", size: th.proj ? 20 : 15, color: th.ink, line: { width: 2.5 } },
        hovertemplate: `${labels.start}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`, showlegend: false,
      },
    ];
  }

  function racerTraces(p, th, ghostOn) {
    const cols = p.cols;
    return [
      {
        // copies: streamed columns grow in place, and Plotly must see new arrays
        type: "scatter", mode: "lines", x: cols.x.slice(), y: cols.y.slice(), hoverinfo: "skip", showlegend: false,
        visible: !p.hidden && ghostOn, line: { color: p.color, width: th.ghostWidth, dash: "dot" }, opacity: 0.55,
      },
      {
        type: "scatter", mode: "lines", x: [], y: [], hoverinfo: "skip", showlegend: false, visible: !p.hidden,
        line: { color: p.color, width: th.lineWidth }, opacity: 0.9,
      },
      {
        type: "scatter", mode: "markers", x: [], y: [], hoverinfo: "skip", showlegend: false, visible: !p.hidden,
        marker: { color: p.color, size: [], opacity: [], line: { width: 0 } },
      },
      {
        type: "scatter", mode: "markers", x: [], y: [], name: p.label, showlegend: true, visible: !p.hidden,
        marker: { color: p.color, size: th.headSize, line: { color: th.paper, width: 2 } },
        hovertemplate: `${p.label}<br>(%{x:.4g}, %{y:.4g})<extra></extra>`,
      },
    ];
  }

  function overlayTraces(th) {
    const arrow = (color, dash, name) => ({
      type: "scatter", mode: "lines+markers", x: [], y: [], name, showlegend: false, hoverinfo: "skip",
      line: { color, width: th.proj ? 3.5 : 2.2, dash },
      marker: { symbol: "arrow", angleref: "previous", size: [0, th.proj ? 16 : 12], color },
    });
    return [
      arrow(th.ink, "solid", "−∇L"),
      arrow(th.c.momentum, "solid", "momentum"),
      { type: "scatter", mode: "lines", x: [], y: [], hoverinfo: "skip", showlegend: false, line: { color: th.c.effective, width: th.proj ? 3 : 2 }, fill: "toself", fillcolor: th.c.effectiveFill },
      { type: "scatter", mode: "lines", x: [], y: [], hoverinfo: "skip", showlegend: false, line: { color: th.c.curvingUp, width: th.proj ? 3 : 2 } },
      { type: "scatter", mode: "lines", x: [], y: [], hoverinfo: "skip", showlegend: false, line: { color: th.c.curvingDown, width: th.proj ? 3 : 2, dash: "dash" } },
    ];
  }

  function axes(s, visible) {
    const [x0, x1, y0, y1] = s.range;
    const th = s.th;
    const axis = (title, range) => ({
      range, autorange: false, title: { text: visible ? title : "", standoff: 4 }, showgrid: false, zeroline: false,
      linecolor: th.axis, ticks: visible ? "outside" : "", showticklabels: visible, showline: visible, visible,
    });
    return { xaxis: axis("x", [x0, x1]), yaxis: axis("y", [y0, y1]) };
  }

  /** Full redraw: the map below, every racer's layer above, already at frame `f`. */
  function drawScene(s, f) {
    const { grid, th, paths } = s;
    const [x0, x1, y0, y1] = gridDomain(grid);
    const span = Math.min(x1 - x0, y1 - y0);
    const range = current && current.gridKey === s.gridKey && current.range ? current.range : [x0, x1, y0, y1];
    s = { ...s, range };
    dyn = paths.map((p) => ({
      scale: arrowScale(p.cols, span),
      effMax: Math.max(maxFinite(p.cols.ex), maxFinite(p.cols.ey)),
    }));
    const base = { margin: th.proj ? PROJECTOR_MARGIN : MARGIN, font: th.font, hovermode: false, showlegend: false, uirevision: s.gridKey };
    // The map is redrawn only when what it shows changed (contouring is the costly part).
    const mapKey = [grid, s.surface, s.start[0], s.start[1], th.proj, th.colorBlind, range.join()];
    if (!mapDrawn || mapKey.some((v, i) => v !== mapDrawn[i])) {
      mapDrawn = mapKey;
      Plotly.react(map, fixedTraces(s), { ...base, ...axes(s, true), paper_bgcolor: th.paper, plot_bgcolor: th.paper }, { ...config("descent-lab-contour"), displayModeBar: false, staticPlot: true });
    }
    const data = [];
    for (const p of paths) data.push(...racerTraces(p, th, s.ghost));
    data.push(...overlayTraces(th));
    const layout = {
      ...base, ...axes(s, false),
      paper_bgcolor: th.c.clear, plot_bgcolor: th.c.clear,
      showlegend: true,
      legend: {
        orientation: "v", x: 0.99, y: 0.99, xanchor: "right", yanchor: "top",
        bgcolor: th.c.veil, bordercolor: th.c.veilLine, borderwidth: 1,
        font: { size: th.small },
      },
      hovermode: "closest", dragmode: "zoom",
    };
    current = s;
    lastLengths = {};
    drawnN = paths.map((p) => p.cols.n);
    const { upd, idx } = frameData(f);
    idx.forEach((i, j) => {
      const tr = data[i];
      tr.x = upd.x[j];
      tr.y = upd.y[j];
      if (upd["marker.size"][j] !== null) tr.marker = { ...tr.marker, size: upd["marker.size"][j], opacity: upd["marker.opacity"][j] };
      lastLengths[i] = upd.x[j].length;
    });
    const cfg = config("descent-lab-contour");
    // Plotly's own camera button would save only this transparent layer: save both instead.
    const camera = {
      name: "toImageBothLayers", title: labels.savePng, icon: Plotly.Icons.camera,
      click: () => toPng().then((url) => saveUrl(url, "descent-lab-contour.png")),
    };
    const done = Plotly.react(gd, data, layout, {
      ...cfg, edits: { legendPosition: true },
      modeBarButtonsToRemove: [...cfg.modeBarButtonsToRemove, "toImage"], modeBarButtonsToAdd: [camera],
    });
    listen();
    return done;
  }

  /** What the moving traces show at frame `f`: per trace index, x, y, marker size, opacity. */
  function frameData(f) {
    const { paths, grid } = current;
    const [x0, x1, y0, y1] = gridDomain(grid);
    const spanX = x1 - x0;
    const spanY = y1 - y0;
    const upd = { x: [], y: [], "marker.size": [], "marker.opacity": [] };
    const idx = [];
    const push = (i, x, y, size, opacity) => {
      idx.push(i);
      upd.x.push(x);
      upd.y.push(y);
      upd["marker.size"].push(size);
      upd["marker.opacity"].push(opacity);
    };
    const th = current.th;
    const heads = [];
    paths.forEach((p, r) => {
      const base = FIXED + PER_RACER * r;
      const cols = p.cols;
      const k = cols.n ? lastFinite(cols, frameIndex(f.t, cols.n)) : -1;
      heads.push(k);
      const from = Math.max(0, k - COMET + 1);
      const cx = k >= 0 ? cols.x.slice(from, k + 1) : [];
      const cy = k >= 0 ? cols.y.slice(from, k + 1) : [];
      const m = cx.length;
      push(base + 1, cols.x.slice(0, k + 1), cols.y.slice(0, k + 1), null, null);
      push(base + 2, cx, cy, cx.map((_, j) => 3 + (5 * (j + 1)) / m), cx.map((_, j) => 0.08 + (0.7 * (j + 1)) / m));
      push(base + 3, k >= 0 ? [cols.x[k]] : [], k >= 0 ? [cols.y[k]] : [], th.headSize, 1);
    });
    // Overlays for the focused racer.
    const o = FIXED + PER_RACER * paths.length;
    const fi = f.focus;
    const p = paths[fi];
    const k = p && !p.hidden ? heads[fi] : -1;
    const { grad, mom, eff, eig1, eig2 } = overlayShapes(p && p.cols, k, dyn[fi], f, [spanX, spanY]);
    push(o, grad[0], grad[1], [0, th.proj ? 16 : 12], 1);
    push(o + 1, mom[0], mom[1], [0, th.proj ? 16 : 12], 1);
    push(o + 2, eff[0], eff[1], null, null);
    push(o + 3, eig1[0], eig1[1], null, null);
    push(o + 4, eig2[0], eig2[1], null, null);
    return { upd, idx };
  }

  /** Per-frame update of trails, comets, heads and overlays (one restyle call). */
  function drawFrame(f) {
    if (!current || !gd.data) return;
    const { upd, idx } = frameData(f);
    // Leave out traces that were empty and stay empty (hidden racers, overlays switched off).
    const keep = idx.map((i, j) => upd.x[j].length > 0 || (lastLengths[i] ?? 1) > 0);
    idx.forEach((i, j) => { lastLengths[i] = upd.x[j].length; });
    const pick = (a) => a.filter((_, j) => keep[j]);
    // One value per trace; null resets marker styling on line-only traces (harmless).
    return Plotly.restyle(gd, { x: pick(upd.x), y: pick(upd.y), "marker.size": pick(upd["marker.size"]), "marker.opacity": pick(upd["marker.opacity"]) }, pick(idx));
  }

  /** Streamed steps: extend each racer's ghost path without rebuilding the figure. */
  function extendPaths(paths) {
    if (!current || !gd.data) return;
    current = { ...current, paths };
    const xs = [];
    const ys = [];
    const idx = [];
    paths.forEach((p, r) => {
      const n = p.cols.n;
      if (n <= drawnN[r]) return;
      xs.push(p.cols.x.slice(drawnN[r], n));
      ys.push(p.cols.y.slice(drawnN[r], n));
      idx.push(FIXED + PER_RACER * r);
      drawnN[r] = n;
    });
    if (idx.length) Plotly.extendTraces(gd, { x: xs, y: ys }, idx);
  }

  // Zoom and pan happen on the top layer; the map follows. Double-click returns to the domain.
  let listening = false;
  function listen() {
    if (listening || !gd.on) return;
    listening = true;
    gd.on("plotly_relayout", (ev) => {
      if (!current) return;
      let range = null;
      if (ev["xaxis.autorange"] || ev["yaxis.autorange"]) range = gridDomain(current.grid);
      else if ("xaxis.range[0]" in ev || "yaxis.range[0]" in ev) {
        const xr = gd._fullLayout.xaxis.range; // Plotly's resolved ranges after the zoom
        const yr = gd._fullLayout.yaxis.range;
        range = [xr[0], xr[1], yr[0], yr[1]];
      }
      if (!range) return;
      current = { ...current, range };
      if (mapDrawn) mapDrawn[6] = range.join();
      const upd = { "xaxis.range": [range[0], range[1]], "yaxis.range": [range[2], range[3]] };
      Plotly.relayout(map, upd);
      if (ev["xaxis.autorange"] || ev["yaxis.autorange"]) Plotly.relayout(gd, { ...upd, "xaxis.autorange": false, "yaxis.autorange": false });
    });
  }

  // A click (not a drag) anywhere on the map picks the start: exact data coordinates.
  let down = null;
  gd.addEventListener("pointerdown", (ev) => {
    down = ev.button === 0 && !ev.target.closest(".legend, .modebar") ? [ev.clientX, ev.clientY] : null;
  });
  // Plotly covers the page with a drag layer on mousedown, so the release lands outside gd.
  window.addEventListener("pointerup", (ev) => {
    if (!down || !current) return;
    const moved = Math.hypot(ev.clientX - down[0], ev.clientY - down[1]);
    down = null;
    if (moved > 4) return;
    const xy = eventToData(gd, ev);
    if (xy) onPick(xy);
  });

  // The value under the pointer, from the grid (the map itself takes no hover events).
  gd.addEventListener("pointermove", (ev) => {
    const xy = current && eventToData(gd, ev);
    if (!xy) {
      hover.textContent = "";
      return;
    }
    const g = current.grid;
    const near = (a, v) => {
      const i = Math.round(((v - a[0]) / (a[a.length - 1] - a[0])) * (a.length - 1));
      return Math.max(0, Math.min(a.length - 1, i));
    };
    const f = g.z[near(g.y, xy[1])][near(g.x, xy[0])];
    hover.textContent = `x = ${xy[0].toPrecision(3)}, y = ${xy[1].toPrecision(3)}, f ≈ ${f === null ? "—" : Number(f).toPrecision(4)}`;
  });
  gd.addEventListener("pointerleave", () => {
    hover.textContent = "";
  });

  /** Both layers as one PNG (Plotly's toImage for each, stacked). */
  async function toPng(scale = 2) {
    const w = container.clientWidth;
    const hgt = container.clientHeight;
    const [a, b] = await Promise.all([map, gd].map((el) => Plotly.toImage(el, { format: "png", width: w, height: hgt, scale })));
    const canvas = document.createElement("canvas");
    canvas.width = w * scale;
    canvas.height = hgt * scale;
    const ctx = canvas.getContext("2d");
    for (const src of [a, b]) {
      const img = new Image();
      img.src = src;
      await img.decode();
      ctx.drawImage(img, 0, 0);
    }
    return canvas.toDataURL("image/png");
  }

  return { drawScene, drawFrame, extendPaths, toPng, layers: { map, paths: gd } };
}
