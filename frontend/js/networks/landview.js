// The landscape tabs: contour and 3D slice with the path (progressive), the faithfulness
// report (true vs slice loss, residuals, explained variance or eigenvalues, evaluation
// samples, the .pt export) and the init → final interpolation.

import { ownKey } from "../shared/api.js";
import { fill, h } from "../shared/dom.js";
import { fmt } from "../shared/format.js";
import { t } from "../shared/i18n.js";
import { racerColor } from "../shared/palette.js";
import { theme } from "../shared/plots.js";
import { landscapeExportUrl, surveyAgain } from "./api.js";
import { drawFaithfulness } from "./plots/faith.js";
import { drawInterpolation } from "./plots/interpolation.js";
import { accuracyLevels, createLandscape, hasAccuracy } from "./plots/landscape.js";
import { setRuntime, state, updateRun } from "./state.js";

const pct = (v) => (v === null || v === undefined ? "—" : `${(100 * v).toFixed(1)}%`);

/** Sentences about the directions and the evaluation behind a report. */
function reportNotes(report, lang) {
  const out = [];
  if (report.directions === "pca" && report.explained_variance) {
    out.push(t(lang, "explained", { a: pct(report.explained_variance[0]), b: pct(report.explained_variance[1]) }));
  } else if (report.directions === "hessian" && report.eigenvalues) {
    out.push(t(lang, "eigenvalues", { a: fmt(report.eigenvalues[0], 4), b: fmt(report.eigenvalues[1], 4) }));
  } else if (report.directions === "random") {
    out.push(t(lang, "random_dirs", { fn: report.filter_normalize ? t(lang, "fn_yes") : "" }));
  }
  out.push(t(lang, "eval_samples", { n: report.eval_samples }));
  return out;
}

/** "Show: loss | accuracy" for a grid with accuracy; its change events carry role "ls-value". */
export function valueSelect(lang, value) {
  return h("label", { class: "ls-value" }, t(lang, "ls_show"), " ",
    h("select", { dataset: { role: "ls-value" } },
      ["loss", "accuracy"].map((v) => h("option", { value: v, selected: v === value }, t(lang, v)))));
}

const ENDED_WELL = new Set(["finished", "early_stopped", "converged"]);
const DIRECTIONS = ["pca", "random", "hessian"];

/** The run's landscape again, with the directions picked beside the plot and the page's grid
 * settings; the run's stored checkpoints make the path, so nothing is trained again. */
async function resurvey(run, directions) {
  const { scene } = state;
  setRuntime({ busy: { ...state.runtime.busy, survey: true } });
  try {
    const report = await surveyAgain(run.id, {
      directions, resolution: scene.res, span: scene.span, filter_normalize: scene.fnorm,
    });
    updateRun(run.id, (r) => {
      r.report = report;
      r.trajectory = report.trajectory;
      r.landscape = { stage: "done", progress: 1, a: report.a, b: report.b, loss: report.loss, accuracy: report.accuracy };
      r.error = null;
    });
  } catch (err) {
    updateRun(run.id, (r) => {
      r.error = err.message;
    });
  } finally {
    setRuntime({ busy: { ...state.runtime.busy, survey: false } });
  }
}

