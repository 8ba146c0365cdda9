// The plots in words, for screen readers: each plot is one image whose name says what it
// shows and, at the playhead, where each racer is (see shared/plots.js `describePlot`).

import { fmt } from "../../shared/format.js";
import { findInfo, racerLabel } from "../../shared/hyper.js";
import { t } from "../../shared/i18n.js";
import { describePlot } from "../../shared/plots.js";
import { bestCell, frameIndex } from "../numerics.js";
import { state, surfaceInfo } from "../state.js";

const $ = (id) => document.getElementById(id);

/** "1. SGD(lr=0.02): (−3.1, 0.4), f = 2.5" for each shown racer at the playhead. */
function racersAt(scene, runtime) {
  const cat = runtime.catalogue;
  return scene.racers.map((r, i) => {
    const c = runtime.traj[i] && runtime.traj[i].cols;
    if (r.hidden || !c || !c.n) return null;
    const k = frameIndex(scene.t, c.n);
    const label = racerLabel(r, findInfo(cat.optimizers, r.opt), findInfo(cat.schedules, r.sched));
    return `${i + 1}. ${label}: (${fmt(c.x[k])}, ${fmt(c.y[k])}), f = ${fmt(c.loss[k])}`;
  }).filter(Boolean).join("; ");
}

function basinsText(lang, b, surface) {
  const counts = {};
  b.status.forEach((st, j) => {
    const key = st === "diverged" ? t(lang, "basins_legend_diverged") : b.minimum[j] === null ? t(lang, "basins_legend_none") : `${t(lang, "minimum")} ${b.minimum[j] + 1}`;
    counts[key] = (counts[key] || 0) + 1;
  });
  const parts = Object.entries(counts).map(([k, n]) => `${k}: ${n}`).join(", ");
  return t(lang, "alt_basins", { surface, n: b.n, parts });
}

function regimeText(lang, r, g, opt) {
  const flat = r.final_loss.flat();
  const i = bestCell(flat, r.steps.flat(), r.status.flat());
  const nx = r.x.length;
  const best = i === null ? "—" : `${g.x} = ${fmt(r.x[i % nx])}${r.y ? `, ${g.y} = ${fmt(r.y[Math.floor(i / nx)])}` : ""} (f = ${fmt(flat[i])})`;
  return t(lang, "alt_regime", { opt, x: g.x, y: r.y ? ` × ${g.y}` : "", cells: flat.length, best });
}

export function createPlotTexts() {
  function render() {
    const { scene, runtime } = state;
    if (!runtime.catalogue) return;
    const lang = scene.lang;
    const info = surfaceInfo(scene);
    const surface = info ? info.name : `f(x, y) = ${scene.expr || ""}`;
    const racers = racersAt(scene, runtime) || t(lang, "computing");
    describePlot($("contour"), t(lang, "alt_contour", { surface, k: scene.t, racers }));
    describePlot($("surface3d"), t(lang, "alt_3d", { surface, n: scene.racers.length }));
    describePlot($("series"), t(lang, "alt_series", { n: scene.racers.length, k: scene.t }));
    const b = runtime.basins;
    describePlot($("basins"), b && b.status ? basinsText(lang, b, surface) : t(lang, "computing"));
    const r = runtime.regime;
    const g = scene.regime;
    const opt = findInfo(runtime.catalogue.optimizers, scene.racers[Math.min(g.racer, scene.racers.length - 1)].opt);
    describePlot($("regime"), r && r.final_loss ? regimeText(lang, r, g, opt ? opt.name : "") : t(lang, "computing"));
  }
  return { render };
}
