// The plots in words, for screen readers: each plot is one image whose name says what it
// shows, with the run's numbers as they are now (see shared/plots.js `describePlot`).

import { fmt } from "../shared/format.js";
import { findInfo } from "../shared/hyper.js";
import { t } from "../shared/i18n.js";
import { describePlot } from "../shared/plots.js";
import { state } from "./state.js";

const $ = (id) => document.getElementById(id);
const last = (a) => (a.length ? a[a.length - 1] : null);

export function createPlotTexts() {
  function render() {
    const { scene, runtime } = state;
    const cat = runtime.catalogue;
    if (!cat) return;
    const lang = scene.lang;
    const ds = findInfo(cat.datasets, scene.ds);
    const data = runtime.preview && runtime.preview.data;
    const run = runtime.run;
    const boundary = run && run.boundaries.length ? last(run.boundaries) : null;
    describePlot($("data-plot"), boundary
      ? t(lang, "alt_boundary", { epoch: boundary.epoch, dataset: ds ? ds.name : scene.ds })
      : t(lang, "alt_data", { n: data ? data.n_samples : 0, dataset: ds ? ds.name : scene.ds }));
    const e = run ? run.epochs : null;
    describePlot($("curves"), e && e.epoch.length
      ? t(lang, "alt_curves", { epoch: last(e.epoch), train: fmt(last(e.trainLoss), 3), val: fmt(last(e.valLoss), 3) })
      : t(lang, "curves_empty"));
    describePlot($("lr-plot"), t(lang, "alt_lr", { steps: run ? run.steps.step.length : 0 }));
    const ls = run && run.landscape;
    const lsText = ls ? t(lang, "alt_landscape", { n: ls.a.length }) : t(lang, "landscape_hint");
    describePlot($("ls-contour"), lsText);
    describePlot($("ls-surface"), lsText);
    describePlot($("ls-faith"), t(lang, "faith_note"));
    describePlot($("interp-plot"), t(lang, "interp_about"));
    const c = runtime.comparison;
    describePlot($("compare-plot"), t(lang, "alt_compare", { n: c && c.data ? c.data.runs.length : 0 }));
    describePlot($("between-plot"), t(lang, "interp_about"));
  }
  return { render };
}
