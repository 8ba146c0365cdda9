// Request bodies from the scene, the models that fit a dataset, and the words that name a
// run. Pure functions over the scene and the API's catalogues; the server validates, and
// its messages reach the user.

import { findInfo, racerLabel } from "../shared/hyper.js";

/** Models that fit the dataset: its list of datasets (cnn: digits) and its task. */
export function modelsFor(cat, dsId) {
  const ds = findInfo(cat.datasets, dsId);
  return cat.models.filter((m) => (m.datasets === null || m.datasets.includes(dsId))
    && (!ds || ds.task === "either" || m.task === "either" || m.task === ds.task));
}

/**
 * Hidden widths as typed ("32, 32") → a list; tokens that are not integers go through as
 * typed, so the server's message names them. Empty text → null (the model's default).
 */
export function parseHidden(text) {
  if (text === null || text.trim() === "") return null;
  return text.split(/[,\s]+/).filter(Boolean).map((s) => (/^[-+]?\d+$/.test(s) ? Number(s) : s));
}

/** The dataset part of a request. */
export function datasetSpec(scene) {
  const d = { name: scene.ds };
  if (scene.n !== null) d.n_samples = scene.n;
  if (scene.noise !== null) d.noise = scene.noise;
  if (scene.ds === "csv") d.csv = scene.csv;
  return d;
}

/** POST /api/datasets/preview */
export function previewBody(scene) {
  return { dataset: datasetSpec(scene), split: { val: scene.val, test: scene.test }, seed: scene.seed };
}

/** What two runs must share to be drawn on one plane (same data, split, model, seed). */
export function runKey(body) {
  return JSON.stringify([body.dataset, body.split, body.seed, body.model]);
}

/** POST /api/runs (kind "network") */
export function runBody(scene, catalogue) {
  const model = findInfo(catalogue.models, scene.model);
  const takesHidden = model && model.max_layers > 0 && model.default_hidden.length > 0;
  return {
    kind: "network",
    dataset: datasetSpec(scene),
    model: { name: scene.model, hidden: takesHidden ? parseHidden(scene.hidden) : null, activation: scene.act },
    optimizer: { name: scene.opt, ...scene.hp },
    schedule: { name: scene.sched, ...scene.shp },
    batch_size: scene.batch,
    epochs: scene.epochs,
    shuffle: scene.shuffle,
    split: { val: scene.val, test: scene.test },
    early_stopping: scene.es ? { patience: scene.patience, min_delta: scene.min_delta, restore_best: scene.restore } : null,
    stop: scene.stopg || scene.stopw ? { grad_norm: scene.stopg || 0, step_norm: scene.stopw || 0 } : null,
    landscape: scene.ls
      ? { directions: scene.dirs, resolution: scene.res, span: scene.span, filter_normalize: scene.fnorm, eval_samples: 1000 }
      : null,
    seed: scene.seed,
    boundary_every: null,
  };
}

/**
 * The weights and biases of the scene's model on data of this shape (a preview): the fully
 * connected layers of a linear / logistic model or an MLP (null for the CNN, or hidden
 * widths that are not integers yet).
 */
export function parameterCount(scene, catalogue, data) {
  const model = findInfo(catalogue.models, scene.model);
  if (!model || !data || scene.model === "cnn") return null;
  const hidden = model.max_layers > 0 ? parseHidden(scene.hidden) ?? model.default_hidden : [];
  if (!hidden.every(Number.isInteger)) return null;
  const dims = [data.n_features, ...hidden, data.task === "regression" ? 1 : data.n_classes];
  return dims.slice(1).reduce((sum, d, i) => sum + dims[i] * d + d, 0);
}

/** Steps per epoch for a training split of `nTrain` samples. */
export function batchesPerEpoch(nTrain, batch) {
  if (!nTrain) return 1;
  return Math.ceil(nTrain / Math.max(1, Math.min(batch, nTrain)));
}

/** `Adam(lr=0.01) · batch 32 · 30 epochs` — a run as a person would describe it. */
export function runLabel(body, catalogue) {
  const opt = findInfo(catalogue.optimizers, body.optimizer.name);
  const sched = findInfo(catalogue.schedules, body.schedule.name);
  const { name: optName, ...hp } = body.optimizer;
  const { name: schedName, ...shp } = body.schedule;
  const label = racerLabel({ opt: optName, hp, sched: schedName, shp }, opt, sched);
  return `${label} · batch ${body.batch_size} · ${body.epochs} ep`;
}
