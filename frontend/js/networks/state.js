// The one store of the networks page. `scene` is the settings (what a link reproduces,
// synced to the URL); `runtime` is what the page fetched or streamed (catalogues, the
// preview, the current run, the session's runs, comparisons). Views render from here and
// write through `setScene` / `setRuntime` / `updateRun`.

import { createStore } from "../shared/store.js";
import { decodeScene, encodeScene } from "./codec.js";

/** A run as the page follows it; its columns grow in place as messages arrive. */
export function emptyRun(id, body) {
  return {
    id,
    body, // the request that started it
    nTrain: null, // training samples, from the preview (the step axis before the summary)
    status: "queued",
    ahead: null, // while queued: the queued runs ahead of it (GET /api/runs/{id}), once known
    link: "live", // the stream: "live", "reconnecting" (the socket dropped) or "lost" (gave up)
    steps: { step: [], epoch: [], loss: [], lr: [], gradNorm: [] },
    epochs: { epoch: [], trainLoss: [], trainAcc: [], valLoss: [], valAcc: [], lr: [] },
    boundaries: [], // {epoch, final, z_kind, x, y, z}
    points: null, // the samples under the boundary (first boundary message)
    landscape: null, // the latest grid message {stage, progress, a, b, loss, accuracy}
    trajectory: null, // [[a, b], ...] from the landscape preview
    report: null, // GET /api/runs/{id}/landscape
    summary: null,
    error: null,
    version: 0, // bumped on every change: renderers compare it
  };
}

const RUNTIME = {
  catalogue: null, // {datasets, models, optimizers, schedules}
  preview: null, // {key, data} or {key, error}
  csvLink: null, // the scene's stored CSV being fetched: {id, status: "loading" | "gone" | "failed", message}
  run: null, // the run on screen (see emptyRun)
  runs: [], // finished runs of this page session: {id, label, key, color, summary, status}
  selected: [], // ids ticked for comparison
  comparison: null, // {data} or {error} from POST /api/landscapes/compare
  between: null, // {data, from, to} or {error} from POST /api/landscapes/interpolate
  frame: null, // index into run.boundaries shown by the slider (null: follow the newest)
  tab: "landscape",
  landscapeValue: "loss", // what the landscape plots show: "loss" | "accuracy" (classifiers)
  formError: null,
  busy: {}, // named requests in flight
  toast: null,
  room: null, // the classroom room this page teaches or follows (see shared/classroom.js)
  setupBefore: null, // the settings a lesson opened from the menu replaced (shared/lessons.js)
};

const store = createStore(decodeScene(location.search), RUNTIME, encodeScene);
const { notify } = store;

export const { state, subscribe, setScene, setRuntime, shareUrl, lockScene } = store;

/** Change the current run in place with `fn(run)` (if it is still run `id`) and notify. */
export function updateRun(id, fn) {
  const run = state.runtime.run;
  if (!run || run.id !== id) return;
  fn(run);
  run.version += 1;
  notify(new Set(["run"]));
}
