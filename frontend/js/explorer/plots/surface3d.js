// The 3D view: the surface (log height when the values span many orders of magnitude, the
// same transform as the contour levels) with each racer's trail and head at the playhead.
// drawScene rebuilds with Plotly.react; drawFrame restyles the trails only. WebGL redraws
// are the dearest thing on the page, so frames are thinned while playing.

import { config } from "../../shared/plots.js";
import { frameIndex, subsample } from "../numerics.js";
import { transformed } from "./common.js";

const FIXED = 2; // surface, minima

export function createSurface3d(gd, labels, { slow = () => false } = {}) {
  let current = null;
  let lift = 0;
  let lastFrame = 0;

  function height(tr, f) {
    if (f === null || !Number.isFinite(f)) return null;
    return (tr.log3d ? tr.f(f) : f) + lift;
  }

  let drawnKey = null;

  /** Surface and trace slots; skipped when only the paths changed (drawFrame redraws those). */
  function drawScene(s, f) {
    const { grid, th, paths, surface } = s;
    const key = [grid, surface, th.proj, th.colorBlind, paths.map((p) => `${p.color}|${p.hidden}`).join()];
    if (drawnKey && key.every((v, i) => v === drawnKey[i])) {
      current = { ...current, paths };
      drawFrame(f, true);
      return null;
    }
    drawnKey = key;
    const tr = transformed(grid, surface);
    const stride = grid.x.length > 81 ? 2 : 1;
    const g = subsample(tr.log3d ? { ...grid, z: tr.zt } : grid, stride);
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of g.z) for (const v of row) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    lift = 0.01 * (hi - lo);
    const minima = (surface && surface.minima) || [];
    const data = [
      {
        type: "surface", x: g.x, y: g.y, z: g.z, colorscale: th.colorscale, showscale: false, opacity: 0.92,
        contours: { z: { show: true, usecolormap: false, color: th.contourLine, width: 1, highlight: false } },
        hovertemplate: "x = %{x:.3f}<br>y = %{y:.3f}<extra></extra>",
        lighting: { ambient: 0.75, diffuse: 0.5, specular: 0.05, roughness: 0.9 },
      },
      {
        type: "scatter3d", mode: "markers", x: minima.map((m) => m.x), y: minima.map((m) => m.y),
        z: minima.map((m) => height(tr, m.value)), hoverinfo: "skip", showlegend: false,
        marker: { symbol: "diamond", size: th.proj ? 8 : 5, color: th.c.minimum, line: { color: th.ink, width: 1 } },
      },
    ];
    for (const p of paths) {
      data.push({
        type: "scatter3d", mode: "lines", x: [], y: [], z: [], visible: !p.hidden, hoverinfo: "skip", showlegend: false,
        line: { color: p.color, width: th.proj ? 9 : 6 },
      });
      data.push({
        type: "scatter3d", mode: "markers", x: [], y: [], z: [], visible: !p.hidden, showlegend: false,
        marker: { color: p.color, size: th.proj ? 9 : 6, line: { color: th.paper, width: 1 } }, hoverinfo: "skip",
      });
    }
    const axis = (title, range) => ({
      title: { text: title, font: { size: th.small } }, range, autorange: false, showspikes: false, nticks: 5,
      gridcolor: th.grid, zerolinecolor: th.grid, tickfont: { size: th.small - 1 },
    });
    const layout = {
      margin: { l: 0, r: 0, t: 0, b: 0 },
      font: th.font, paper_bgcolor: th.paper,
      scene: {
        xaxis: axis("x", [g.x[0], g.x[g.x.length - 1]]),
        yaxis: axis("y", [g.y[0], g.y[g.y.length - 1]]),
        zaxis: axis(tr.log3d ? labels.logz : "f", [lo, hi + 3 * lift]),
        aspectmode: "manual", aspectratio: { x: 1, y: 1, z: 0.6 },
        camera: { eye: { x: -1.7, y: -1.8, z: 1.3 } }, // far enough that the z title stays inside a narrow panel
      },
      uirevision: s.gridKey,
    };
    current = { ...s, tr };
    const { upd, idx } = frameData(f);
    idx.forEach((i, j) => {
      data[i].x = upd.x[j];
      data[i].y = upd.y[j];
      data[i].z = upd.z[j];
    });
    lastFrame = performance.now();
    return Plotly.react(gd, data, layout, config("descent-lab-3d"));
  }

  /** Trails and heads at playhead t; `force` draws even if the last 3D frame was recent. */
  function drawFrame(f, force = false) {
    if (!current || !gd.data) return;
    const now = performance.now();
    // Thinned while playing (the caller asks again): software-rendered WebGL takes ~100 ms
    // a frame, so there the 3D view follows about once a second.
    if (!force && now - lastFrame < (slow() ? 1000 : 100)) return false;
    lastFrame = now;
    const { upd, idx } = frameData(f);
    Plotly.restyle(gd, upd, idx);
    return true;
  }

  function frameData(f) {
    const { paths, tr } = current;
    const upd = { x: [], y: [], z: [] };
    const idx = [];
    paths.forEach((p, r) => {
      const c = p.cols;
      const k = c.n ? frameIndex(f.t, c.n) : -1;
      const xs = c.x.slice(0, k + 1);
      const ys = c.y.slice(0, k + 1);
      const zs = c.loss.slice(0, k + 1).map((v) => height(tr, v));
      let last = k;
      while (last >= 0 && (zs[last] === null || xs[last] === null)) last--;
      idx.push(FIXED + 2 * r, FIXED + 2 * r + 1);
      upd.x.push(xs, last >= 0 ? [xs[last]] : []);
      upd.y.push(ys, last >= 0 ? [ys[last]] : []);
      upd.z.push(zs, last >= 0 ? [zs[last]] : []);
    });
    return { upd, idx };
  }

  return { drawScene, drawFrame };
}
