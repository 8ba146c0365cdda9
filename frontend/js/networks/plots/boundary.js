// The decision boundary of a 2-D dataset: the model's output over a grid (z[iy][ix]) as a
// heat map, the 0.5 contour for two classes, the samples on top. Snapshots arrive while
// training; any of them can be shown again.
//
// Narrow API: drawScene(snapshot, points, ...) rebuilds with Plotly.react; drawFrame(snapshot)
// swaps the grid with one Plotly.restyle.

import { t } from "../../shared/i18n.js";
import { config } from "../../shared/plots.js";
import { tint } from "../../shared/palette.js";
import { classColor, dataLayout, pointTraces } from "./preview.js";

/**
 * Heat-map colours: class 0 → white → class 1 for a probability, one tint per class, or
 * the targets' own colour scale and range for a regression (prediction and data compare).
 */
function colours(kind, nClasses, th, labels) {
  const cb = th.colorBlind;
  if (kind === "probability") {
    return { colorscale: [[0, tint(classColor(0, cb), 0.55)], [0.5, th.c.boundaryMiddle], [1, tint(classColor(1, cb), 0.55)]], zmin: 0, zmax: 1 };
  }
  if (kind === "class") {
    const k = Math.max(2, nClasses);
    const scale = [];
    for (let i = 0; i < k; i++) {
      scale.push([i / k, tint(classColor(i, cb), 0.35)], [(i + 1) / k, tint(classColor(i, cb), 0.35)]);
    }
    return { colorscale: scale, zmin: -0.5, zmax: k - 0.5 };
  }
  const finite = labels.filter(Number.isFinite);
  return { colorscale: th.c.values, opacity: 0.55, zmin: Math.min(...finite), zmax: Math.max(...finite) };
}

export function createBoundary(gd) {
  let drawnKey = null;

  function drawScene(snap, points, task, nClasses, th, lang, cb, names) {
    const c = colours(snap.z_kind, nClasses, th, points.label);
    const data = [
      {
        type: "heatmap", x: snap.x, y: snap.y, z: snap.z, ...c, showscale: false, hoverinfo: "skip", zsmooth: "best", showlegend: false,
      },
      {
        type: "contour", x: snap.x, y: snap.y, z: snap.z, showscale: false, showlegend: false, hoverinfo: "skip", visible: snap.z_kind === "probability",
        contours: { coloring: "none", start: 0.5, end: 0.5, size: 1 }, line: { color: th.ink, width: th.proj ? 3 : 2 },
      },
      ...pointTraces(points, task, th, lang, cb),
    ];
    Plotly.react(gd, data, dataLayout(th, names), config("descent-lab-boundary"));
    drawnKey = { kind: snap.z_kind, snap };
  }

  /** Show another snapshot of the same run (the grid's axes stay). */
  function drawFrame(snap) {
    if (drawnKey.snap === snap) return;
    Plotly.restyle(gd, { z: [snap.z, snap.z] }, [0, 1]);
    drawnKey.snap = snap;
  }

  /** Which snapshot is drawn now (tests and the slider's label read it). */
  const shown = () => (drawnKey ? drawnKey.snap : null);

  return { drawScene, drawFrame, shown };
}

/** The slider's words for snapshot `snap`. */
export function frameLabel(snap, lang) {
  return snap.final ? t(lang, "boundary_final", { epoch: snap.epoch }) : t(lang, "boundary_epoch", { epoch: snap.epoch });
}