export function createLandView() {
  const $ = (id) => document.getElementById(id);
  $("ls-notes").addEventListener("click", (ev) => {
    const run = state.runtime.run;
    if (ev.target.dataset.role !== "resurvey" || !run) return;
    resurvey(run, $("ls-notes").querySelector('[data-role="directions"]').value);
  });
  $("ls-notes").addEventListener("change", (ev) => {
    if (ev.target.dataset.role === "ls-value") setRuntime({ landscapeValue: ev.target.value });
  });
  const landscape = createLandscape($("ls-contour"), $("ls-surface"));
  let drawnFaith = null;
  let drawnInterp = null;
  let drawnNotes = null;

  function render() {
    const { scene, runtime } = state;
    const { lang, cb } = scene;
    const th = theme(scene);
    const run = runtime.run;
    const report = run ? run.report : null;
    // The colour the run has (or will have) in the comparison list.
    const index = run ? runtime.runs.findIndex((r) => r.id === run.id) : -1;
    const has = Boolean(run && run.landscape);
    const withAccuracy = has && hasAccuracy(run.landscape);
    const value = withAccuracy ? runtime.landscapeValue : "loss";
    $("ls-contour").hidden = !has; // shown before drawing: Plotly sizes a graph by its box
    $("ls-surface").hidden = !has;
    landscape.update(run, th, lang, racerColor(index >= 0 ? index : runtime.runs.length, cb), value);

    const themeKey = `${lang}|${cb}|${th.proj}`;
    // only the browser that started the run holds its key: elsewhere the run is read-only
    const canSurvey = Boolean(run && run.summary && ENDED_WELL.has(run.status) && ownKey(run.id));
    const busy = Boolean(runtime.busy.survey);
    const notesKey = `${run ? run.id : ""}|${run && run.landscape ? run.landscape.stage + run.landscape.progress : ""}|${report ? report.directions + report.elapsed_s : ""}|${themeKey}|${scene.ls}|${canSurvey}|${busy}|${withAccuracy}|${value}`;
    if (notesKey !== drawnNotes) {
      drawnNotes = notesKey;
      const progress = run && run.landscape && run.landscape.stage !== "done"
        ? h("p", { class: "hint", dataset: { role: "ls-progress" } }, t(lang, "surveying", { pct: Math.round(100 * run.landscape.progress) }))
        : null;
      fill($("ls-notes"),
        has ? null : h("p", { class: "hint" }, t(lang, scene.ls ? "landscape_after" : "landscape_hint")),
        progress,
        withAccuracy ? valueSelect(lang, value) : null,
        has ? h("p", { class: "hint" }, `${value === "accuracy" ? t(lang, "acc_levels", { step: Math.round(100 * accuracyLevels(run.landscape.accuracy).size) }) : t(lang, "log_levels")}; ★ = ${t(lang, "final_weights")} (0, 0)`) : null,
        report ? reportNotes(report, lang).map((s) => h("p", {}, s)) : null,
        report ? h("a", { class: "btn", href: landscapeExportUrl(run.id), download: `landscape-${run.id}.pt`, dataset: { role: "export" } }, t(lang, "export_pt")) : null,
        canSurvey ? h("div", { class: "resurvey" },
          h("label", {}, t(lang, "survey_with"), " ",
            h("select", { dataset: { role: "directions" } },
              DIRECTIONS.map((d) => h("option", { value: d, selected: d === (report ? report.directions : scene.dirs) }, t(lang, `dir_${d}`))))),
          h("button", { type: "button", class: "btn", dataset: { role: "resurvey" }, disabled: busy }, busy ? t(lang, "computing") : t(lang, report ? "survey_again" : "survey_now")),
          h("p", { class: "hint" }, t(lang, "survey_note"))) : null);
      fill($("faith-notes"),
        report ? [h("p", {}, t(lang, "faith_note")), ...reportNotes(report, lang).map((s) => h("p", {}, s))] : h("p", { class: "hint" }, t(lang, "landscape_hint")));
      fill($("interp-notes"), h("p", { class: report ? null : "hint" }, t(lang, report ? "interp_about" : "interp_hint")));
    }

    const faithKey = report ? `${run.id}|${themeKey}` : null;
    $("ls-faith").hidden = !report;
    $("interp-plot").hidden = !report;
    if (faithKey !== drawnFaith && report && runtime.tab === "faith") {
      drawFaithfulness($("ls-faith"), report, th, lang);
      drawnFaith = faithKey;
    }
    if (faithKey !== drawnInterp && report && runtime.tab === "interp") {
      drawInterpolation($("interp-plot"), report.interpolation, th, lang, [t(lang, "interp_init"), t(lang, "interp_final")]);
      drawnInterp = faithKey;
    }
  }

  return { render };
}
