// The data panel: the preview of the current data settings (scatter or digits gallery), or,
// once a run on these data drew decision boundaries, the boundary with the samples on top
// and an epoch slider (and a replay button) over its snapshots.

import { fill, h } from "../shared/dom.js";
import { failureNote } from "../shared/failure.js";
import { t } from "../shared/i18n.js";
import { theme } from "../shared/plots.js";
import { createBoundary, frameLabel } from "./plots/boundary.js";
import { classColor, drawGallery, drawPreview, SPLITS, SYMBOL_TEXT } from "./plots/preview.js";
import { retryCsv } from "./csvlink.js";
import { retryPreview } from "./data.js";
import { previewBody } from "./spec.js";
import { setRuntime, state } from "./state.js";

const REPLAY_MS = 160;

/** Whether `run` trained on the data the settings describe now. */
function sameData(run, scene) {
  const now = previewBody(scene);
  return JSON.stringify([run.body.dataset, run.body.split, run.body.seed]) === JSON.stringify([now.dataset, now.split, now.seed]);
}

// What the panel says while a CSV scene has no text, by why (csvWanted).
const CSV_NOTES = { loading: "csv_loading", gone: "csv_gone", awaited: "csv_awaited", needed: "csv_needed" };

/**
 * Why a CSV scene has no text: its stored text is loading, is gone from the server or could
 * not be fetched ("failed"); the teacher has not shared one ("awaited"); or none was pasted.
 */
function csvWanted(scene, runtime) {
  const link = runtime.csvLink;
  if (scene.csvid && link && link.id === scene.csvid) return link.status;
  const room = runtime.room;
  return room && room.role === "student" && room.following ? "awaited" : "needed";
}

export function createDataView() {
  const $ = (id) => document.getElementById(id);
  const plot = $("data-plot");
  const gallery = $("gallery");
  const note = $("data-note");
  const slider = $("frame-slider");
  const boundary = createBoundary(plot);
  let drawn = null; // what the plot shows: a key per mode
  let timer = null;

  function stopReplay() {
    clearInterval(timer);
    timer = null;
  }

  slider.addEventListener("input", () => {
    stopReplay();
    setRuntime({ frame: Number(slider.value) });
  });
  $("replay-btn").addEventListener("click", () => {
    const run = state.runtime.run;
    if (!run || !run.boundaries.length) return;
    if (timer) return stopReplay();
    let k = 0;
    setRuntime({ frame: 0 });
    timer = setInterval(() => {
      k += 1;
      if (k >= run.boundaries.length) return stopReplay();
      setRuntime({ frame: k });
    }, REPLAY_MS);
  });

  /** Classes (or the value scale) by colour, splits by symbol. */
  function legend(data, lang, cb) {
    if (!data || !data.points) return [];
    const splits = SPLITS.map((s) => h("span", { class: "split-key" }, h("span", { class: "symbol" }, SYMBOL_TEXT[s]), t(lang, `split_${s}`)));
    if (data.task === "regression") return [h("span", { class: "hint" }, t(lang, "regression_colour")), ...splits];
    const names = data.class_names || Array.from({ length: data.n_classes || 0 }, (_, k) => String(k));
    return [...names.map((name, k) => h("span", {}, h("span", { class: "swatch", style: { background: classColor(k, cb) } }), name)), ...splits];
  }

  function render() {
    const { scene, runtime } = state;
    const { lang, cb } = scene;
    const th = theme(scene);
    const p = runtime.preview;
    const data = p && p.data;
    const run = runtime.run;
    const showBoundary = Boolean(run && run.boundaries.length && run.points && sameData(run, scene));
    const mode = showBoundary ? "boundary" : data && data.points ? "points" : data && data.images ? "gallery" : "note";
    const themeKey = `${lang}|${cb}|${th.proj}`;

    $("data-title").textContent = t(lang, data && !data.points ? "data" : "data_panel");
    $("data-counts").textContent = data ? t(lang, "preview_counts", { n: data.n_samples, tr: data.n_train, va: data.n_val, te: data.n_test }) : "";
    fill($("class-legend"), legend(data, lang, cb));
    plot.hidden = !(mode === "boundary" || mode === "points");
    gallery.hidden = mode !== "gallery";
    note.hidden = mode !== "note";
    $("replay").hidden = mode !== "boundary";

    if (mode === "points") {
      const key = `points|${p.key}|${themeKey}`;
      if (drawn !== key) drawPreview(plot, data, th, lang, cb);
      drawn = key;
    } else if (mode === "gallery") {
      if (drawn !== p.key) drawGallery(gallery, data.images);
      drawn = p.key;
    } else if (mode === "note") {
      const wanted = p && p.missing ? csvWanted(scene, runtime) : null;
      const key = `note|${p ? p.key : ""}|${lang}|${wanted}`;
      if (drawn !== key) {
        if (p && p.error) fill(note, failureNote(lang, p.error, retryPreview));
        else if (wanted === "failed") fill(note, failureNote(lang, runtime.csvLink.message, retryCsv));
        else note.textContent = wanted ? t(lang, CSV_NOTES[wanted]) : data ? t(lang, "no_2d", { n: data.n_features }) : "";
      }
      drawn = key;
    } else {
      const last = run.boundaries.length - 1;
      const k = runtime.frame === null ? last : Math.min(runtime.frame, last);
      const snap = run.boundaries[k];
      const key = `boundary|${run.id}|${themeKey}|${snap.z_kind}`;
      if (drawn !== key) {
        const names = data ? data.feature_names : ["x0", "x1"];
        const nClasses = run.summary ? run.summary.n_classes : data ? data.n_classes : 2;
        const task = run.summary ? run.summary.task : data ? data.task : "classification";
        boundary.drawScene(snap, run.points, task, nClasses, th, lang, cb, names);
      } else boundary.drawFrame(snap);
      drawn = key;
      slider.max = String(last);
      slider.value = String(k);
      $("frame-label").textContent = frameLabel(snap, lang);
    }
  }

  return { render, shownBoundary: boundary.shown };
}
