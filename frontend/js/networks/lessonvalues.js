// The numbers of the networks lessons, from the live state: `{n_train}`, `{parameters}`,
// `{noise_floor}` ... from the settings and their preview, and `{gd.test_loss}`-style
// results from the session's runs. A lesson names its runs (`runs: {gd: {}, sgd: {batch: 1}}`,
// patches over its scene, or `{same: [...]}`: any run that shares those request parts);
// a result is the latest such run's summary, "…" until one has been trained.

import { fmt } from "../shared/format.js";
import { findInfo } from "../shared/hyper.js";
import { locale } from "../shared/i18n.js";
import { defaultScene } from "./codec.js";
import { batchesPerEpoch, parameterCount, runBody } from "./spec.js";

const MINI_BATCH = 32; // the "mini-batch (32)" button
const COMPARED = ["dataset", "model", "optimizer", "schedule", "batch_size", "epochs", "shuffle", "split", "early_stopping", "stop", "seed"];

const count = (v, lang) => (v === null || v === undefined ? "…" : Number(v).toLocaleString(locale(lang)));
const pct = (v) => (v === null || v === undefined ? "…" : `${(100 * v).toFixed(1)}%`);

/** A result of run `run` (a summary field, or one derived from them), as written in the text. */
function result(field, s, lang) {
  if (!s) return "…";
  const lambda = s.sharpness_final ?? s.sharpness_initial;
  if (field === "test_loss") return fmt(s.test_loss, 3);
  if (field === "test_accuracy") return pct(s.test_accuracy);
  if (field === "sharpness") return lambda === null || lambda === undefined ? "…" : fmt(lambda, 3);
  if (field === "stable_lr") return lambda > 0 ? fmt(2 / lambda, 3) : "…";
  return count(s[field], lang);
}

/** Whether the run that sent `body` (with `nTrain` training samples) is the lesson's run `want`. */
function sameRun(body, nTrain, want, keys) {
  const norm = (b) => keys.map((k) => (k === "batch_size" ? Math.min(b.batch_size, nTrain || Infinity) : b[k]));
  return JSON.stringify(norm(body)) === JSON.stringify(norm(want));
}

/** The latest run of the session (the one on screen first) that is `variant` of `lesson`. */
function findRun(lesson, variant, runtime) {
  const { same, ...patch } = variant;
  const want = runBody({ ...defaultScene(), ...lesson.scene, ...patch }, runtime.catalogue);
  const keys = same || COMPARED;
  const run = runtime.run;
  const candidates = [...(run && run.summary ? [run] : []), ...[...runtime.runs].reverse()];
  return candidates.find((r) => r.summary && sameRun(r.body, r.summary.n_train, want, keys)) || null;
}

/** The value of every token in `texts` for `lesson`, as strings. */
export function lessonValues(lesson, texts, { scene, runtime }) {
  const lang = scene.lang;
  const data = runtime.preview && runtime.preview.data;
  const ds = findInfo(runtime.catalogue.datasets, scene.ds);
  const model = findInfo(runtime.catalogue.models, scene.model);
  const noise = scene.noise ?? (ds ? ds.default_noise : null);
  const settings = {
    n_samples: () => count(data && data.n_samples, lang),
    n_train: () => count(data && data.n_train, lang),
    n_test: () => count(data && data.n_test, lang),
    mini_steps: () => count(data && batchesPerEpoch(data.n_train, MINI_BATCH), lang),
    parameters: () => count(parameterCount(scene, runtime.catalogue, data), lang),
    hidden: () => (scene.hidden ?? (model ? model.default_hidden.join(", ") : "…")),
    noise: () => (noise === null ? "…" : fmt(noise)),
    noise_floor: () => (noise === null ? "…" : fmt(noise * noise, 3)),
  };
  const out = {};
  for (const text of texts) {
    for (const [, token] of text.matchAll(/\{([\w.]+)\}/g)) {
      if (token in out) continue;
      const [name, field] = token.split(".");
      if (field && lesson.runs && lesson.runs[name]) {
        const run = findRun(lesson, lesson.runs[name], runtime);
        out[token] = result(field, run && run.summary, lang);
      } else out[token] = settings[token] ? settings[token]() : `{${token}}`;
    }
  }
  return out;
}
